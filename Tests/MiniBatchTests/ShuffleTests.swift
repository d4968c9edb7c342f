import Testing
@testable import MiniBatch
import CMatrix

struct PermutationTests {
    @Test func matchesTheDocumentedFisherYates() throws {
        // From an independent implementation of the header's contract.
        #expect(try Permutation.make(count: 10, seed: 42, epoch: 0) == [2, 8, 5, 1, 6, 4, 0, 3, 9, 7])
        #expect(try Permutation.make(count: 10, seed: 42, epoch: 1) == [3, 1, 2, 6, 9, 4, 5, 8, 0, 7])
        #expect(try Permutation.make(count: 13, seed: 0, epoch: 5) == [11, 1, 8, 12, 0, 9, 3, 7, 2, 6, 4, 5, 10])
    }

    @Test(arguments: [1, 2, 3, 64, 1000])
    func isAPermutation(m: Int) throws {
        let perm = try Permutation.make(count: m, seed: 7, epoch: 3)
        #expect(perm.sorted() == Array(0..<m))
    }

    @Test func sameSeedSameOrderOtherEpochOtherOrder() throws {
        let a = try Permutation.make(count: 500, seed: 11, epoch: 4)
        #expect(try a == Permutation.make(count: 500, seed: 11, epoch: 4))
        #expect(try a != Permutation.make(count: 500, seed: 11, epoch: 5))
        #expect(try a != Permutation.make(count: 500, seed: 12, epoch: 4))
    }
}

struct ShuffleTests {
    /// X rows (i, 10 i, 100 i) and labels i: after a paired shuffle, row k still has label
    /// x / 1 and comes from row perm[k].
    @Test func inPlaceKeepsPairsAndFollowsThePermutation() throws {
        let m = 257, width = 3
        var x = (0..<m).flatMap { i in [Float(i), Float(10 * i), Float(100 * i)] }
        var y = (0..<m).map { Int32($0) }
        try x.withUnsafeMutableBytes { xs in
            try y.withUnsafeMutableBytes { ys in
                try Shuffle.inPlace(xs.baseAddress!, xRowBytes: 12, ys.baseAddress!, yRowBytes: 4, count: m, seed: 5, epoch: 2)
            }
        }
        let perm = try Permutation.make(count: m, seed: 5, epoch: 2)
        for k in 0..<m {
            #expect(y[k] == Int32(perm[k]))
            #expect(x[k * width] == Float(y[k]) && x[k * width + 1] == Float(10 * y[k]) && x[k * width + 2] == Float(100 * y[k]))
        }
        #expect(y.sorted() == (0..<Int32(m)).map { $0 })
    }

    @Test func intoEqualsInPlace() throws {
        let m = 100
        let x = Fixture.uniform(m * 5)
        let y = Fixture.classes(m, classes: 4)
        var xInPlace = x, yInPlace = y
        var xOut = [Float](repeating: 0, count: m * 5), yOut = [Int32](repeating: 0, count: m)
        try xInPlace.withUnsafeMutableBytes { xs in
            try yInPlace.withUnsafeMutableBytes { ys in
                try Shuffle.inPlace(xs.baseAddress!, xRowBytes: 20, ys.baseAddress!, yRowBytes: 4, count: m, seed: 1, epoch: 9)
            }
        }
        try x.withUnsafeBytes { xs in
            try y.withUnsafeBytes { ys in
                try xOut.withUnsafeMutableBytes { xo in
                    try yOut.withUnsafeMutableBytes { yo in
                        try Shuffle.into(xo.baseAddress!, yo.baseAddress!, xs.baseAddress!, xRowBytes: 20,
                                         ys.baseAddress!, yRowBytes: 4, count: m, seed: 1, epoch: 9)
                    }
                }
            }
        }
        #expect(xOut == xInPlace)
        #expect(yOut == yInPlace)
    }

    /// Rows of several times `gatherBytesPerThread` are copied on several threads (0.12.0),
    /// each its own part of the output: every row where the permutation puts it, x's and y's
    /// alike, and the bytes beyond the output untouched.
    @Test(arguments: [1, 3, 17])
    func intoOnThreadsIsThePermutation(yWidth: Int) throws {
        let xRowBytes = 52, m = 3 * Shuffle.gatherBytesPerThread / xRowBytes + 7
        let threads = Shuffle.gatherThreads(bytes: m * (xRowBytes + yWidth))
        #expect(threads == min(3, BLASThreads.available, BLASThreads.maxTeam))
        let x = (0..<m * xRowBytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / xRowBytes) }
        let y = (0..<m * yWidth).map { UInt8(truncatingIfNeeded: $0 / yWidth &* 13 &+ $0) }
        var xOut = [UInt8](repeating: 0xA5, count: m * xRowBytes + 64), yOut = [UInt8](repeating: 0x5A, count: m * yWidth + 64)
        try x.withUnsafeBytes { xs in
            try y.withUnsafeBytes { ys in
                try xOut.withUnsafeMutableBytes { xo in
                    try yOut.withUnsafeMutableBytes { yo in
                        try Shuffle.into(xo.baseAddress!, yo.baseAddress!, xs.baseAddress!, xRowBytes: xRowBytes,
                                         ys.baseAddress!, yRowBytes: yWidth, count: m, seed: 5, epoch: 2)
                    }
                }
            }
        }
        let perm = try Permutation.make(count: m, seed: 5, epoch: 2)
        var wrong = 0
        for k in 0..<m where xOut[k * xRowBytes..<(k + 1) * xRowBytes].elementsEqual(x[perm[k] * xRowBytes..<(perm[k] + 1) * xRowBytes]) == false
            || yOut[k * yWidth..<(k + 1) * yWidth].elementsEqual(y[perm[k] * yWidth..<(perm[k] + 1) * yWidth]) == false {
            wrong += 1
        }
        #expect(wrong == 0)
        #expect(xOut[(m * xRowBytes)...].allSatisfy { $0 == 0xA5 } && yOut[(m * yWidth)...].allSatisfy { $0 == 0x5A })
    }
}

struct GatherTests {
    /// The split gather (X held in part, the rest in a mapping of its file: `FileMapping`)
    /// takes row r from the first buffer below the split and from the second from it on, and
    /// copies and measures what one gather from X whole does.
    @Test(arguments: [0, 1, 5, 11])
    func splitGatherTakesEachRowFromItsPart(split: Int) {
        let m = 11, width = 37
        let x = (0..<m * width).map { Float($0) * 0.25 - 40 }
        // Each part holds NaN where the other is read.
        let held = x.indices.map { $0 / width < split ? x[$0] : .nan }
        let rest = x.indices.map { $0 / width < split ? .nan : x[$0] }
        let rows = [3, 10, 0, 3, 7, 5, 4, 9]
        var expected = [Float](repeating: -1, count: rows.count * width), got = expected
        let whole = expected.withUnsafeMutableBufferPointer { out in
            rows.withUnsafeBufferPointer { Shuffle.gatherRowsMeasuredPlain(out.baseAddress!, x, features: width, rows: $0) }
        }
        let parts = got.withUnsafeMutableBufferPointer { out in
            Magnitude(bits: mbm_gather_measured_split(out.baseAddress!, held, split, rest, width, rows, rows.count, 2))
        }
        #expect(got == expected)
        #expect(parts == whole && parts.isFinite)
    }

    /// The measured gather copies what the plain gather copies and returns the largest
    /// |x| of the rows it read; a NaN or Inf anywhere in them (every position of rows whose
    /// widths cover the vector loop's tails) makes that non-finite. The fast path (C, for the
    /// CPU's vector width) returns what the readable Swift loop returns, in every case.
    @Test(arguments: [1, 3, 8, 17, 37, 784])
    func measuredGatherCopiesLikeTheGatherAndFindsEveryBadValue(width: Int) {
        let m = 11
        let source = (0..<m * width).map { Float($0) * 0.5 - 7 }
        let rows = [3, 10, 0, 3, 7]
        var plain = [Float](repeating: -1, count: rows.count * width)
        var measured = plain
        plain.withUnsafeMutableBytes { out in
            source.withUnsafeBytes { src in
                rows.withUnsafeBufferPointer {
                    Shuffle.gatherRows(out.baseAddress!, src.baseAddress!, rowBytes: width * 4, rows: $0)
                }
            }
        }
        func gather(_ x: [Float]) -> Magnitude {
            var reference = [Float](repeating: -2, count: rows.count * width)
            let expected = reference.withUnsafeMutableBufferPointer { out in
                rows.withUnsafeBufferPointer { Shuffle.gatherRowsMeasuredPlain(out.baseAddress!, x, features: width, rows: $0) }
            }
            let got = measured.withUnsafeMutableBufferPointer { out in
                rows.withUnsafeBufferPointer { Shuffle.gatherRowsMeasured(out.baseAddress!, x, features: width, rows: $0) }
            }
            #expect(got == expected)
            #expect(measured.withUnsafeBytes { Array($0) } == reference.withUnsafeBytes { Array($0) })
            return got
        }
        let magnitude = gather(source)
        #expect(magnitude.isFinite)
        #expect(measured == plain)
        #expect(plain == rows.flatMap { source[$0 * width..<($0 + 1) * width] })
        #expect(magnitude.value == plain.map(\.magnitude).max()!)
        // The largest |x| is found wherever it is, and whatever its sign.
        for position in 0..<width {
            for value: Float in [-1e30, 1e30] {
                var big = source
                big[7 * width + position] = value
                #expect(gather(big).value == 1e30)
            }
        }
        for value in [Float.nan, .infinity, -.infinity] {
            for position in 0..<width {
                var bad = source
                bad[7 * width + position] = value
                #expect(!gather(bad).isFinite, "\(value) at column \(position) of width \(width)")
                // A bad value in a row the gather does not read goes unseen.
                bad = source
                bad[1 * width + position] = value
                #expect(gather(bad) == magnitude)
            }
        }
    }

    /// `Magnitude(_:count:)` (`mbm_magnitude`, at the CPU's vector width) equals its plain
    /// loop at every length up to past two AVX-512 vectors and a row of W1, whatever the
    /// values: the largest |x| found in every position, NaN and ±Inf always seen,
    /// denormals and ±0 measured like any other value.
    @Test func magnitudeEqualsItsPlainLoop() {
        let values = Fixture.uniform(800, seed: 23)
        for count in Array(0...40) + [127, 128, 131, 784] {
            func check(_ x: [Float], _ what: String) {
                let fast = x.withUnsafeBufferPointer { Magnitude($0.baseAddress!, count: count) }
                let plain = x.withUnsafeBufferPointer { Magnitude.measuredPlain($0.baseAddress!, count: count) }
                #expect(fast == plain, "\(what), count \(count)")
            }
            check(values, "uniform")
            for position in stride(from: 0, to: count, by: max(1, count / 9)) {
                for value: Float in [.nan, .infinity, -.infinity, 1e30, -1e30, .leastNonzeroMagnitude, -0.0, 0] {
                    var x = values
                    x[position] = value
                    check(x, "\(value) at \(position)")
                    if value.isNaN || value.isInfinite {
                        #expect(!x.withUnsafeBufferPointer { Magnitude($0.baseAddress!, count: count) }.isFinite)
                    }
                }
            }
        }
        // Past `count`: not read.
        var x = values
        x[5] = .nan
        #expect(x.withUnsafeBufferPointer { Magnitude($0.baseAddress!, count: 5) }.isFinite)
    }
}

struct PartitionTests {
    @Test(arguments: [(1, 1), (10, 3), (64, 64), (1000, 64), (1000, 1), (999, 128)])
    func keepCoversEveryRowExactlyOnce(m: Int, batchSize: Int) {
        let partition = Partition(count: m, batchSize: batchSize, lastBatch: .keep)
        var seen = [Int](repeating: 0, count: m)
        for batch in partition.batches { for row in batch { seen[row] += 1 } }
        #expect(seen.allSatisfy { $0 == 1 })
        #expect(partition.batchCount == (m + batchSize - 1) / batchSize)
        #expect(partition.batches.dropLast().allSatisfy { $0.count == batchSize })
    }

    @Test func dropLeavesOutOnlyThePartialBatch() {
        let partition = Partition(count: 1000, batchSize: 64, lastBatch: .drop)
        #expect(partition.batchCount == 15)
        #expect(partition.batches.allSatisfy { $0.count == 64 })
        #expect(partition.batches.last!.upperBound == 960)
    }
}
