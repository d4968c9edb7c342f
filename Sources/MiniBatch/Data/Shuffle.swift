#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CIntrinsics
import CMatrix

/// Shuffles the rows of X and y together, so that pairs stay matched.
///
/// Rows are opaque bytes of any width: any element type and any number of columns. The
/// order is `Permutation.make(count: m, seed:, epoch:)`: shuffled row k is original row perm[k].
public enum Shuffle {
    /// Shuffles `m` rows of `x` (and of `y`, if given) in place with one permutation.
    /// Throws `.invalidArgument` for sizes `Validate.shuffle` refuses, or x and y that overlap.
    /// - Complexity: O(m * (xRowBytes + yRowBytes)); memory: one row.
    public static func inPlace(
        _ x: UnsafeMutableRawPointer, xRowBytes: Int,
        _ y: UnsafeMutableRawPointer?, yRowBytes: Int,
        count m: Int, seed: UInt64, epoch: UInt64
    ) throws(MiniBatchError) {
        let (xBytes, yBytes) = try Validate.shuffle(count: m, xRowBytes: xRowBytes, hasY: y != nil, yRowBytes: yRowBytes)
        if let y, overlaps(x, xBytes, y, yBytes) { throw .invalid("x and y overlap") }
        let scratch = try allocate(UInt8.self, count: max(xRowBytes, yRowBytes), for: "one row")
        defer { deallocate(scratch) }
        var generator = Generator(seed: seed, stream: epoch)
        Permutation.forEachSwap(count: m, &generator) { i, j in
            swapRows(x, i, j, xRowBytes, scratch)
            if let y { swapRows(y, i, j, yRowBytes, scratch) }
        }
    }

    /// Writes the shuffled rows into `xOut` (and `yOut`): row k of the output is row perm[k]
    /// of the input. Throws `.invalidArgument` for sizes `Validate.shuffle` refuses, y without
    /// yOut or the reverse, or outputs that overlap the inputs or each other. From 8 MiB of
    /// rows they are copied on several threads (`gatherThreads`), with the same result.
    public static func into(
        _ xOut: UnsafeMutableRawPointer, _ yOut: UnsafeMutableRawPointer?,
        _ x: UnsafeRawPointer, xRowBytes: Int,
        _ y: UnsafeRawPointer?, yRowBytes: Int,
        count m: Int, seed: UInt64, epoch: UInt64
    ) throws(MiniBatchError) {
        guard (y == nil) == (yOut == nil) else {
            throw .invalid(y == nil ? "y is NULL but y_out is not" : "y_out is NULL but y is not")
        }
        let (xBytes, yBytes) = try Validate.shuffle(count: m, xRowBytes: xRowBytes, hasY: y != nil, yRowBytes: yRowBytes)
        func checkApart(_ out: UnsafeRawPointer, _ outBytes: Int, _ outName: String) throws(MiniBatchError) {
            if overlaps(out, outBytes, x, xBytes) {
                throw .invalid("\(outName) overlaps x (use mb_shuffle to shuffle in place)")
            }
            if let y, overlaps(out, outBytes, y, yBytes) {
                throw .invalid("\(outName) overlaps y (use mb_shuffle to shuffle in place)")
            }
        }
        try checkApart(xOut, xBytes, "x_out")
        if let yOut {
            try checkApart(yOut, yBytes, "y_out")
            if overlaps(xOut, xBytes, yOut, yBytes) { throw .invalid("x_out and y_out overlap") }
        }
        let perm = try allocate(Int.self, count: m, for: "the permutation")
        defer { deallocate(perm) }
        Permutation.fill(UnsafeMutableBufferPointer(start: perm, count: m), seed: seed, epoch: epoch)
        let order = UnsafeBufferPointer(start: perm, count: m)
        // Rows [start, end) of the output, on one thread.
        func copy(_ start: Int, _ end: Int) {
            let rows = UnsafeBufferPointer(rebasing: order[start..<end])
            gatherRows(xOut + start * xRowBytes, x, rowBytes: xRowBytes, rows: rows)
            if let y, let yOut { gatherRows(yOut + start * yRowBytes, y, rowBytes: yRowBytes, rows: rows) }
        }
        let wanted = gatherThreads(bytes: xBytes + yBytes)
        // The team training keeps, at its own size (the result does not depend on it), or a
        // new one; one thread if none can be had.
        guard wanted > 1, let team = Team.borrowKept() ?? (try? Team(size: wanted)) else { return copy(0, m) }
        defer { team.giveBack() }
        let parts = min(wanted, team.size)
        team.run { t in
            if t < parts { copy(t * m / parts, (t + 1) * m / parts) }
        }
    }

    /// Bytes of rows a further thread of `into` copies at least (the first copies any).
    static let gatherBytesPerThread = 4 << 20

    /// Threads `into` wants for `bytes` of rows: one per full `gatherBytesPerThread` (so a
    /// second from 8 MiB), up to training's automatic count (`BLASThreads.available`:
    /// OPENBLAS_NUM_THREADS, else the CPUs); `into` runs no more than the team it borrows
    /// has (the kept one, at its own size, when there is one). A random gather waits on memory, and each thread keeps its own reads in flight.
    /// Measured on an Intel Xeon (Emerald Rapids, 2 vCPUs; 1,000,000 rows of 400 bytes and a
    /// 4-byte y, `bench/bench.py --only shuffle`): 0.095 s on one thread, 0.050 s on two
    /// (`bench/runs/xeon-emr`), where numpy's `X[perm], y[perm]` took 0.18 s. The rows land
    /// where one thread would put them: the result does not depend on the threads.
    static func gatherThreads(bytes: Int) -> Int {
        max(1, min(BLASThreads.available, BLASThreads.maxTeam, bytes / gatherBytesPerThread))
    }

    /// Rows a gather reads ahead of the one it copies.
    static let readAhead = 8

    /// Whether two byte ranges share a byte.
    private static func overlaps(_ a: UnsafeRawPointer, _ aBytes: Int, _ b: UnsafeRawPointer, _ bBytes: Int) -> Bool {
        a < b + bBytes && b < a + aBytes
    }

    /// out row k = source row rows[k]: the gather that builds a mini-batch from a permutation.
    static func gatherRows(
        _ out: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, rowBytes: Int,
        rows: UnsafeBufferPointer<Int>
    ) {
        forEachRowReadAhead(count: rows.count, rowBytes: rowBytes, row: { source + rows[$0] * rowBytes }) { k, row in
            memcpy(out + k * rowBytes, row, rowBytes)
        }
    }

    /// `gatherRows` for rows of floats that also returns the largest |x| it copied (a NaN
    /// or Inf makes it non-finite): the check of X's values, and the bound the fused
    /// update needs (`TrainingStep`), cost no pass of their own.
    /// Runs `gatherRowsMeasuredPlain`'s loop compiled for the CPU's vector width
    /// (`mbm_gather_measured`, CMatrix/rows.c, which says what it was measured on); tested equal.
    static func gatherRowsMeasured(
        _ out: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, features: Int,
        rows: UnsafeBufferPointer<Int>
    ) -> Magnitude {
        Magnitude(bits: mbm_gather_measured(out, source, features, rows.baseAddress, rows.count, readAhead))
    }

    /// The readable form of `gatherRowsMeasured`.
    static func gatherRowsMeasuredPlain(
        _ out: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, features: Int,
        rows: UnsafeBufferPointer<Int>
    ) -> Magnitude {
        var magnitude = Magnitude()
        let rowBytes = features * MemoryLayout<Float>.stride
        forEachRowReadAhead(count: rows.count, rowBytes: rowBytes, row: { UnsafeRawPointer(source + rows[$0] * features) }) { k, row in
            let from = row.assumingMemoryBound(to: Float.self), to = out + k * features
            for i in 0..<features {
                let v = from[i]
                to[i] = v
                magnitude.add(v)
            }
        }
        return magnitude
    }

    /// Calls `body(k, row(k))` for each k in 0..<count in order, with row k + `readAhead`
    /// (`rowBytes` long) prefetched while row k is used, so that the cache misses of rows in
    /// random order overlap.
    @inline(__always)
    static func forEachRowReadAhead(
        count: Int, rowBytes: Int, row: (Int) -> UnsafeRawPointer,
        _ body: (Int, UnsafeRawPointer) -> Void
    ) {
        let ahead = min(readAhead, count)
        for k in 0..<ahead { minibatch_prefetch(row(k), rowBytes) }
        for k in 0..<count {
            if k + ahead < count { minibatch_prefetch(row(k + ahead), rowBytes) }
            body(k, row(k))
        }
    }

    @inline(__always)
    static func swapRows(
        _ base: UnsafeMutableRawPointer, _ i: Int, _ j: Int, _ rowBytes: Int,
        _ scratch: UnsafeMutablePointer<UInt8>
    ) {
        let a = base + i * rowBytes, b = base + j * rowBytes
        memcpy(scratch, a, rowBytes)
        memcpy(a, b, rowBytes)
        memcpy(b, scratch, rowBytes)
    }
}
