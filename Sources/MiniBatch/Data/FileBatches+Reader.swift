// The reader thread of `FileBatches`: batches read ahead into the slots, and the block
// shuffle's next pool read in idle time.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileBatches {
    /// Waits until the reader has put batch `index` in `slot`, and hands the previous slot
    /// back to it.
    func waitForReader(slot: Int, batch index: Int) throws(MiniBatchError) {
        try monitor.locked { () throws(MiniBatchError) in
            if lastSlot >= 0 {
                state[lastSlot] = FileBatches.idle
                lastSlot = -1
                monitor.broadcast()
            }
            monitor.wait { state[slot] == index || failure != nil }
            guard state[slot] == index else { throw failure! }
            state[slot] = FileBatches.inUse
            lastSlot = slot
        }
    }

    func readerLoop() {
        while true {
            var index = 0
            var readAhead = false
            let go: Bool = monitor.locked {
                let working = { self.epochActive && self.failure == nil && self.produced < self.partition.batchCount }
                let free = { !self.preparesInline && self.state[self.produced % FileBatches.depth] == FileBatches.idle }
                monitor.wait {
                    stopping || (working() && (free() || canReadAhead()))
                }
                if stopping { return false }
                if free() {
                    index = produced
                    state[index % FileBatches.depth] = FileBatches.filling
                } else {
                    readAhead = true
                    readingAhead = true
                }
                return true
            }
            if !go { return }
            do throws(MiniBatchError) {
                if readAhead {
                    try readAheadOneBlock()
                    monitor.locked {
                        readingAhead = false
                        monitor.broadcast()
                    }
                    continue
                }
                try fill(slot: index % FileBatches.depth, batch: index)
                monitor.locked {
                    state[index % FileBatches.depth] = index
                    produced = index + 1
                    monitor.broadcast()
                }
            } catch {
                monitor.locked {
                    failure = error
                    readingAhead = false
                    monitor.broadcast()
                }
            }
        }
    }

    /// Reads batch `index` of the epoch's order into `slot` and checks its values.
    func fill(slot: Int, batch index: Int) throws(MiniBatchError) {
        let rows = partition.batch(index)
        let x = slotX[slot], y = slotY[slot], source = slotRows[slot]
        switch mode {
        case .exact:  // (members reading prepare inline, without the reader)
            placeOrder(slot: slot, batch: index)
            slotMagnitudes![slot] = try gather(into: x, rows: rows.count, source: source, cached: false)
            return
        case .block:
            let yRow = dataset.y.rowBytes
            for k in 0..<rows.count {
                let position = rows.lowerBound + k
                if position >= poolEnd { try loadNextPool() }
                let pool = pools[active]
                let local = pool.order[position - poolStart]
                (x + k * nIn).update(from: pool.x + local * nIn, count: nIn)
                source[k] = pool.source[local]
                try convertTarget(pool.y + local * yRow, fileRow: source[k], to: y, at: k)
            }
        }
        slotMagnitudes![slot] = try check(x, rows: rows.count, source: source)
    }
}
