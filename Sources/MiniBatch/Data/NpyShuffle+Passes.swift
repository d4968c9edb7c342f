#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: - The external shuffle's two passes

extension NpyShuffle {
    /// The buffers and files of one shuffle.
    struct Job {
        let x: NpyFile
        let y: NpyFile?
        let m: Int
        let buckets: Int
        let releasesPages: Bool
        let xRow: Int, yRow: Int
        /// Rows of the largest bucket.
        let capacity: Int
        /// (capacity, xRow + yRow) bytes: a bucket's X rows then its y rows (pass 2); a
        /// chunk of input rows and the buckets' buffers (pass 1).
        let area: UnsafeMutableRawPointer
        /// The temporary file of the buckets: X's rows of all buckets, then y's.
        var scratch: Int32 = -1
        var scratchWritten = 0, scratchReleased = 0

        init(x: NpyFile, y: NpyFile?, buckets: Int, releasesPages: Bool) throws(MiniBatchError) {
            self.x = x
            self.y = y
            m = x.rows
            self.buckets = buckets
            self.releasesPages = releasesPages
            xRow = x.rowBytes
            yRow = y?.rowBytes ?? 0
            capacity = (m - 1) / buckets + 1
            area = UnsafeMutableRawPointer(try allocate(UInt8.self, count: capacity * (xRow + yRow), for: "a bucket of rows", hugePages: true))
        }

        func release() {
            deallocate(area.assumingMemoryBound(to: UInt8.self))
            if scratch >= 0 { close(scratch) }
        }

        /// K = 1: all rows in memory, shuffled by the generator as `Shuffle.inPlace` would.
        func shuffleInMemory(_ generator: inout Generator, to outX: NpyOutput, _ outY: NpyOutput?) throws(MiniBatchError) {
            let xs = area, ys = area + m * xRow
            try read(rows: 0, count: m, x: xs, y: ys)
            try shuffleAndWrite(xs, ys, count: m, &generator, outX, outY)
        }

        /// Reads input rows first ..< first + count into `xs` and `ys`.
        private func read(rows first: Int, count: Int, x xs: UnsafeMutableRawPointer, y ys: UnsafeMutableRawPointer) throws(MiniBatchError) {
            try x.readRows(first, count: count, into: xs)
            try y?.readRows(first, count: count, into: ys)
            if releasesPages {
                x.release(first, count: count)
                y?.release(first, count: count)
            }
        }

        /// Fisher-Yates over `count` rows of X and y in memory (continuing `generator`),
        /// then appends them to the outputs.
        private func shuffleAndWrite(
            _ xs: UnsafeMutableRawPointer, _ ys: UnsafeMutableRawPointer, count: Int, _ generator: inout Generator,
            _ outX: NpyOutput, _ outY: NpyOutput?
        ) throws(MiniBatchError) {
            let xRow = xRow, yRow = yRow
            Permutation.forEachSwap(count: count, &generator) { i, j in
                NpyShuffle.swapRows(xs, i, j, xRow)
                if yRow > 0 { NpyShuffle.swapRows(ys, i, j, yRow) }
            }
            try outX.append(xs, rows: count)
            try outY?.append(ys, rows: count)
        }

        /// Pass 1: reads the inputs in order and puts each row in its bucket of the
        /// temporary file, through a buffer per bucket (written when full), or directly
        /// when the budget leaves less than a row per bucket.
        mutating func distribute(_ generator: inout Generator, temporaryDirectory: String) throws(MiniBatchError) {
            scratch = try File.anonymous(in: temporaryDirectory)
            let k = buckets, rowBytes = xRow + yRow
            let chunkRows = max(1, capacity / 2)
            let buffered = (capacity - chunkRows) / k  // rows per bucket buffer; 0: none
            let chunkX = area, chunkY = area + chunkRows * xRow
            let bufferX = area + chunkRows * rowBytes, bufferY = bufferX + k * buffered * xRow
            let places = try BucketPlaces(count: k) { NpyShuffle.bucket($0, of: k, rows: m).count }
            defer { places.release() }
            let had = try allocate(Int.self, count: k, for: "the buckets' rows")  // rows each bucket has
            defer { deallocate(had) }
            had.initialize(repeating: 0, count: k)
            var first = 0
            while first < m {
                let count = min(chunkRows, m - first)
                try read(rows: first, count: count, x: chunkX, y: chunkY)
                for r in 0..<count {
                    let b = places.take(Int(generator.below(UInt64(m - first - r))))
                    let slot = had[b]
                    had[b] += 1
                    if buffered == 0 {
                        try writeBucketRows(b, from: slot, count: 1, x: chunkX + r * xRow, y: chunkY + r * yRow)
                    } else {
                        let at = b * buffered + slot % buffered
                        (bufferX + at * xRow).copyMemory(from: chunkX + r * xRow, byteCount: xRow)
                        (bufferY + at * yRow).copyMemory(from: chunkY + r * yRow, byteCount: yRow)
                        if had[b] % buffered == 0 {
                            try writeBucketRows(b, from: had[b] - buffered, count: buffered,
                                                x: bufferX + b * buffered * xRow, y: bufferY + b * buffered * yRow)
                        }
                    }
                }
                first += count
            }
            if buffered > 0 {
                for b in 0..<k where had[b] % buffered != 0 {
                    let left = had[b] % buffered
                    try writeBucketRows(b, from: had[b] - left, count: left, x: bufferX + b * buffered * xRow, y: bufferY + b * buffered * yRow)
                }
            }
            if releasesPages { try releaseScratch() }
        }

        /// Writes `count` rows to bucket `b` of the temporary file, from its row `slot` on.
        private mutating func writeBucketRows(
            _ b: Int, from slot: Int, count: Int, x xs: UnsafeRawPointer, y ys: UnsafeRawPointer
        ) throws(MiniBatchError) {
            let row = NpyShuffle.bucket(b, of: buckets, rows: m).start + slot
            try File.writeFully(scratch, xs, count: count * xRow, at: row * xRow, what: "the shuffle's temporary file")
            if yRow > 0 {
                try File.writeFully(scratch, ys, count: count * yRow, at: m * xRow + row * yRow, what: "the shuffle's temporary file")
            }
            scratchWritten += count * (xRow + yRow)
            if releasesPages, scratchWritten - scratchReleased >= AtomicFile.releaseBytes { try releaseScratch() }
        }

        /// Flushes the temporary file's written pages and drops them from the page cache.
        private mutating func releaseScratch() throws(MiniBatchError) {
            guard fdatasync(scratch) == 0 else {
                throw MiniBatchError(.io, "cannot flush the shuffle's temporary file: \(File.reason())")
            }
            _ = posix_fadvise(scratch, 0, 0, POSIX_FADV_DONTNEED)
            scratchReleased = scratchWritten
        }

        /// Pass 2: each bucket in turn, read whole, shuffled, appended to the outputs.
        func shuffleBuckets(_ generator: inout Generator, to outX: NpyOutput, _ outY: NpyOutput?) throws(MiniBatchError) {
            let xs = area, ys = area + capacity * xRow
            let what = "the shuffle's temporary file"
            for b in 0..<buckets {
                let (start, count) = NpyShuffle.bucket(b, of: buckets, rows: m)
                try File.readFully(scratch, xs, count: count * xRow, at: start * xRow, what: what)
                if yRow > 0 { try File.readFully(scratch, ys, count: count * yRow, at: m * xRow + start * yRow, what: what) }
                if releasesPages {
                    _ = posix_fadvise(scratch, off_t(start * xRow), off_t(count * xRow), POSIX_FADV_DONTNEED)
                    if yRow > 0 { _ = posix_fadvise(scratch, off_t(m * xRow + start * yRow), off_t(count * yRow), POSIX_FADV_DONTNEED) }
                }
                try shuffleAndWrite(xs, ys, count: count, &generator, outX, outY)
            }
        }
    }
}

/// The places left in each of K buckets, in a Fenwick tree, so that the bucket a draw names
/// is found and taken in O(log K) (the plain search, `bucket k with r_0 + ... + r_k > j`, would
/// take O(K) per row).
struct BucketPlaces {
    /// Node t (1...K) at t - 1: the places left in buckets t - lowbit(t) + 1 ... t.
    private let tree: UnsafeMutablePointer<Int>
    private let count: Int
    /// The largest power of two <= K: where the descent starts.
    private let top: Int

    init(count: Int, places: (Int) -> Int) throws(MiniBatchError) {
        self.count = count
        tree = try allocate(Int.self, count: count, for: "the buckets' places")
        for b in 0..<count { tree[b] = places(b) }
        for t in 1...count where t + (t & -t) <= count { tree[t + (t & -t) - 1] += tree[t - 1] }
        var top = 1
        while top * 2 <= count { top *= 2 }
        self.top = top
    }

    func release() { deallocate(tree) }

    /// Takes a place in the first bucket k whose places left, counted from bucket 0, exceed
    /// `j` (r_0 + ... + r_k > j, with j below the places left in all), and returns k.
    func take(_ j: Int) -> Int {
        var rest = j, position = 0, step = top
        while step > 0 {  // the largest position with r_0 + ... + r_{position - 1} <= j
            let next = position + step
            if next <= count, tree[next - 1] <= rest {
                position = next
                rest -= tree[next - 1]
            }
            step >>= 1
        }
        var t = position + 1
        while t <= count {
            tree[t - 1] -= 1
            t += t & -t
        }
        return position
    }
}
