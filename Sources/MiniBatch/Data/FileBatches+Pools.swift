// The block shuffle's pools: laying out and reading groups of blocks, ahead (the reader
// thread) or in pieces (the members), and the order they give (`FileBatches`).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileBatches {
    /// Block shuffle, members copying: points batch `index`'s rows into the pools and converts
    /// their targets, taking the next pool from the reader when the active one is used up.
    func prepareBlockInline(slot: Int, batch index: Int) throws(MiniBatchError) {
        if !membersReadPools {  // a reader reads the pools ahead
            try monitor.locked { () throws(MiniBatchError) in
                if let failure { throw failure }
                released = index
                // The spare pool is free to read over once its last batch has trained.
                if spareLastBatch == index - 1 { monitor.broadcast() }
            }
        }
        let rows = partition.batch(index), y = slotY[slot], source = slotRows[slot], yRow = dataset.y.rowBytes
        let sources = slotSources[slot]
        for k in 0..<rows.count {
            let position = rows.lowerBound + k
            if position >= poolEnd { try takeNextPool(batch: index) }
            let pool = current!, local = pool.order[position - poolStart]
            sources[k] = UnsafePointer(pool.x + local * nIn)
            source[k] = pool.source[local]
            try convertTarget(pool.y + local * yRow, fileRow: source[k], to: y, at: k)
        }
        if membersReadPools {
            // This batch's share of the pieces left, so that they are all read by the batch
            // before the one that needs them (none while the spare is still pinned).
            var quota = 0
            if index != spareLastBatch && nextPiece < sparePieces {
                let batches = 1 + max(0, poolEnd - rows.upperBound) / partition.batchSize
                quota = (sparePieces - nextPiece + batches - 1) / batches
            }
            slotPieces![2 * slot] = nextPiece
            slotPieces![2 * slot + 1] = quota
            nextPiece += quota
        }
    }

    /// Members reading pools: the next group's pool made active (its pieces left read here),
    /// and the group after it laid out in the pool left, which batch `index` still pins.
    func takeNextPoolReadByMembers(batch index: Int) throws(MiniBatchError) {
        if pools[1 - active].group != nextGroup { try layOutSpare() }  // an epoch's first group
        while nextPiece < sparePieces {
            try readPiece(nextPiece)
            nextPiece += 1
        }
        active = 1 - active
        nextGroup += 1
        shuffleActive()
        current = pools[active]
        spareLastBatch = index
        try layOutSpare()
    }

    /// Lays out group `nextGroup` in the spare pool (each block's rows and place, their file
    /// rows and y, read now: small), asks the kernel to read its X ahead, and makes its
    /// pieces due. Nothing when the epoch has no group left.
    func layOutSpare() throws(MiniBatchError) {
        let spare = 1 - active
        sparePieces = 0
        nextPiece = 0
        guard nextGroup < groupCount else { return }
        let pool = pools[spare], group = blocks(ofGroup: nextGroup), yRow = dataset.y.rowBytes
        var offset = 0
        for (i, position) in group.enumerated() {
            let first = blockOrder![position] * rowsPerBlock, count = min(rowsPerBlock, dataset.count - first)
            spareFirst![i] = first
            spareCount![i] = count
            spareOffset![i] = offset
            for r in 0..<count { pool.source[offset + r] = first + r }
            try dataset.y.readRows(first, count: count, into: pool.y + offset * yRow)
            dataset.x.prefetch(first, count: count)
            offset += count
        }
        pools[spare].group = nextGroup
        pools[spare].blocksRead = group.count
        pools[spare].rows = offset
        spareX = pool.x
        sparePieces = group.count * piecesPerBlock
    }

    /// Reads piece `piece` of the spare pool's group: rows `pieceRows` x (piece mod
    /// piecesPerBlock) onward of its block (piece / piecesPerBlock), into their place.
    func readPiece(_ piece: Int) throws(MiniBatchError) {
        let block = piece / piecesPerBlock, start = (piece % piecesPerBlock) * pieceRows
        let count = min(pieceRows, spareCount![block] - start)
        guard count > 0 else { return }
        try dataset.x.readRows(spareFirst![block] + start, count: count, into: spareX! + (spareOffset![block] + start) * nIn)
    }

    /// The block shuffle's order of epoch `epoch` as file rows into `permutation`, without
    /// reading X: the block order, then each group's rows (its blocks' rows one after
    /// another) in the order `shuffleActive` gives them, from the same stream (the steps
    /// of `startEpoch`, `loadNextPool` and `shuffleActive`, which the block path takes as it
    /// reads; tested equal).
    func drawBlockOrder(epoch: UInt64) {
        let order = blockOrder!, rows = poolRows!, poolOrder = poolOrder!, perm = permutation!
        for i in 0..<blockCount { order[i] = i }
        var generator = Generator(seed: seed, stream: epoch)
        Permutation.forEachSwap(count: blockCount, &generator) { i, j in
            let t = order[i]; order[i] = order[j]; order[j] = t
        }
        var position = 0
        for group in 0..<groupCount {
            var count = 0
            for p in blocks(ofGroup: group) {
                let first = order[p] * rowsPerBlock, n = min(rowsPerBlock, dataset.count - first)
                for r in 0..<n { rows[count + r] = first + r }
                count += n
            }
            for k in 0..<count { poolOrder[k] = k }
            Permutation.forEachSwap(count: count, &generator) { i, j in
                let t = poolOrder[i]; poolOrder[i] = poolOrder[j]; poolOrder[j] = t
            }
            for k in 0..<count { perm[position + k] = rows[poolOrder[k]] }
            position += count
        }
    }

    /// Shuffles the active pool's order (continuing the epoch's stream) and moves the
    /// epoch's position past it.
    func shuffleActive() {
        let pool = pools[active]
        for i in 0..<pool.rows { pool.order[i] = i }
        if ordered {
            Permutation.forEachSwap(count: pool.rows, &generator) { i, j in
                let t = pool.order[i]; pool.order[i] = pool.order[j]; pool.order[j] = t
            }
        }
        poolStart = poolEnd
        poolEnd += pool.rows
    }

    /// The training thread's `loadNextPool`: waits for a block the reader is reading, reads
    /// what it has not read of the next group, and makes that pool the active one; the
    /// pool left, now the spare, is pinned by batch `index`, the last that may point into it.
    func takeNextPool(batch index: Int) throws(MiniBatchError) {
        if membersReadPools { return try takeNextPoolReadByMembers(batch: index) }
        try monitor.locked { () throws(MiniBatchError) in
            monitor.wait { !readingAhead || failure != nil || stopping }
            if let failure { throw failure }
            readingAhead = true  // the reader keeps off the pools meanwhile
        }
        do throws(MiniBatchError) {
            try loadNextPool()
        } catch {
            monitor.locked {
                readingAhead = false
                monitor.broadcast()
            }
            throw error
        }
        monitor.locked {
            current = pools[active]
            spareLastBatch = index
            readingAhead = false
            monitor.broadcast()
        }
    }

    /// Releases the pages of block `block` of X and y.
    func release(block: Int) {
        let first = block * rowsPerBlock, count = min(rowsPerBlock, dataset.count - first)
        dataset.x.release(first, count: count)
        dataset.y.release(first, count: count)
    }

    /// Releases the pages of X and y again, whole files (a call walks only the pages in the
    /// cache), then asks again for block `next` of the order, the next one to be read. Pages
    /// can come back after their block's release: after an exact-shuffle run over the same
    /// file, the memory-limit test saw tens of MiB of blocks already read stay charged to its
    /// group (likely the kernel's asynchronous read-ahead, which pages that an earlier reader
    /// left marked for it start and `POSIX_FADV_RANDOM` does not stop). Once per pool.
    func releaseAgain(next position: Int? = nil) {
        guard releasesPages else { return }
        dataset.x.release(0, count: dataset.count)
        dataset.y.release(0, count: dataset.count)
        if let position, position < blockCount, let blockOrder {
            let first = blockOrder[position] * rowsPerBlock, count = min(rowsPerBlock, dataset.count - first)
            dataset.x.prefetch(first, count: count)
            dataset.y.prefetch(first, count: count)
        }
    }

    /// Groups of blocks in an epoch: consecutive entries of the block order, the first
    /// `firstGroupBlocks` of them, then `poolBlocks` each.
    var groupCount: Int {
        blockCount <= firstGroupBlocks ? 1 : 1 + (blockCount - firstGroupBlocks + poolBlocks - 1) / poolBlocks
    }

    func blocks(ofGroup group: Int) -> Range<Int> {
        let start = group == 0 ? 0 : firstGroupBlocks + (group - 1) * poolBlocks
        return start..<min(group == 0 ? firstGroupBlocks : start + poolBlocks, blockCount)
    }

    /// Whether the spare pool can read a block of the next group ahead (block shuffle only;
    /// with the lock held).
    func canReadAhead() -> Bool {
        guard mode == .block, !readingAhead, nextGroup < groupCount else { return false }
        let spare = pools[1 - active]
        if spare.group != nextGroup { return released > spareLastBatch }
        return spare.blocksRead < blocks(ofGroup: nextGroup).count
    }

    /// Reads the next block of the next group into the spare pool (the reader thread only).
    func readAheadOneBlock() throws(MiniBatchError) {
        let spare = 1 - active
        if pools[spare].group != nextGroup {
            pools[spare].group = nextGroup
            pools[spare].blocksRead = 0
            pools[spare].rows = 0
        }
        let m = dataset.count, yRow = dataset.y.rowBytes
        let position = blocks(ofGroup: nextGroup).lowerBound + pools[spare].blocksRead
        let block = blockOrder![position], first = block * rowsPerBlock, count = min(rowsPerBlock, m - first)
        if ordered && position + 1 < blockCount {  // the kernel reads the next block meanwhile
            let next = blockOrder![position + 1] * rowsPerBlock, nextCount = min(rowsPerBlock, m - next)
            dataset.x.prefetch(next, count: nextCount)
            dataset.y.prefetch(next, count: nextCount)
        }
        let pool = pools[spare], filled = pool.rows
        try dataset.x.readRows(first, count: count, into: pool.x + filled * nIn)
        try dataset.y.readRows(first, count: count, into: pool.y + filled * yRow)
        if releasesPages { release(block: block) }
        for r in 0..<count { pool.source[filled + r] = first + r }
        pools[spare].rows += count
        pools[spare].blocksRead += 1
    }

    /// Makes the next group of blocks the active pool: reads what the read-ahead has not,
    /// then shuffles its rows (continuing the epoch's stream).
    func loadNextPool() throws(MiniBatchError) {
        let spare = 1 - active
        let group = blocks(ofGroup: nextGroup)
        releaseAgain(next: group.lowerBound + (pools[spare].group == nextGroup ? pools[spare].blocksRead : 0))
        if pools[spare].group != nextGroup { pools[spare].group = -1 }
        while pools[spare].group != nextGroup || pools[spare].blocksRead < group.count {
            try readAheadOneBlock()
        }
        active = spare
        nextGroup += 1
        shuffleActive()
    }
}
