import Testing
#if canImport(Glibc)
import Glibc
#endif
import MiniBatch

/// Boundary values a Swift user may pass to the public API, each of which ended the process
/// (a trap, an abort, a heap overwrite or a hang) before it was checked: found by a hunt
/// that called every public entry point from a program written against the API alone. Each
/// must now throw a `MiniBatchError` (this file imports MiniBatch without `@testable`, as a
/// user does).
struct PublicBoundaryTests {
    /// Results returned as Swift arrays larger than the memory the process may use: Swift's
    /// allocator ends the process when it cannot allocate an array.
    @Test func aNegativeMemoryBudgetIsRefusedWithAFixedBatchSizeToo() throws {
        let network = try Network(layerSizes: [2, 4, 2], hiddenActivation: .relu, loss: .crossEntropy, seed: 1)
        let (x, y) = try Moons.make(count: 64, noise: 0.1, seed: 1)
        for batch in [BatchSize.fixed(16), .automatic] {
            var options = TrainingOptions(epochs: 1, batchSize: batch, learningRate: 0.1, threads: 1)
            options.memoryBudget = -1
            let error = Fixture.failure { () throws(MiniBatchError) in
                try network.train(x: x, classes: y, features: 2, options: options)
            }
            #expect(error?.kind == .invalidArgument && error?.message.contains("memory_budget") == true)
        }
        #expect(network.epochsTrained == 0)
    }

    @Test func arraysTooLargeForMemoryAreOutOfMemory() throws {
        let wide = try Network(layerSizes: [1, 1 << 20], hiddenActivations: [], loss: .meanSquaredError)
        // 2^20 rows x 2^20 outputs: 4 TiB of floats.
        #expect(throws: MiniBatchError.self) { _ = try wide.predict(x: [Float](repeating: 1, count: 1 << 20), features: 1) }
        do {
            _ = try wide.predict(x: [Float](repeating: 1, count: 1 << 20), features: 1)
        } catch {
            #expect(error.kind == .outOfMemory)
            #expect(error.message.contains("bytes this process may use"))
        }
        for count in [1 << 44, Int.max / 8] {
            do {
                _ = try Moons.make(count: count)
                Issue.record("Moons.make(count: \(count)) returned")
            } catch {
                #expect(error.kind == .outOfMemory)
            }
        }
        do {
            _ = try Permutation.make(count: 1 << 60, seed: 0, epoch: 0)
            Issue.record("a permutation of 2^60 rows returned")
        } catch {
            #expect(error.kind == .outOfMemory)
        }
        #expect(try Permutation.make(count: 0, seed: 0, epoch: 0).isEmpty)
        do {
            _ = try Permutation.make(count: -1, seed: 0, epoch: 0)
            Issue.record("a permutation of -1 rows returned")
        } catch {
            #expect(error.kind == .invalidArgument)
        }
    }

    /// The same from a file dataset: 2^20 rows of one feature, 2^20 outputs.
    @Test func predictionsOfAFileDatasetTooLargeForMemoryAreOutOfMemory() throws {
        var template = Array("/tmp/minibatch-boundary-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer {
            unlink(dir + "/x.npy")
            unlink(dir + "/y.npy")
            rmdir(dir)
        }
        let m = 1 << 20
        Self.writeNpy(dir + "/x.npy", descr: "<f4", shape: "(\(m), 1)", bytes: 4 * m)
        Self.writeNpy(dir + "/y.npy", descr: "<f4", shape: "(\(m), 1)", bytes: 4 * m)
        let wide = try Network(layerSizes: [1, 1 << 20], hiddenActivations: [], loss: .meanSquaredError)
        let data = try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy")
        do {
            _ = try wide.predict(data)
            Issue.record("4 TiB of predictions returned")
        } catch {
            #expect(error.kind == .outOfMemory || error.kind == .invalidArgument)
        }
    }

    /// Row sizes and counts of the shuffles: a negative count trapped, a negative row size
    /// overwrote the heap (in place) or looped for 2^58 cache lines (into).
    @Test func shufflesRefuseNegativeSizes() throws {
        var a = [Float](repeating: 0, count: 4), b = a
        func expectInvalid(_ body: () throws -> Void) {
            do {
                try body()
                Issue.record("returned")
            } catch {
                #expect((error as? MiniBatchError)?.kind == .invalidArgument)
            }
        }
        try a.withUnsafeMutableBytes { out in
            try b.withUnsafeMutableBytes { input in
                expectInvalid { try Shuffle.into(out.baseAddress!, nil, input.baseAddress!, xRowBytes: 4, nil, yRowBytes: 0, count: -1, seed: 0, epoch: 0) }
                expectInvalid { try Shuffle.into(out.baseAddress!, nil, input.baseAddress!, xRowBytes: -4, nil, yRowBytes: 0, count: 2, seed: 0, epoch: 0) }
                expectInvalid { try Shuffle.into(out.baseAddress!, nil, out.baseAddress!, xRowBytes: 4, nil, yRowBytes: 0, count: 2, seed: 0, epoch: 0) }
                expectInvalid { try Shuffle.inPlace(input.baseAddress!, xRowBytes: -4, nil, yRowBytes: 0, count: 4, seed: 0, epoch: 0) }
                expectInvalid { try Shuffle.inPlace(input.baseAddress!, xRowBytes: 4, input.baseAddress!, yRowBytes: 4, count: 4, seed: 0, epoch: 0) }
                expectInvalid { try Shuffle.inPlace(input.baseAddress!, xRowBytes: 4, nil, yRowBytes: -1, count: 4, seed: 0, epoch: 0) }
                // and a valid call still shuffles: 4 rows of one float
                for i in 0..<4 { input.storeBytes(of: Float(i), toByteOffset: 4 * i, as: Float.self) }
                try Shuffle.into(out.baseAddress!, nil, input.baseAddress!, xRowBytes: 4, nil, yRowBytes: 0, count: 4, seed: 3, epoch: 0)
            }
        }
        #expect(try a.map { Int($0) } == Permutation.make(count: 4, seed: 3, epoch: 0))
    }

    /// The external shuffle's bucket rule overflowed (a trap) or walked billions of values of
    /// k at the largest sizes (40 s for 2^62 rows and a budget just below the least any k
    /// needs): now nil at once where no bucket count fits, and the same answers as a search
    /// of every k.
    @Test func bucketCountAtTheLargestSizes() {
        #expect(NpyShuffle.bucketCount(rows: 1 << 62, rowBytes: 1, memoryBudget: 1) == nil)
        #expect(NpyShuffle.bucketCount(rows: .max, rowBytes: 1, memoryBudget: 15) == nil)
        #expect(NpyShuffle.bucketCount(rows: .max, rowBytes: .max, memoryBudget: .max) == nil)
        #expect(NpyShuffle.bucketCount(rows: 1 << 62, rowBytes: 1, memoryBudget: (1 << 34) - 1) == nil)
        #expect(NpyShuffle.bucketCount(rows: .max, rowBytes: 1, memoryBudget: 24_296_003_997) == nil)
        // 2^62 rows of 1 byte: 16 k + 2^62 / k is least at k = 2^29, 2^34 bytes
        #expect(NpyShuffle.bucketCount(rows: 1 << 62, rowBytes: 1, memoryBudget: 1 << 34) == 1 << 29)
        #expect(NpyShuffle.bucketCount(rows: 1 << 62, rowBytes: 1, memoryBudget: 1 << 40) != nil)
        // the rule itself: the fewest k with ceil(m / k) x rowBytes + 16 k <= budget
        struct SplitMix: RandomNumberGenerator {  // seeded: the same cases every run
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }
        var generator = SplitMix(state: 20_261_206)
        var cases = [(1000, 8, 4000), (10, 100, 1000), (1, 1, 17), (7, 3, 60)]
        for _ in 0..<3000 {
            let m = Int.random(in: 1...400, using: &generator), row = Int.random(in: 1...64, using: &generator)
            cases.append((m, row, Int.random(in: 1...(m * row + 16 * m), using: &generator)))
        }
        for (m, row, budget) in cases {
            let k = NpyShuffle.bucketCount(rows: m, rowBytes: row, memoryBudget: budget)
            let fits = { (k: Int) in ((m - 1) / k + 1) * row + 16 * k <= budget }
            let expected = (1...m).first(where: fits)
            #expect(k == expected, "m \(m) row \(row) budget \(budget)")
        }
    }

    /// A communicator whose size is 1 when first read and 0 after: the training read it
    /// again after checking it, and indexed an empty gather (a trap). Its rank and size are
    /// now read once, when the distribution is made.
    @Test func aCommunicatorThatChangesItsSizeIsReadOnce() throws {
        final class Fickle: Communicator, @unchecked Sendable {
            var reads = 0
            var rank: Int { 0 }
            var size: Int {
                reads += 1
                return reads == 1 ? 1 : 0
            }
            func allreduceSum(_ data: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) {}
            func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws(MiniBatchError) {
                receive.copyMemory(from: UnsafeRawBufferPointer(rebasing: send[0..<min(send.count, receive.count)]))
            }
            func broadcast(_ data: UnsafeMutableRawBufferPointer, root: Int) throws(MiniBatchError) {}
        }
        let network = try Network(layerSizes: [2, 4, 2], hiddenActivation: .tanh, loss: .crossEntropy, seed: 1)
        let (x, y) = try Moons.make(count: 64, seed: 2)
        var options = TrainingOptions(epochs: 2, batchSize: .fixed(16))
        options.distribution = Distribution(Fickle())
        try network.train(x: x, classes: y, features: 2, options: options)
        #expect(network.epochsTrained == 2)
    }

    /// A version 1.0 `.npy` file of `bytes` zero bytes (sparse beyond its header).
    static func writeNpy(_ path: String, descr: String, shape: String, bytes: Int) {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var prefix: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        prefix += Array(header.utf8)
        let file = fopen(path, "wb")!
        _ = prefix.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        truncate(path, off_t(prefix.count + bytes))
    }
}
