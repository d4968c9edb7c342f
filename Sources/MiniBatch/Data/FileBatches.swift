#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Mini-batches of a file dataset, read by a background thread up to `depth` batches ahead
/// of the training loop, into buffers allocated once.
///
/// The epoch's order is a permutation of all rows, partitioned like in-memory data:
/// - exact: `Permutation.fill(m, seed, epoch)`, the in-memory order; each row is read with
///   `pread` where it lies (runs of consecutive rows in one read). The targets are read once
///   into memory. Rows are left in the page cache for the next epoch.
/// - block: rows are grouped into blocks of `rowsPerBlock` contiguous rows. Stream
///   (seed, epoch) first shuffles the blocks (Fisher-Yates over the block indices), then the
///   shuffled blocks are taken in groups (`firstGroupBlocks`, then `poolBlocks` at a time);
///   each group is read whole into a pool, in that order, and its rows are shuffled
///   (Fisher-Yates, continuing the same stream). The epoch's order is the pools' shuffled
///   rows one after another. Read pages are released with
///   `posix_fadvise(DONTNEED)` when `releasesPages` (see `FilePageCache`).
/// Without shuffling, or with one batch of all rows, rows come in file order.
///
/// X held (`FileDataset.heldRows`: the budget holds it, shuffled, not distributed): X is read
/// whole once (`FileDataset.takeX`), and both shuffles run as the exact one does, gathering
/// rows from it in the same order (the block shuffle's computed as rows, `drawBlockOrder`).
/// X held in part (the exact shuffle, where the budget holds some of X's rows beside its
/// buffers): X's first rows are read once, and each batch copies those of its rows from
/// memory and reads the others from the file (`readRows`).
///
/// With a team of training threads (`readers` > 1) the members put their own shard's rows of
/// X in the batch (`fill`), and the reader prepares each batch's rows and targets: a third
/// thread copying rows would take its time from a member, and the batch waits for its
/// slowest member.
/// - Exact: members read their rows from the page cache first (`preadv2` with
///   `RWF_NOWAIT`). There is no reader thread. Once a member has had to wait for the disk,
///   the training thread asks the kernel to read ahead (`POSIX_FADV_WILLNEED`) the rows of
///   the batches up to two ahead, for the rest of that epoch.
/// - Block: the training thread points each batch's rows into the pool (and converts their
///   targets), and members copy their rows out of it. A pool is not read over until every
///   batch pointing into it has trained (`spareLastBatch`), which needs groups of at least a
///   batch of rows: a batch then spans at most two groups. Smaller pools fall back to the
///   reader copying. The pools are read by the members, in pieces after their rows
///   (`membersReadPools`), when pages are kept; by the reader, ahead, when they are released
///   (files larger than memory, read from disk, where a member would wait for it).
/// Either way the training thread prepares each batch itself (`preparesInline`): a reader
/// woken for every batch would preempt a member, and the batch waits for its slowest member.
///
/// The exact shuffle's reads are in FileBatches+Exact.swift, the block shuffle's pools in
/// FileBatches+Pools.swift, the reader thread in FileBatches+Reader.swift, the targets'
/// conversion in FileBatches+Targets.swift.
final class FileBatches: BatchSource {
    static let depth = 3
    static let idle = -1, filling = -2, inUse = -3

    let dataset: FileDataset
    let partition: Partition
    let network: Network
    let seed: UInt64
    let ordered: Bool
    let mode: FileShuffle
    let nIn: Int
    /// Floats per row of targets in a batch (class labels take one int32).
    let targetWidth: Int
    /// Whether y's integers are class labels for this network (`FileDataset.readsLabels`),
    /// else targets, converted to float32 as they are read.
    let readsLabels: Bool
    /// Whether the training threads put X's rows in the batch (with a team).
    let membersFill: Bool
    /// Whether the block shuffle releases the pages it has read.
    let releasesPages: Bool
    /// Members' reads that had to wait for the disk, in all, and when the epoch began.
    let waitedReads = Atomic<Int>(0)
    var waitedBeforeEpoch = 0
    /// Members filling: the training thread prepares each batch in `batch`. Exact: it asks
    /// the kernel to read ahead (`hinting`) up to batch `hintedThrough`. Block: `current` is
    /// its copy of the active pool.
    let preparesInline: Bool
    var hinting = false
    var hintedThrough = -1
    var current: Pool?

    /// Block, members filling, pages kept (the file fits in memory): no reader thread. The
    /// members read the next group into the spare pool themselves, in pieces of `pieceRows`
    /// rows spread evenly over the batches before it is needed (`slotPieces`), after their
    /// own rows; the kernel is asked to read each group ahead (`POSIX_FADV_WILLNEED`) when
    /// its pool is laid out, so that a file not in the page cache is mostly read by then.
    let membersReadPools: Bool
    let pieceRows: Int
    let piecesPerBlock: Int
    /// The spare pool's group: each block's first file row, row count and row in the pool.
    var spareFirst: UnsafeMutablePointer<Int>?
    var spareCount: UnsafeMutablePointer<Int>?
    var spareOffset: UnsafeMutablePointer<Int>?
    var spareX: UnsafeMutablePointer<Float>?
    /// Pieces of the spare's group, and the first not yet given to a batch.
    var sparePieces = 0, nextPiece = 0
    /// The pieces batch `slot` reads: first and count.
    var slotPieces: UnsafeMutablePointer<Int>?

    // The batch slots: (batchSize, nIn) inputs, targets, and the file row of each.
    var slotX: [UnsafeMutablePointer<Float>] = []
    var slotY: [UnsafeMutableRawPointer] = []
    var slotRows: [UnsafeMutablePointer<Int>] = []
    /// Block, members filling: where each row of a batch is in the pools.
    var slotSources: [UnsafeMutablePointer<UnsafePointer<Float>>] = []
    /// The largest |x| of each slot's batch, when the reader prepared it.
    var slotMagnitudes: UnsafeMutablePointer<Magnitude>?

    // Shared with the reader thread, under `monitor`.
    let monitor = Monitor()
    /// Each slot's batch index, or idle, filling, in use: a buffer of its own (a cache line,
    /// `allocate`'s alignment), written for every batch.
    var state: UnsafeMutablePointer<Int>!
    var produced = 0
    var epochActive = false
    var stopping = false
    var failure: MiniBatchError?
    var lastSlot = -1
    /// Block, members copying while a reader reads the pools: batches of the epoch the
    /// training loop is done with (0 ..< released), and the last batch that points into the
    /// spare pool; the reader may read over the spare pool once `released > spareLastBatch`.
    /// (Without members copying, `spareLastBatch` stays -1.)
    var released = 0
    var spareLastBatch = -1
    var thread: Thread?

    /// Exact, and block as the exact shuffle reads: X's first `rows` rows held in memory
    /// (`FileDataset.heldRows`), from which batches gather those rows as in-memory training
    /// does (all of them, where `rows` is the dataset's count); nil: rows are read from the
    /// file.
    var heldX: (pointer: UnsafeMutablePointer<Float>, stamp: FileStamp?, rows: Int)?
    /// Whether X is held whole.
    var holdsAllRows: Bool { heldX?.rows == dataset.count }
    /// Exact, shuffled, X not held whole: the X file's mapping, from which batches copy the
    /// rows not held (`FileMapping`); nil, or once a copy from it failed
    /// (`mappingFailed`: the file changed size), they are read with `pread`.
    var xMapping: FileMapping?
    let mappingFailed = Atomic<Bool>(false)

    // Exact: the epoch's permutation and all targets, converted and checked.
    var permutation: UnsafeMutablePointer<Int>?
    var targets: UnsafeMutableRawPointer?
    /// Distributed training with the block shuffle: the epoch's order is the block
    /// shuffle's, computed as file rows into `permutation` (`drawBlockOrder`), and read as
    /// the exact shuffle reads, each rank its own rows; `poolRows` and `poolOrder` are the
    /// computation's scratch (a pool's file rows and their order).
    let blockOrderAsRows: Bool
    var poolRows: UnsafeMutablePointer<Int>?
    var poolOrder: UnsafeMutablePointer<Int>?

    // Block: the block order, the pool and its order; the reader's position in the epoch.
    let rowsPerBlock: Int
    let blockCount: Int
    let poolBlocks: Int
    /// Blocks in an epoch's first group: at most an eighth of them (at least one), fewer than
    /// the others' `poolBlocks` where the budget allows more, so that the read no training
    /// hides, the epoch's first pool, is short.
    let firstGroupBlocks: Int
    private(set) var blockOrder: UnsafeMutablePointer<Int>?
    /// Two pools: the one being consumed (`active`) and the next, read ahead in idle time.
    var pools: [Pool] = []
    var active = 0
    var generator = Generator(seed: 0, stream: 0)
    var poolStart = 0, poolEnd = 0, nextGroup = 0
    /// The reader is reading ahead outside the lock (startEpoch waits for it).
    var readingAhead = false

    /// The rows of one group of `poolBlocks` blocks: X (rows, nIn), y as stored, the file row
    /// of each, and the order they are emitted in.
    struct Pool {
        let x: UnsafeMutablePointer<Float>
        let y: UnsafeMutableRawPointer
        let source: UnsafeMutablePointer<Int>
        let order: UnsafeMutablePointer<Int>
        var group = -1
        var blocksRead = 0
        var rows = 0
    }

    var allocations: [UnsafeMutableRawPointer] = []
    /// Block: both pools' X in one buffer, taken from the dataset's kept pools or allocated,
    /// and given back to the dataset when this source is done (`FileDataset.keepPools`).
    var poolMemory: (pointer: UnsafeMutableRawPointer, bytes: Int)?

    /// Distributed training: the rows of a batch of n rows (counted within the batch) this
    /// rank trains on, so that read-ahead hints ask for those alone (nil: all rows).
    var ownRows: ((Int) -> Range<Int>)?

    /// - Parameters:
    ///   - readers: the threads that train each batch; more than one lets them read X's rows
    ///     themselves in exact mode.
    ///   - distributed: the training threads compute only some shards of each batch (their
    ///     rank's): in exact mode they read only those rows, as members; with the block
    ///     shuffle the reader reads every block and prepares whole batches (members reading
    ///     the pools in pieces would read only their share of them).
    ///   - evaluating: the rows are read for an evaluation, whose message of a budget too
    ///     small says so (`FileDataset.readerLayout`).
    init(
        _ dataset: FileDataset, partition: Partition, network: Network, seed: UInt64, shuffle: Bool,
        readers: Int = 1, distributed: Bool = false, evaluating: Bool = false
    ) throws(MiniBatchError) {
        self.dataset = dataset
        self.partition = partition
        self.network = network
        self.seed = seed
        let m = dataset.count
        ordered = shuffle && !partition.isWholeBatch
        let layout = try dataset.readerLayout(batchSize: partition.batchSize, evaluating: evaluating)
        var heldRows = ordered && !distributed ? dataset.heldRows(batchSize: partition.batchSize, layout: layout) : 0
        let holds = heldRows == m
        let blockMapping = dataset.options.shuffle == .block && ordered && !holds && !distributed
            ? FileBatches.blockMapping(dataset, layout: layout, batchSize: partition.batchSize) : nil
        if blockMapping != nil {
            // No pools: X's first rows are held as the exact shuffle holds them.
            heldRows = dataset.heldRowsInPart(batchSize: partition.batchSize, layout: layout)
        }
        blockOrderAsRows = (distributed || holds || blockMapping != nil) && dataset.options.shuffle == .block
        mode = blockOrderAsRows ? .exact : dataset.options.shuffle
        nIn = dataset.features
        targetWidth = dataset.targetWidth
        readsLabels = dataset.readsLabels(for: network)
        if heldRows == 0 && mode != .block { dataset.releaseKept() }  // the budget is this reader's
        releasesPages = mode == .block && dataset.options.pageCache.releases(
            fileBytes: dataset.x.expectedSize.addingSaturated(dataset.y.expectedSize), usableMemory: SystemMemory.usable())
        rowsPerBlock = layout.rowsPerBlock
        blockCount = layout.blockCount
        poolBlocks = layout.poolBlocks
        firstGroupBlocks = min(layout.poolBlocks, max(1, layout.blockCount / 8))
        switch mode {
        case .exact:
            membersFill = readers > 1 || distributed
        case .block:
            // The fewest rows a group of blocks other than the epoch's last may hold: the
            // file's last block may be short.
            let lastBlockRows = m - (blockCount - 1) * rowsPerBlock
            let fewest = (firstGroupBlocks - 1) * rowsPerBlock + min(rowsPerBlock, lastBlockRows)
            membersFill = readers > 1 && fewest >= partition.batchSize && !distributed
        }
        preparesInline = membersFill
        membersReadPools = membersFill && mode == .block && !releasesPages
        pieceRows = max(1, min(rowsPerBlock, (128 << 10) / dataset.x.rowBytes))
        piecesPerBlock = (rowsPerBlock + pieceRows - 1) / pieceRows
        let batch = partition.batchSize, yRow = dataset.y.rowBytes
        do throws(MiniBatchError) {
            state = try buffer(Int.self, FileBatches.depth, "the batches' states")
            state.initialize(repeating: FileBatches.idle, count: FileBatches.depth)
            slotMagnitudes = try buffer(Magnitude.self, FileBatches.depth, "the batches' largest values")
            for _ in 0..<FileBatches.depth {
                slotX.append(try buffer(Float.self, batch * nIn, "a batch of X"))
                slotY.append(UnsafeMutableRawPointer(try buffer(Float.self, batch * targetWidth, "a batch of y")))
                slotRows.append(try buffer(Int.self, batch, "the rows of a batch"))
                if membersFill && mode == .block {
                    slotSources.append(try buffer(UnsafePointer<Float>.self, batch, "the sources of a batch"))
                }
            }
            switch mode {
            case .exact:
                if heldRows > 0 {
                    do throws(MiniBatchError) {
                        let (pointer, stamp) = try dataset.takeX(rows: heldRows)
                        heldX = (pointer, stamp, heldRows)
                    } catch where error.kind == .outOfMemory {
                        // (takeX freed what was kept) each batch's rows are read from the file
                    }
                }
                if ordered && !holdsAllRows && FileBatches.mayMap(dataset) { xMapping = blockMapping ?? FileMapping(dataset.x) }
                permutation = try buffer(Int.self, m, "the permutation")
                targets = UnsafeMutableRawPointer(try buffer(Float.self, m * targetWidth, "the targets"))
                try loadTargets()
                if blockOrderAsRows {
                    blockOrder = try buffer(Int.self, blockCount, "the block order")
                    poolRows = try buffer(Int.self, poolBlocks * rowsPerBlock, "the rows of a pool")
                    poolOrder = try buffer(Int.self, poolBlocks * rowsPerBlock, "the order of a pool")
                }
            case .block:
                let poolRows = poolBlocks * rowsPerBlock
                blockOrder = try buffer(Int.self, blockCount, "the block order")
                if membersReadPools {
                    spareFirst = try buffer(Int.self, poolBlocks, "the spare pool's layout")
                    spareCount = try buffer(Int.self, poolBlocks, "the spare pool's layout")
                    spareOffset = try buffer(Int.self, poolBlocks, "the spare pool's layout")
                    slotPieces = try buffer(Int.self, 2 * FileBatches.depth, "the pieces of each batch")
                }
                let xFloats = poolRows * nIn, xBytes = 2 * xFloats * MemoryLayout<Float>.stride
                let poolX: UnsafeMutableRawPointer
                if let kept = dataset.takeCachedPools(bytes: xBytes) {
                    poolX = kept
                } else {
                    poolX = UnsafeMutableRawPointer(try allocate(Float.self, count: 2 * xFloats, for: "the pools of X", hugePages: true))
                }
                poolMemory = (poolX, xBytes)
                for p in 0..<2 {
                    pools.append(Pool(
                        x: poolX.assumingMemoryBound(to: Float.self) + p * xFloats,
                        y: UnsafeMutableRawPointer(try buffer(UInt8.self, poolRows * yRow, "a pool of y")),
                        source: try buffer(Int.self, poolRows, "the rows of a pool"),
                        order: try buffer(Int.self, poolRows, "the order of a pool")))
                }
            }
            // In file order: long sequential reads, so more readahead. Shuffled blocks: no
            // readahead past a block (the next block in the file is not the next one read,
            // and may be one already read and released); the reader asks for the next block
            // in the order instead. (Exact keeps the kernel's default: an epoch reads every
            // row, so pages read ahead around a row are mostly used later in the same epoch.)
            if !ordered {
                dataset.x.advise(POSIX_FADV_SEQUENTIAL)
            } else if mode == .block {
                dataset.x.advise(POSIX_FADV_RANDOM)
                dataset.y.advise(POSIX_FADV_RANDOM)
            }
            if !(preparesInline && (mode == .exact || membersReadPools)) {
                thread = try Thread { [unowned self] in self.readerLoop() }
            }
        } catch {
            release()
            throw error
        }
    }

    /// Whether rows may be copied from a mapping of the X file (`FileMapping`): where the
    /// files fit in half the memory this process may use (the rule by which the block
    /// shuffle keeps their pages: `FilePageCache.auto`). A larger file is read from the
    /// disk anyway, where a copy saves nothing, and its mapped pages would count in the
    /// process's resident set (as shared file pages, which the kernel may reclaim) up to
    /// the file's size: past a memory limit that the `pread` path keeps to.
    static func mayMap(_ dataset: FileDataset) -> Bool {
        dataset.options.mapsX && !FilePageCache.auto.releases(
            fileBytes: dataset.x.expectedSize.addingSaturated(dataset.y.expectedSize), usableMemory: SystemMemory.usable())
    }

    /// The block shuffle, X not held: a mapping of the X file where its rows are copied from
    /// it, in the block shuffle's order computed as file rows (`blockOrderAsRows`), as the
    /// exact shuffle copies the rows it does not hold (a quarter of the cost of reading the
    /// pools, measured: see the README), else nil (the pools are read). That is where the
    /// file is in the page cache whole as training starts (a file read from the disk is read
    /// a block at a time into the pools, sequentially), its pages are kept (`pageCache`),
    /// and the budget holds the order and the targets (`rowReaderBytes`). Not with
    /// `holdsX` false (tests of the pools).
    static func blockMapping(_ dataset: FileDataset, layout: (rowsPerBlock: Int, blockCount: Int, poolBlocks: Int), batchSize: Int) -> FileMapping? {
        let options = dataset.options
        // (`mayMap` is `FilePageCache.auto`'s rule: only `.release` asks for more.)
        guard mayMap(dataset) && options.holdsX && options.pageCache != .release,
              dataset.rowReaderBytes(batchSize: batchSize, layout: layout) <= options.memoryBudget,
              let mapping = FileMapping(dataset.x), mapping.isResident
        else { return nil }
        return mapping
    }

    deinit {
        finish()  // the reader thread must stop before its buffers go
        if mode == .block { releaseAgain() }
        release()
    }

    func buffer<T>(
        _ type: T.Type, _ count: Int, _ what: String, hugePages: Bool = false
    ) throws(MiniBatchError) -> UnsafeMutablePointer<T> {
        let pointer = try allocate(T.self, count: count, for: what, hugePages: hugePages)
        allocations.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    func release() {
        for pointer in allocations { free(pointer) }
        allocations.removeAll()
        if let heldX { dataset.keepX(heldX.pointer, stamp: heldX.stamp, rows: heldX.rows) }
        heldX = nil
        if let poolMemory { dataset.keepPools(poolMemory.pointer, bytes: poolMemory.bytes) }
        poolMemory = nil
    }

    // MARK: - BatchSource (the training thread)

    func startEpoch(_ epoch: UInt64) throws(MiniBatchError) {
        try monitor.locked { () throws(MiniBatchError) in
            monitor.wait {
                !readingAhead && (preparesInline || !epochActive || produced == partition.batchCount || failure != nil)
            }
            if let failure { throw failure }
            try dataset.x.checkSize()
            try dataset.y.checkSize()
            state.update(repeating: FileBatches.idle, count: FileBatches.depth)
            lastSlot = -1
            released = 0
            switch mode {
            case .exact:
                let perm = UnsafeMutableBufferPointer(start: permutation!, count: dataset.count)
                if ordered && blockOrderAsRows {
                    drawBlockOrder(epoch: epoch)
                } else if ordered {
                    Permutation.fill(perm, seed: seed, epoch: epoch)
                } else {
                    for i in 0..<perm.count { perm[i] = i }
                }
            case .block:
                releaseAgain()  // the last epoch's
                for i in 0..<blockCount { blockOrder![i] = i }
                generator = Generator(seed: seed, stream: epoch)
                if ordered {
                    Permutation.forEachSwap(count: blockCount, &generator) { i, j in
                        let t = blockOrder![i]; blockOrder![i] = blockOrder![j]; blockOrder![j] = t
                    }
                }
                poolStart = 0
                poolEnd = 0
                nextGroup = 0
                for p in pools.indices { pools[p].group = -1 }
                spareLastBatch = -1
            }
            produced = 0
            hinting = false
            hintedThrough = -1
            current = nil
            waitedBeforeEpoch = waitedReads.load(ordering: .relaxed)
            epochActive = true
            monitor.broadcast()
        }
    }

    func batch(_ index: Int) throws(MiniBatchError) -> (UnsafePointer<Float>, Targets) {
        let slot = index % FileBatches.depth
        if preparesInline && mode == .exact {
            prepareInline(slot: slot, batch: index)
        } else if preparesInline {
            try prepareBlockInline(slot: slot, batch: index)
        } else {
            try waitForReader(slot: slot, batch: index)
        }
        let y: Targets = readsLabels
            ? .classes(slotY[slot].assumingMemoryBound(to: Int32.self))
            : .values(slotY[slot].assumingMemoryBound(to: Float.self))
        return (UnsafePointer(slotX[slot]), y)
    }

    /// The file row of row `k` of batch `index` (the training thread, between `batch(index)`
    /// and the next call).
    func fileRow(batch index: Int, row k: Int) -> Int { slotRows[index % FileBatches.depth][k] }

    func fill(_ index: Int, rows: Range<Int>) throws(MiniBatchError) {
        _ = try fillMeasured(index, rows: rows, checking: true)
    }

    /// Every batch's values are checked, and measured by the same pass; the magnitudes are
    /// used when there is more than one batch (as `MemoryBatches` does).
    var measuresRows: Bool { !partition.isWholeBatch }

    /// Puts rows `rows` of batch `index` in place when members fill (the reader has prepared
    /// the rest): reads them (exact) or copies them out of the pool (block), and checks them.
    /// Returns the largest |x| of the rows, or of the whole batch where the reader checked it.
    func fillMeasured(_ index: Int, rows: Range<Int>, checking: Bool) throws(MiniBatchError) -> Magnitude? {
        let slot = index % FileBatches.depth
        guard membersFill else { return slotMagnitudes![slot] }
        let x = slotX[slot] + rows.lowerBound * nIn, source = slotRows[slot] + rows.lowerBound
        switch mode {
        case .exact:
            return try gather(into: x, rows: rows.count, source: source, cached: true)
        case .block:
            FileBatches.copyRows(to: x, from: slotSources[slot] + rows.lowerBound, count: rows.count, nIn: nIn)
        }
        let magnitude = try check(x, rows: rows.count, source: source)
        if membersReadPools {
            // This member's share of the batch's pieces, in proportion to its rows.
            let first = slotPieces![2 * slot], count = slotPieces![2 * slot + 1], total = partition.batch(index).count
            for piece in (first + count * rows.lowerBound / total)..<(first + count * rows.upperBound / total) {
                try readPiece(piece)
            }
        }
        return magnitude
    }

    /// Row k of `out` = row `sources[k]`, prefetching rows ahead as `Shuffle.gatherRows` does.
    static func copyRows(
        to out: UnsafeMutablePointer<Float>, from sources: UnsafePointer<UnsafePointer<Float>>, count: Int, nIn: Int
    ) {
        let rowBytes = nIn * MemoryLayout<Float>.stride
        Shuffle.forEachRowReadAhead(count: count, rowBytes: rowBytes, row: { UnsafeRawPointer(sources[$0]) }) { k, row in
            memcpy(out + k * nIn, row, rowBytes)
        }
    }

    /// Throws the first NaN or Inf of `rows` rows of X read from file rows `source`.
    func check(_ x: UnsafePointer<Float>, rows: Int, source: UnsafePointer<Int>) throws(MiniBatchError) -> Magnitude {
        let magnitude = Magnitude(x, count: rows * nIn)
        if !magnitude.isFinite, let bad = Validate.firstNonFinite(x, count: rows * nIn) {
            throw .invalid("X file '\(dataset.x.path)' has a non-finite value (\(x[bad])) at row \(source[bad / nIn]), column \(bad % nIn)")
        }
        return magnitude
    }

    func finish() {
        guard let thread else { return }
        monitor.locked {
            stopping = true
            monitor.broadcast()
        }
        thread.join()
        self.thread = nil
    }
}
