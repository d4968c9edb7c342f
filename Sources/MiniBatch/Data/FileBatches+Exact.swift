#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The exact shuffle's reads: each batch's file rows from the permutation, read where they
/// lie (consecutive rows in one read), or copied from X held whole or in part.
extension FileBatches {
    /// Exact shuffle, members reading: batch `index`'s file rows and targets into `slot`; once
    /// a member has waited for the disk this epoch, read-ahead hints for the batches up to
    /// two ahead.
    func prepareInline(slot: Int, batch index: Int) {
        placeOrder(slot: slot, batch: index)
        if !hinting && waitedReads.load(ordering: .relaxed) > waitedBeforeEpoch { hinting = true }
        guard hinting else { return }
        let last = min(index + 2, partition.batchCount - 1)
        var ahead = max(hintedThrough + 1, index)
        while ahead <= last {
            let batch = partition.batch(ahead)
            // Distributed: only this rank's rows (the others' are never read here).
            let own = ownRows?(batch.count) ?? 0..<batch.count
            let rows = (batch.lowerBound + own.lowerBound)..<(batch.lowerBound + own.upperBound)
            try? FileBatches.forEachRun(permutation! + rows.lowerBound, count: rows.count) { (_, first, run) in
                dataset.x.prefetch(first, count: run)
            }
            ahead += 1
        }
        hintedThrough = max(hintedThrough, last)
    }

    /// Exact: batch `index`'s file rows (from the permutation) and their targets into `slot`.
    func placeOrder(slot: Int, batch index: Int) {
        let rows = partition.batch(index), y = slotY[slot], source = slotRows[slot]
        for k in 0..<rows.count {
            let row = permutation![rows.lowerBound + k]
            source[k] = row
            copyTarget(from: targets!, row: row, to: y, at: k)
        }
    }

    /// Calls `body(k, first, run)` for each run of consecutive file rows in `rows[0..<count]`:
    /// rows k ..< k + run are file rows first ..< first + run, read in one call.
    static func forEachRun(
        _ rows: UnsafePointer<Int>, count: Int, _ body: (Int, Int, Int) throws(MiniBatchError) -> Void
    ) throws(MiniBatchError) {
        var k = 0
        while k < count {
            let first = rows[k]
            var run = 1
            while k + run < count && rows[k + run] == first + run { run += 1 }
            try body(k, first, run)
            k += run
        }
    }

    /// Exact: file rows `source[0..<rows]` into `x`, checked, with their largest |value|:
    /// from X held whole (`gatherHeld`); else from X held in part and the file's mapping
    /// (`FileMapping`); else, where there is no mapping or it cannot be read, from X held in
    /// part and with `pread` (`readRows`, `cached` as there; a read or a copy that waited
    /// for the disk is counted in `waitedReads`).
    func gather(
        into x: UnsafeMutablePointer<Float>, rows: Int, source: UnsafePointer<Int>, cached: Bool
    ) throws(MiniBatchError) -> Magnitude {
        if holdsAllRows { return try gatherHeld(into: x, rows: rows, source: source) }
        if let xMapping, !mappingFailed.load(ordering: .relaxed) {
            switch xMapping.gather(into: x, rows: source, count: rows, features: nIn, held: heldX?.pointer, heldRows: heldX?.rows ?? 0) {
            case .copied(let magnitude, let waits):
                if waits > 0 { waitedReads.add(1, ordering: .relaxed) }
                return magnitude.isFinite ? magnitude : try check(x, rows: rows, source: source)
            case .fault:
                mappingFailed.store(true, ordering: .relaxed)  // the reads below say why
            case .unavailable:
                break
            }
        }
        if try !readRows(into: x, count: rows, source: source, cached: cached) { waitedReads.add(1, ordering: .relaxed) }
        return try check(x, rows: rows, source: source)
    }

    /// Exact: file rows `source[0..<count]` into `x` (rows of `nIn`): those X held in part
    /// has, copied from memory (`Shuffle.forEachRowReadAhead`, as a gather is);
    /// the others read from the file, consecutive rows in one read: `cached`, from the page
    /// cache first (`NpyFile.readCachedRows`). Returns false if a read waited for the disk.
    func readRows(
        into x: UnsafeMutablePointer<Float>, count: Int, source: UnsafePointer<Int>, cached: Bool
    ) throws(MiniBatchError) -> Bool {
        let heldRows = heldX?.rows ?? 0
        if let held = heldX?.pointer {
            // A row read from the file below has its destination prefetched instead (harmless).
            let rowBytes = nIn * MemoryLayout<Float>.stride
            Shuffle.forEachRowReadAhead(count: count, rowBytes: rowBytes, row: {
                UnsafeRawPointer(source[$0] < heldRows ? held + source[$0] * nIn : x + $0 * nIn)
            }) { k, row in
                if source[k] < heldRows { memcpy(x + k * nIn, row, rowBytes) }
            }
        }
        var waited = false
        try FileBatches.forEachRun(source, count: count) { (k, first, run) throws(MiniBatchError) in
            let inMemory = min(run, max(0, heldRows - first))
            guard run > inMemory else { return }
            let into = x + (k + inMemory) * nIn
            if !cached {
                try dataset.x.readRows(first + inMemory, count: run - inMemory, into: into)
            } else if try !dataset.x.readCachedRows(first + inMemory, count: run - inMemory, into: into) {
                waited = true
            }
        }
        return !waited
    }

    /// Exact with X held whole: rows `source[0..<rows]` of the held X into `x`, checked and
    /// measured in the same pass (`Shuffle.gatherRowsMeasured`, as in-memory training does).
    func gatherHeld(into x: UnsafeMutablePointer<Float>, rows: Int, source: UnsafePointer<Int>) throws(MiniBatchError) -> Magnitude {
        let magnitude = Shuffle.gatherRowsMeasured(x, heldX!.pointer, features: nIn, rows: UnsafeBufferPointer(start: source, count: rows))
        if !magnitude.isFinite { return try check(x, rows: rows, source: source) }
        return magnitude
    }
}
