// Targets of `FileBatches`: read, converted to what training takes, and checked.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileBatches {
    /// Exact shuffle: reads all of y once, in order, converting and checking every row.
    func loadTargets() throws(MiniBatchError) {
        let y = dataset.y, chunk = max(1, min(dataset.count, (1 << 20) / y.rowBytes))
        let scratch = try allocate(UInt8.self, count: chunk * y.rowBytes, for: "reading y")
        defer { deallocate(scratch) }
        var first = 0
        while first < dataset.count {
            let count = min(chunk, dataset.count - first)
            try y.readRows(first, count: count, into: scratch)
            for r in 0..<count {
                try convertTarget(scratch + r * y.rowBytes, fileRow: first + r, to: targets!, at: first + r)
            }
            first += count
        }
    }

    func copyTarget(from all: UnsafeMutableRawPointer, row: Int, to y: UnsafeMutableRawPointer, at k: Int) {
        (y + 4 * k * targetWidth).copyMemory(from: all + 4 * row * targetWidth, byteCount: 4 * targetWidth)
    }

    /// One row of y as stored in the file into row `k` of `out`: an int32 class index, or
    /// float targets (float64 and integers rounded to float32 once); checked against the
    /// model's loss.
    func convertTarget(_ raw: UnsafeRawPointer, fileRow: Int, to out: UnsafeMutableRawPointer, at k: Int) throws(MiniBatchError) {
        let nOut = network.outputCount
        if readsLabels {
            let value = dataset.y.type.integer(raw, 0)
            let valid: Bool
            if let value {
                valid = network.loss == .crossEntropy ? (0..<Int64(nOut)).contains(value) : (value == 0 || value == 1)
            } else {
                valid = false
            }
            guard valid, let value else {
                let expected = network.loss == .crossEntropy ? "a class index in [0, \(nOut))" : "a 0/1 label"
                throw .invalid("y file '\(dataset.y.path)' row \(fileRow) holds \(value.map(String.init) ?? "a value too large"), not \(expected)")
            }
            out.assumingMemoryBound(to: Int32.self)[k] = Int32(value)
        } else {
            let row = out.assumingMemoryBound(to: Float.self) + k * targetWidth
            let type = dataset.y.type
            if type == .float32 {
                row.update(from: raw.assumingMemoryBound(to: Float.self), count: targetWidth)
            } else {
                for j in 0..<targetWidth { row[j] = type.float(raw, j) }
            }
            try Validate.targets(.values(row), rows: 1, for: network, firstRow: fileRow, name: "y file '\(dataset.y.path)'")
        }
    }
}
