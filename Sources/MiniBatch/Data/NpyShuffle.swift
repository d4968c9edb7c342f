#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A shuffled copy of `.npy` files larger than memory, X and y together so that pairs stay
/// matched, with sequential reads and writes in bounded memory (an external shuffle).
///
/// The order (stated in `minibatch.h` at `mb_shuffle_npy`, which any language can reproduce):
/// one generator, stream (seed, 0). The rows go into K buckets of fixed sizes: bucket k holds
/// rows `floor(k m / K) ..< floor((k + 1) m / K)` of a temporary file. If K > 1, pass 1 reads
/// the inputs in order, and row i (i = 0, 1, ..., m - 1) draws j = below(m - i) and goes to
/// the first bucket k whose places left, r_0 + ... + r_k, exceed j (r_k: bucket k's size less
/// the rows it has had), after the rows it already has. Pass 2 reads the buckets in turn,
/// shuffles each in memory by Fisher-Yates, continuing the same stream (for i = c - 1 down
/// to 1, swap i and below(i + 1)), and appends it to the outputs. With K = 1 there are no
/// buckets: the order is `Permutation.make(count: m, seed:, epoch: 0)`, the in-memory shuffle's.
///
/// Each of the m! orders is equally likely if the generator's outputs are taken as
/// independent and uniform: the bucket draws are a uniform arrangement of the bucket labels
/// (probability prod(c_k!) / m!), the shuffles uniform within each bucket (1 / prod(c_k!)).
/// The generator is not ideal in one way that matters here: an order is a function of
/// (seed, m, K), so at most 2^64 of the m! orders can occur (fewer than m! from m = 21).
public enum NpyShuffle {
    /// Bytes of bookkeeping per bucket: its places left (in a Fenwick tree, so that a row
    /// finds its bucket in O(log K)), and the rows it has had.
    public static let bucketBytes = 16

    /// The number of buckets K for `m` rows of `rowBytes` bytes (X's and y's together)
    /// within `budget` bytes: the fewest k >= 1 such that the largest bucket, ceil(m / k)
    /// rows, and the bookkeeping fit: ceil(m / k) x rowBytes + 16 k <= budget. nil if no
    /// k <= m does (the budget cannot hold one row and its bucket's bookkeeping).
    /// - Complexity: from a lower bound, k moves to the next value with fewer rows per
    ///   bucket until one fits, within the interval where m x rowBytes / k + 16 k <= budget
    ///   (which every k that fits is in, as ceil(m / k) >= m / k): a few thousand steps at
    ///   most where that interval is narrow (a budget near the least any k needs), fewer
    ///   where it is wide (measured: m = 2^62 rows of 1 byte, budget 2^34 - 1, which no k
    ///   fits, took 40 s of steps from the lower bound alone).
    public static func bucketCount(rows m: Int, rowBytes: Int, memoryBudget budget: Int) -> Int? {
        guard m >= 1, rowBytes >= 1, budget >= 1 else { return nil }
        // ceil(m / k) x rowBytes <= budget needs ceil(m / k) <= budget / rowBytes, so k >=
        // ceil(m / (budget / rowBytes)); no product below can overflow from there (the
        // bookkeeping's is bounded by k <= budget / bucketBytes).
        let maxRows = budget / rowBytes
        guard maxRows >= 1 else { return nil }
        var k = (m - 1) / maxRows + 1
        var last = min(m, budget / bucketBytes)
        // The roots of 16 k^2 - budget k + m rowBytes, in Double with a margin (the integer
        // test below decides; the roots only narrow where it looks).
        let b = Double(budget), c = Double(m) * Double(rowBytes)
        let discriminant = b * b - 4 * Double(bucketBytes) * c
        if discriminant < -1e-9 * b * b { return nil }
        let root = max(0, discriminant).squareRoot()
        let low = (b - root) / Double(2 * bucketBytes), high = (b + root) / Double(2 * bucketBytes)
        if low * (1 - 1e-9) - 1 > Double(k) { k = Int(low * (1 - 1e-9)) - 1 }
        if high * (1 + 1e-9) + 2 < Double(last) { last = Int(high * (1 + 1e-9)) + 2 }
        while k <= last {
            let rows = (m - 1) / k + 1
            if rows * rowBytes <= budget - bucketBytes * k { return k }
            // A larger k with as many rows per bucket needs more bookkeeping: skip to the
            // next k with fewer rows per bucket.
            guard rows > 1 else { return nil }
            k = max(k + 1, (m - 1) / (rows - 1) + 1)
        }
        return nil
    }

    /// Bucket k's first row in the temporary file, and its row count: floor(k m / K) ..<
    /// floor((k + 1) m / K), computed without overflow.
    static func bucket(_ k: Int, of count: Int, rows m: Int) -> (start: Int, count: Int) {
        func boundary(_ k: Int) -> Int { count.dividingFullWidth(k.multipliedFullWidth(by: m)).quotient }
        let start = boundary(k)
        return (start, boundary(k + 1) - start)
    }

    /// Writes shuffled copies of `x` (and `y`) to `outX` (and `outY`): row k of each output
    /// is the same input row, in the order stated above.
    ///
    /// Any `.npy` file the dataset reader opens, of any element type, 1-D or 2-D, is taken
    /// for X and y (rows are copied as bytes), and the outputs keep its dtype and shape.
    /// Memory: at most `memoryBudget` bytes of buffers (one bucket of X and y rows, or in
    /// pass 1 a chunk of input rows and a buffer per bucket, and 16 bytes per bucket).
    /// Disk: the temporary file of the buckets (the size of the data, already unlinked, so
    /// nothing is left even after a crash), in `temporaryDirectory`, by default the
    /// directory of `outX`, and the outputs, each written beside its target and renamed over
    /// it when both are complete. Reads and writes are sequential, but for pass 1's writes,
    /// which go to K places in turn. Pages of files larger than half the memory this process
    /// may use are dropped from the page cache as they are read, and written ones flushed
    /// and dropped.
    /// - Parameters:
    ///   - y, outY: both nil to shuffle X alone.
    ///   - memoryBudget: 0: `FileReadOptions.automaticBudget()`.
    ///   - temporaryDirectory: where the bucket file goes (nil: beside `outX`).
    /// - Throws: `.invalidArgument` for an empty path, y without y_out (or the reverse), an
    ///   output that is an input or the other output, X and y of different row counts, a
    ///   budget too small for one row; `.io` for files that cannot be read or written;
    ///   `.format` for a malformed `.npy` file. Nothing is written to the targets then.
    /// - Complexity: two reads and two writes of the data (one of each with K = 1).
    public static func shuffle(
        x: String, y: String?, outX: String, outY: String?, seed: UInt64, memoryBudget: Int = 0,
        temporaryDirectory: String? = nil
    ) throws(MiniBatchError) {
        for (name, path) in [("x_in", x), ("y_in", y), ("x_out", outX), ("y_out", outY), ("temp_dir", temporaryDirectory)] {
            if let path, path.isEmpty { throw .invalid("\(name) is empty") }
        }
        guard (y == nil) == (outY == nil) else {
            throw .invalid("y_in and y_out go together: give both, or neither to shuffle X alone")
        }
        guard memoryBudget >= 0 else { throw .invalid("memory_budget must be 0 (automatic) or positive, got \(memoryBudget)") }
        let named = [("x_in", x), ("y_in", y), ("x_out", outX), ("y_out", outY)].compactMap { n, p in p.map { (n, $0) } }
        for (i, (name, path)) in named.enumerated() where name.hasSuffix("_out") {
            for (other, otherPath) in named[..<i] where File.same(path, otherPath) {
                throw .invalid("\(name) '\(path)' is the same file as \(other) '\(otherPath)': the outputs must be new files")
            }
        }
        try File.checkTarget(outX, "x_out")
        if let outY { try File.checkTarget(outY, "y_out") }
        let budget = memoryBudget == 0 ? FileReadOptions.automaticBudget() : memoryBudget
        let xFile = try NpyFile(path: x, role: "X")
        var yFile: NpyFile? = nil
        if let y {
            yFile = try NpyFile(path: y, role: "y")
            guard yFile!.rows == xFile.rows else {
                throw .invalid("X has \(xFile.rows) rows but y has \(yFile!.rows): X and y must have the same number of rows")
            }
        }
        let directory = temporaryDirectory ?? File.directory(of: outX)
        if let temporaryDirectory {
            var info = stat()
            guard stat(temporaryDirectory, &info) == 0 else {
                throw MiniBatchError(.io, "cannot use temp_dir '\(temporaryDirectory)': \(File.reason())")
            }
            guard info.st_mode & S_IFMT == S_IFDIR else { throw MiniBatchError(.io, "temp_dir '\(temporaryDirectory)' is not a directory") }
        }
        let m = xFile.rows, rowBytes = xFile.rowBytes + (yFile?.rowBytes ?? 0)
        guard let bucketCount = bucketCount(rows: m, rowBytes: rowBytes, memoryBudget: budget) else {
            throw .invalid("memory_budget \(budget) bytes is too small to shuffle '\(x)' (\(m) rows of \(rowBytes) bytes\(y == nil ? "" : ", X and y")): the smallest that works is \(minimumBudget(rows: m, rowBytes: rowBytes)) bytes (the largest bucket and 16 bytes per bucket)")
        }
        let releasesPages = FilePageCache.auto.releases(
            fileBytes: xFile.expectedSize.addingSaturated(yFile?.expectedSize ?? 0), usableMemory: SystemMemory.usable())
        var job = try Job(x: xFile, y: yFile, buckets: bucketCount, releasesPages: releasesPages)
        defer { job.release() }
        let outputX = try NpyOutput(path: outX, type: xFile.type, shape: xFile.shape, releasesPages: releasesPages)
        var outputY: NpyOutput? = nil
        if let outY, let yFile {
            outputY = try NpyOutput(path: outY, type: yFile.type, shape: yFile.shape, releasesPages: releasesPages)
        }
        var generator = Generator(seed: seed, stream: 0)
        if bucketCount == 1 {
            try job.shuffleInMemory(&generator, to: outputX, outputY)
        } else {
            try job.distribute(&generator, temporaryDirectory: directory)
            try job.shuffleBuckets(&generator, to: outputX, outputY)
        }
        try outputX.finishWriting()
        try outputY?.finishWriting()
        try outputX.moveIntoPlace()
        try outputY?.moveIntoPlace()
    }

    /// The smallest budget any bucket count takes for these rows (for the message).
    private static func minimumBudget(rows m: Int, rowBytes: Int) -> Int {
        var best = Int.max, k = 1
        while k <= m {
            let rows = (m - 1) / k + 1
            let (bytes, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
            if !overflow { best = min(best, bytes + bucketBytes * k) }
            if bucketBytes * k > best { break }
            k = rows == 1 ? m + 1 : (m - 1) / (rows - 1) + 1  // the next k with fewer rows per bucket
        }
        return best
    }

    /// Swaps rows i and j of `rowBytes` bytes in place, a word at a time (no scratch row).
    @inline(__always)
    static func swapRows(_ base: UnsafeMutableRawPointer, _ i: Int, _ j: Int, _ rowBytes: Int) {
        let a = base + i * rowBytes, b = base + j * rowBytes
        var offset = 0
        while offset + 8 <= rowBytes {
            let t = a.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            a.storeBytes(of: b.loadUnaligned(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
            b.storeBytes(of: t, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < rowBytes {
            let t = a.load(fromByteOffset: offset, as: UInt8.self)
            a.storeBytes(of: b.load(fromByteOffset: offset, as: UInt8.self), toByteOffset: offset, as: UInt8.self)
            b.storeBytes(of: t, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
    }
}
