import Testing
import CMatrix
@testable import MiniBatch

/// Dropout: the C loops against the Swift loops they stand in for (bit for bit), the rule's
/// draws, the gradient through a fixed set of masks against finite differences, and training
/// with dropout independent of the threads and continued exactly by a second call.
struct DropoutTests {
    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    @Test func theKernelEqualsThePlainLoop() throws {
        let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0, 1e30, -1e30, .leastNonzeroMagnitude]
        for rate in [0.1, 0.5, 0.97] {
            let dropout = try #require(Dropout(rate: rate, seed: 42))
            for width in Array(1...20) + [63, 64, 65, 128] {
                for (rows, firstRow) in [(1, 0), (3, 0), (5, 17), (2, 255)] {
                    var a = Fixture.uniform(rows * width, seed: UInt64(width), scale: 3)
                    for (i, value) in specials.enumerated() where i < a.count { a[(i * 7) % a.count] = value }
                    let key = Dropout.layerKey(dropout.batchKey(epoch: 3, batch: width), layer: 1)
                    var fast = [Float](repeating: 9, count: a.count), fastMask = fast
                    var plain = fast, plainMask = fast
                    dropout.apply(a, dropped: &fast, mask: &fastMask, rows: rows, width: width, key: key, firstRow: firstRow)
                    dropout.applyPlain(a, dropped: &plain, mask: &plainMask, rows: rows, width: width, key: key, firstRow: firstRow)
                    #expect(Self.bits(fast) == Self.bits(plain), "rate \(rate), width \(width)")
                    #expect(Self.bits(fastMask) == Self.bits(plainMask), "rate \(rate), width \(width)")
                    var d = Fixture.uniform(a.count, seed: 5), dPlain = d
                    Dropout.backward(&d, mask: fastMask, count: d.count)
                    Dropout.backwardPlain(&dPlain, mask: fastMask, count: d.count)
                    #expect(Self.bits(d) == Self.bits(dPlain))
                }
            }
        }
    }

    /// Rows drawn in one pass equal the same rows drawn as two chunks (the position in the
    /// batch, not in the chunk, keys a row); the fraction dropped is the rate; the kept units
    /// are scaled by 1 / (1 - rate); another batch, layer or epoch draws other masks.
    @Test func theDrawsFollowTheRule() throws {
        let rate = 0.3
        let dropout = try #require(Dropout(rate: rate, seed: 7))
        #expect(Dropout(rate: 0, seed: 7) == nil)
        #expect(dropout.threshold == 5_033_165)  // round(0.3 * 2^24 = 5,033,164.8)
        #expect(dropout.scale == Float(1 / 0.7))
        // Halves away from zero: 0.25 + 2^-25 is 4,194,304.5 draws.
        #expect(try #require(Dropout(rate: 0.25 + 0x1p-25, seed: 7)).threshold == 4_194_305)
        let rows = 256, width = 100
        let a = [Float](repeating: 1, count: rows * width)
        func masks(epoch: Int, batch: Int, layer: Int, chunks: [Range<Int>]) -> [Float] {
            var dropped = [Float](repeating: 0, count: a.count), mask = dropped
            let key = Dropout.layerKey(dropout.batchKey(epoch: epoch, batch: batch), layer: layer)
            for part in chunks {
                a.withUnsafeBufferPointer { av in
                    dropped.withUnsafeMutableBufferPointer { d in
                        mask.withUnsafeMutableBufferPointer { mk in
                            dropout.apply(
                                av.baseAddress! + part.lowerBound * width, dropped: d.baseAddress! + part.lowerBound * width,
                                mask: mk.baseAddress! + part.lowerBound * width, rows: part.count, width: width, key: key,
                                firstRow: part.lowerBound)
                        }
                    }
                }
            }
            return mask
        }
        let whole = masks(epoch: 2, batch: 5, layer: 0, chunks: [0..<rows])
        #expect(whole == masks(epoch: 2, batch: 5, layer: 0, chunks: [0..<100, 100..<rows]))
        let dropped = Double(whole.filter { $0 == 0 }.count) / Double(whole.count)
        #expect(abs(dropped - 0.3) < 5 * (0.3 * 0.7 / Double(whole.count)).squareRoot())
        #expect(whole.allSatisfy { $0 == 0 || $0 == dropout.scale })
        for other in [masks(epoch: 3, batch: 5, layer: 0, chunks: [0..<rows]),
                      masks(epoch: 2, batch: 6, layer: 0, chunks: [0..<rows]),
                      masks(epoch: 2, batch: 5, layer: 1, chunks: [0..<rows])] {
            let agree = zip(whole, other).filter { ($0 == 0) == ($1 == 0) }.count
            // Independent masks agree on about 0.3^2 + 0.7^2 = 58 % of the units.
            #expect(Double(agree) / Double(whole.count) < 0.62)
        }
    }

    /// The gradient through fixed masks (one batch's) against central differences of the
    /// cost through the same masks.
    @Test(arguments: [Activation.relu, .tanh, .sigmoid, .linear, .gelu])
    func gradientThroughTheMasksMatchesFiniteDifferences(activation: Activation) throws {
        let network = try Network(layerSizes: [4, 7, 6, 3], hiddenActivation: activation, loss: .crossEntropy, seed: 3)
        // Biases away from 0: a row whose inputs to a layer are all dropped has z = b there,
        // which a zero bias would put on the ReLU's kink.
        try network.setParameters(Fixture.uniform(network.parameterCount, seed: 4).map { $0 < 0 ? $0 - 0.1 : $0 + 0.1 })
        let m = 9
        let x = Fixture.uniform(m * 4, seed: 8)
        let classes: [Int32] = (0..<m).map { Int32($0 % 3) }
        let workspace = try Workspace(for: network, capacity: m, backward: true, dropout: true)
        let dropout = try #require(Dropout(rate: 0.4, seed: 1))
        workspace.dropout = DropoutPass(dropout: dropout, batchKey: dropout.batchKey(epoch: 0, batch: 0), firstRow: 0)
        func cost() -> Double {
            x.withUnsafeBufferPointer { xv in
                classes.withUnsafeBufferPointer { c in
                    network.costAndGradient(xv.baseAddress!, .classes(c.baseAddress!), rows: m, workspace)
                }
            }
        }
        _ = cost()
        let gradient = Array(UnsafeBufferPointer(start: workspace.gradients!, count: network.parameterCount))
        // Some units were dropped in both hidden layers, and not all.
        for l in 0..<2 {
            let mask = UnsafeBufferPointer(start: workspace.mask(l), count: m * network.layers[l].nOut)
            #expect(mask.contains(0) && mask.contains(dropout.scale))
        }
        let base = network.parameterArray
        let h: Float = 1e-2
        for i in 0..<base.count {
            var plus = base, minus = base
            plus[i] += h
            minus[i] -= h
            try network.setParameters(plus)
            let up = cost()
            try network.setParameters(minus)
            let down = cost()
            let numeric = (up - down) / Double(2 * h)
            #expect(Fixture.close(Double(gradient[i]), numeric, rtol: 2e-2, atol: 2e-3), "parameter \(i), \(activation)")
        }
        try network.setParameters(base)
    }

    static func problem() -> (x: [Float], y: [Int32]) {
        let m = 2048, n = 24
        let x = Fixture.uniform(m * n, seed: 21)
        let y: [Int32] = (0..<m).map { r in x[r * n] + x[r * n + 1] > 0 ? 1 : (x[r * n + 2] > 0.5 ? 2 : 0) }
        return (x, y)
    }

    static func train(_ network: Network, epochs: Int, threads: Int, shards: Int, seed: UInt64 = 4) throws {
        let (x, y) = problem()
        var options = TrainingOptions(epochs: epochs, batchSize: .fixed(256), learningRate: 0.05, seed: seed, threads: threads,
                                      optimizer: .adam())
        options.shards = shards
        options.dropout = 0.25
        try network.train(x: x, classes: y, features: 24, options: options)
    }

    @Test func trainingDependsOnTheShardsNotTheThreadsAndResumesExactly() throws {
        func fresh() throws -> Network { try Network(layerSizes: [24, 64, 32, 3], loss: .crossEntropy, seed: 2) }
        let one = try fresh(), two = try fresh(), split = try fresh(), plain = try fresh()
        try Self.train(one, epochs: 3, threads: 1, shards: 4)
        try Self.train(two, epochs: 3, threads: 2, shards: 4)
        #expect(one.parameterArray == two.parameterArray)
        try Self.train(split, epochs: 1, threads: 1, shards: 4)
        try Self.train(split, epochs: 2, threads: 2, shards: 4)
        #expect(split.parameterArray == one.parameterArray)
        var options = TrainingOptions(epochs: 3, batchSize: .fixed(256), learningRate: 0.05, seed: 4, threads: 1, optimizer: .adam())
        options.shards = 4
        let (x, y) = Self.problem()
        try plain.train(x: x, classes: y, features: 24, options: options)
        #expect(plain.parameterArray != one.parameterArray)
    }

    /// A first layer large enough for the fused update (plain gradient descent adds dz^T x
    /// into W after the shards' backward, once its bound proves the result finite): with
    /// dropout, every batch's update is fused and agrees with the checked update (the
    /// gradient, then the step) to rounding, as without (`TrainingTests`); and the run
    /// differs from one without dropout.
    @Test(arguments: [1, 2])
    func theFusedUpdateAgreesWithTheCheckedUpdate(threads: Int) throws {
        let m = 512, features = 256
        let x = Fixture.uniform(m * features, seed: 4, scale: 3)
        let y = (0..<m).map { Int32((x[features * $0] > 0 ? 1 : 0) + (x[features * $0 + 1] > 1 ? 1 : 0)) }
        let sizes = [features, 1024, 3]
        var options = TrainingOptions(epochs: 1, batchSize: .fixed(128), learningRate: 0.2, seed: 5, threads: threads)
        options.dropout = 0.5
        func trained(fused: Bool, _ options: TrainingOptions) throws -> (parameters: [Float], fusedUpdates: Int) {
            let network = try Network(layerSizes: sizes, hiddenActivation: .relu, seed: 3)
            var fusedUpdates = 0
            try Fixture.trainThroughStep(
                network, x: x, classes: y, features: features, outputs: 3, batchSize: 128, options: options, fused: fused
            ) { fusedUpdates = $0.fusedUpdates }
            return (network.parameterArray, fusedUpdates)
        }
        let fast = try trained(fused: true, options), checked = try trained(fused: false, options)
        #expect(fast.fusedUpdates == 4 && checked.fusedUpdates == 0)
        for (a, b) in zip(fast.parameters, checked.parameters) { #expect(abs(a - b) <= 1e-5 * (1 + abs(b))) }
        options.dropout = 0
        let plain = try trained(fused: true, options)
        #expect(zip(plain.parameters, checked.parameters).contains { abs($0 - $1) > 1e-3 })
    }

    @Test func badRatesAndModelsAreRefused() throws {
        let (x, y) = Self.problem()
        let network = try Network(layerSizes: [24, 8, 3], loss: .crossEntropy)
        for rate in [-0.5, 1, 2, .nan, .infinity] {
            var options = TrainingOptions(epochs: 1)
            options.dropout = rate
            let failure = Fixture.failure { () throws(MiniBatchError) in
                try network.train(x: x, classes: y, features: 24, options: options)
            }
            #expect(failure?.kind == .invalidArgument && failure?.message.contains("dropout must be in [0, 1)") == true)
        }
        let linear = try Network(layerSizes: [24, 3], loss: .crossEntropy)
        var options = TrainingOptions(epochs: 1)
        options.dropout = 0.5
        let failure = Fixture.failure { () throws(MiniBatchError) in try linear.train(x: x, classes: y, features: 24, options: options) }
        #expect(failure?.message.contains("needs a hidden layer") == true)
    }

    @Test func workingMemoryCountsTheMasks() throws {
        let network = try Network(layerSizes: [24, 64, 32, 3], loss: .crossEntropy)
        var options = TrainingOptions(epochs: 1, threads: 1)
        let without = network.trainingMemoryBeyondWorkingMemory(options, batchSize: 256, validationRows: 0)
        options.dropout = 0.5
        let with = network.trainingMemoryBeyondWorkingMemory(options, batchSize: 256, validationRows: 0)
        #expect(with.bytes - without.bytes == 2 * (64 + 32) * 256 * 4)
        #expect(with.what.contains("dropout"))
    }
}
