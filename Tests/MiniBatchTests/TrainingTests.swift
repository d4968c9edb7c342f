import Testing
@testable import MiniBatch

/// Training against the seed's promises and against a hand-computed reference step.
struct TrainingTests {
    static let moons = try! Moons.make(count: 3000, noise: 0.15, seed: 4)

    func tanhNetwork(seed: UInt64 = 1) throws -> Network {
        try Network(layerSizes: [2, 16, 16, 2], hiddenActivation: .tanh, loss: .crossEntropy, seed: seed)
    }

    @Test(arguments: [200, 1000])
    func oneFullBatchStepIsParametersMinusRateTimesGradient(rows: Int) throws {
        // Bit for bit: `gradient` takes a batch of more than 256 rows in the chunks training does.
        try Self.expectOneStepIsMinusRateTimesGradient(
            try tanhNetwork(), x: Array(Self.moons.x[0..<2 * rows]), classes: Array(Self.moons.y[0..<rows]), features: 2)
    }

    /// One full-batch step of 0.1 on one thread leaves parameters - 0.1 * `gradient`, bit for bit.
    static func expectOneStepIsMinusRateTimesGradient(
        _ network: Network, x: [Float], classes y: [Int32], features: Int
    ) throws {
        let before = network.parameterArray
        let (_, gradient) = try network.gradient(x: x, classes: y, features: features)
        try network.train(x: x, classes: y, features: features,
                          options: TrainingOptions(epochs: 1, batchSize: .fixed(y.count), learningRate: 0.1, shuffle: false,
                                                   threads: 1))
        let expected = zip(before, gradient).map { $0 - 0.1 * $1 }
        #expect(network.parameterArray == expected)
    }

    /// The same with products whose kernel `gradient` must choose as a training step does:
    /// the output layer's x W^T (256 rows x 16 x 256, past 2^19 multiply-adds) runs on
    /// libxsmm through a copy of W^T in a training step's products only (matrix.c,
    /// `MatrixBackend.trainingProducts`), where OpenBLAS would round its 16 columns otherwise
    /// (checked: without the flag in `gradient` this fails under OPENBLAS_CORETYPE=Haswell
    /// on the Xeon; OpenBLAS's SkylakeX kernels gave libxsmm's bits at this shape).
    @Test func gradientRunsTheProductsAsATrainingStepDoes() throws {
        let rows = 512
        try Self.expectOneStepIsMinusRateTimesGradient(
            try Network(layerSizes: [16, 256, 16], loss: .crossEntropy, seed: 3),
            x: Fixture.uniform(rows * 16, seed: 5, scale: 2), classes: (0..<rows).map { Int32($0 * 7 % 16) }, features: 16)
    }

    /// `TrainingOptions.flushesDenormals` (0.12.0): subnormals flushed to zero while the batches
    /// run (the default), or kept. Linear regression from W = 0, b = 0 on features of 2^-130 and
    /// 2^-129 with y = 1, one full-batch step of 0.5: MSE's gradient is -2 x, so W = x exactly
    /// when subnormals are kept, and W = 0 when they are read as 0; the bias (gradient -2)
    /// moves to 1 either way. The caller's own arithmetic keeps subnormals after the call.
    @Test(arguments: [true, false])
    func subnormalsAreFlushedWhileTheBatchesRun(flush: Bool) throws {
        let x: [Float] = (0..<16).map { $0 % 2 == 0 ? 0x1p-130 : 0x1p-129 }
        let network = try Network(layerSizes: [2, 1], loss: .meanSquaredError, seed: 0)
        try network.setParameters([0, 0, 0])
        var options = TrainingOptions(epochs: 1, batchSize: .fixed(8), learningRate: 0.5, threads: 1)
        #expect(options.flushesDenormals)
        options.flushesDenormals = flush
        try network.train(x: x, values: [Float](repeating: 1, count: 8), features: 2, options: options)
        #if arch(x86_64)
        let expected: [Float] = flush ? [0, 0, 1] : [0x1p-130, 0x1p-129, 1]
        #else
        let expected: [Float] = [0x1p-130, 0x1p-129, 1]  // (no flushing elsewhere)
        #endif
        #expect(network.parameterArray == expected)
        let tiny = x[0]
        #expect(tiny * 1 > 0)
    }

    /// Every member of a team of 3 works in the mode asked for, in every phase of every step
    /// (gradient, update: each ORs its FTZ and DAZ bits into its slot), whatever mode its
    /// thread had: the caller flushes, and every member's thread is set to flush before the
    /// call; kept, every member clears both bits for its phases; flushed, sets both. The
    /// caller's own mode is back after each call.
    @Test func everyMemberWorksInTheModeAskedFor() throws {
        let m = 256, features = 64, threads = 3
        let x = Fixture.uniform(m * features, seed: 2)
        let y = (0..<m).map { Int32($0 % 3) }
        let network = try Network(layerSizes: [features, 512, 3], seed: 1)
        #expect(network.parameterCount >= TrainingStep.minimumSplitUpdate)
        var seen: [[Int32]] = []
        let modes = UnsafeMutablePointer<Int32>.allocate(capacity: threads)
        defer { modes.deallocate() }
        for flush in [false, true] {
            var options = TrainingOptions(epochs: 1, batchSize: .fixed(128), learningRate: 0.1, threads: threads)
            options.optimizer = .sgd(momentum: 0.9)
            options.flushesDenormals = flush
            let partition = Partition(count: m, batchSize: 128, lastBatch: options.lastBatch)
            modes.initialize(repeating: 0, count: threads)
            let before = SubnormalMode.bits
            let outcome: Result<Int, MiniBatchError> = SubnormalMode.with(flushing: true) {
                do throws(MiniBatchError) {
                    let step = try TrainingStep(for: network, partition: partition, options: options)
                    defer { step.finish() }
                    step.team.run { _ in SubnormalMode.set(flushing: true) }
                    step.subnormalModes = modes
                    try x.withUnsafeBufferPointer { xs throws(MiniBatchError) in
                        try y.withUnsafeBufferPointer { ys throws(MiniBatchError) in
                            let data = DataView(x: xs.baseAddress!, targets: .classes(ys.baseAddress!), count: m, features: features)
                            let source = try MemoryBatches(data, partition: partition, outputs: 3, options: options)
                            try network.train(source, partition: partition, step: step, options: options, history: nil, progress: nil)
                        }
                    }
                    #if arch(x86_64)
                    #expect(SubnormalMode.flushing)
                    #endif
                    return .success(step.team.size)
                } catch {
                    return .failure(error)
                }
            }
            #expect(try outcome.get() == threads)
            #expect(SubnormalMode.bits == before)
            seen.append(Array(UnsafeBufferPointer(start: modes, count: threads)))
        }
        #if arch(x86_64)
        #expect(seen == [[0, 0, 0], [0x8040, 0x8040, 0x8040]])
        #else
        #expect(seen == [[0, 0, 0], [0, 0, 0]])
        #endif
    }

    /// Mini-batch steps, fused (W += -rate dz^T x in BLAS, proven finite; with W kept
    /// transposed, W^T += x^T (-rate dz)) or checked (the gradient, then the update into the
    /// spare buffer), against full-batch steps on each batch's rows (parameters - rate *
    /// gradient, as the test above shows), in both layouts of the first layer's W.
    @Test(arguments: [1, 2], [false, true])
    func fusedAndCheckedStepsAreParametersMinusRateTimesGradient(threads: Int, transposed: Bool) throws {
        let m = 512, features = 256
        let x = Fixture.uniform(m * features, seed: 4, scale: 3)
        let y = (0..<m).map { Int32((x[features * $0] > 0 ? 1 : 0) + (x[features * $0 + 1] > 1 ? 1 : 0)) }
        let sizes = [features, 1024, 3]
        #expect(sizes[0] * sizes[1] >= TrainingStep.minimumFusedWeights)
        let options = TrainingOptions(epochs: 1, batchSize: .fixed(128), learningRate: 0.2, shuffle: false, threads: threads)
        let reference = try Network(layerSizes: sizes, hiddenActivation: .relu, seed: 3)
        for b in 0..<4 {
            try reference.train(x: Array(x[b * 128 * features..<(b + 1) * 128 * features]), classes: Array(y[b * 128..<(b + 1) * 128]),
                                features: features, options: TrainingOptions(
                                    epochs: 1, batchSize: .fixed(128), learningRate: 0.2, shuffle: false, threads: threads))
        }
        var fusedCounts: [Int] = []
        for fused in [true, false] {
            let network = try Network(layerSizes: sizes, hiddenActivation: .relu, seed: 3)
            #expect(TrainingStep.shards(rows: 128, network: network, team: threads) == threads)
            try Fixture.trainThroughStep(
                network, x: x, classes: y, features: features, outputs: 3, batchSize: 128, options: options,
                fused: fused, transposed: transposed
            ) { step in
                #expect(step.transposesFirstWeights == transposed)
                fusedCounts.append(step.fusedUpdates)
            }
            for (a, b) in zip(network.parameterArray, reference.parameterArray) {
                #expect(abs(a - b) <= 1e-5 * (1 + abs(b)), "fused \(fused): \(a) against \(b)")
            }
        }
        #expect(fusedCounts == [4, 0])
    }

    /// The first layer's update in either layout of its W (fused, or the checked way) is
    /// shared among the members by whole blocks of the matrix's rows (W's units, W^T's
    /// inputs), each block one product on any number of members: with the same layout (3
    /// shards), 1, 2 and 3 threads give the same weights, bit for bit. 784 inputs and 400
    /// units (each 16 more than a multiple of 64, where libxsmm's AVX-512 kernels sum the last
    /// 16 of C^T's rows in partial sums that depend on how many rows a call is given).
    @Test(arguments: [false, true], [false, true])
    func firstLayerUpdatesDependOnTheLayoutNotTheThreads(transposed: Bool, fused: Bool) throws {
        let m = 576, features = 784, sizes = [features, 400, 3]
        let x = Fixture.uniform(m * features, seed: 6, scale: 2)
        let y = (0..<m).map { Int32(x[features * $0] > 0 ? 1 : ($0 % 3 == 0 ? 2 : 0)) }
        var results: [[UInt32]] = []
        for threads in [1, 2, 3] {
            var options = TrainingOptions(epochs: 2, batchSize: .fixed(192), learningRate: 0.05, seed: 5, threads: threads)
            options.shards = 3
            let network = try Network(layerSizes: sizes, hiddenActivation: .relu, seed: 4)
            try Fixture.trainThroughStep(
                network, x: x, classes: y, features: features, outputs: 3, batchSize: 192, options: options,
                fused: fused, transposed: transposed
            ) { step in
                #expect(step.fusedUpdates == (fused ? 6 : 0), "\(threads) threads")
                #expect(step.shardsUsed == 3 && step.updateMembers == threads, "\(threads) threads")
            }
            results.append(network.parameterArray.map(\.bitPattern))
        }
        #expect(results[1] == results[0])
        #expect(results[2] == results[0])
    }

    /// A batch with less work than two shards need (the layout's rule) is one shard on any
    /// number of threads: the weights are one thread's, bit for bit. From that work on it is
    /// two shards, whose weights are one thread's with the same layout.
    /// A schedule whose rate leaves Float's range is refused before a batch trains with it,
    /// naming the schedule (it ran, and was reported as divergence, "try a smaller
    /// learning_rate", until 0.12.5); as for any `.invalidArgument`, the in-memory call leaves
    /// the model as it was.
    @Test func aScheduledRateBeyondFloatIsRefused() throws {
        let x = Fixture.uniform(64 * 2, seed: 4), y = Fixture.classes(64, classes: 2)
        let cases: [(Schedule, Bool, String, Int)] = [
            (.exponential(gamma: 1e308), false, "batch 1 of 4 in epoch 2 of 3 a learning rate of inf", 0),
            (.cosine(period: 1000, minimum: 1e308), true, "batch 1 of 4 in epoch 1 of 3 a learning rate of -inf", 0),
            (.oneCycle(period: 1, pctStart: 0, divFactor: 1e-308, finalDivFactor: 1e-308), true, "batch 1 of 4 in epoch 1 of 3 a learning rate of -nan", 0),
        ]
        for (schedule, perBatch, place, trained) in cases {
            let network = try Network(layerSizes: [2, 4, 2], hiddenActivation: .relu, loss: .crossEntropy, seed: 1)
            var options = TrainingOptions(epochs: 3, batchSize: .fixed(16), learningRate: 0.1, schedule: schedule)
            options.schedulePerBatch = perBatch
            let failure = Fixture.failure { () throws(MiniBatchError) in try network.train(x: x, classes: y, features: 2, options: options) }
            #expect(failure?.kind == .invalidArgument, "\(schedule): \(String(describing: failure))")
            #expect(failure?.message.hasPrefix("the schedule gives \(place), not a finite float") == true,
                    "\(schedule): \(String(describing: failure))")
            #expect(network.epochsTrained == trained, "\(schedule): \(String(describing: failure))")
            #expect(network.parameterArray.allSatisfy { $0.isFinite })
        }
    }

    /// A subnormal epsilon, read as 0 where subnormals are flushed (the default), made a step
    /// of a zero gradient 0 / 0, reported as divergence (until 0.12.5): refused before
    /// training, naming flush_denormals; with subnormals kept it trains.
    @Test func aSubnormalEpsilonIsRefusedWhereSubnormalsAreFlushed() throws {
        let x = Fixture.uniform(64 * 2, seed: 4), y = Fixture.classes(64, classes: 2)
        for rule in [Optimizer.adadelta(rho: 1, epsilon: 1e-45), .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-40)] {
            let network = try Network(layerSizes: [2, 4, 2], hiddenActivation: .relu, loss: .crossEntropy, seed: 1)
            var options = TrainingOptions(epochs: 2, batchSize: .fixed(16), learningRate: 0.1, optimizer: rule)
            let failure = Fixture.failure { () throws(MiniBatchError) in try network.train(x: x, classes: y, features: 2, options: options) }
            #expect(failure?.kind == .invalidArgument && failure?.message.contains("is a subnormal float, which training reads as 0 while it flushes subnormals") == true,
                    "\(rule): \(String(describing: failure))")
            #expect(network.epochsTrained == 0)
            options.flushesDenormals = false
            try network.train(x: x, classes: y, features: 2, options: options)
            #expect(network.epochsTrained == 2)
        }
    }

    @Test func smallBatchesAreOneShard() throws {
        let sizes = [64, 32, 4], m = 512
        let x = Fixture.uniform(m * sizes[0], seed: 8, scale: 1)
        let y = (0..<m).map { Int32($0 % 4) }
        func run(batch: Int, threads: Int, shards: Int) throws -> [Float] {
            let network = try Network(layerSizes: sizes, hiddenActivation: .relu, seed: 5)
            var options = TrainingOptions(epochs: 1, batchSize: .fixed(batch), learningRate: 0.1, seed: 2, threads: threads)
            options.shards = shards
            try network.train(x: x, classes: y, features: sizes[0], options: options)
            return network.parameterArray
        }
        // 2,212 parameters, 2,276 work a row: a shard needs 32,768 + 3 x 2,212 = 39,404,
        // two shards 35 rows.
        let network = try Network(layerSizes: sizes)
        #expect(TrainingStep.shards(rows: 34, network: network, team: 2) == 1)
        #expect(TrainingStep.shards(rows: 35, network: network, team: 2) == 2)
        for batch in [8, 32] {
            #expect(try run(batch: batch, threads: 2, shards: 0) == (try run(batch: batch, threads: 1, shards: 0)))
        }
        let two = try run(batch: 64, threads: 2, shards: 0)
        #expect(two == (try run(batch: 64, threads: 1, shards: 2)))
        #expect(two != (try run(batch: 64, threads: 1, shards: 0)))
    }

    /// A training call makes room for its costs before an epoch's first batch, at most
    /// `reserveLimit` costs' worth of epochs at a time but at least one epoch, however many
    /// batches it has: no record grows the history.
    @Test(arguments: [40, 10])
    func theHistoryMakesRoomBeforeEachEpoch(limit: Int) throws {
        let network = try Network(layerSizes: [2, 8, 2], seed: 1)
        let history = History()
        history.reserveLimit = limit
        let m = 256, x = Fixture.uniform(m * 2, seed: 3), y = (0..<m).map { Int32($0 % 2) }
        let options = TrainingOptions(epochs: 10, batchSize: .fixed(16), learningRate: 0.1, seed: 1)
        try network.train(x: x, classes: y, features: 2, options: options, history: history)
        #expect(history.batchCosts.count == 160 && history.epochCosts.count == 10)
        #expect(history.reservations == (limit == 40 ? 5 : 10))
        #expect(history.growthsWhileRecording == 0)
        #expect(history.batchCosts.capacity >= 160)
    }

    /// The mean cost and gradient of all the rows in one forward and one backward pass
    /// (`Network.gradient` takes them in chunks, as training does).
    static func onePassGradient(_ network: Network, x: [Float], classes: [Int32]) throws -> (Double, [Float]) {
        let workspace = try Workspace(for: network, capacity: classes.count, backward: true)
        let cost = x.withUnsafeBufferPointer { xs in
            classes.withUnsafeBufferPointer { ys in
                network.costAndGradient(xs.baseAddress!, .classes(ys.baseAddress!), rows: classes.count, workspace)
            }
        }
        return (cost, Array(UnsafeBufferPointer(start: workspace.gradients!, count: network.parameterCount)))
    }

    /// Shards of more than `Network.chunkRows` rows are gathered, run forward and
    /// backward a chunk at a time, the chunks' gradients added up: each step (shuffled
    /// batches of 600 rows, and one batch of all 1,200 rows) equals the parameters minus rate
    /// times the gradient of one pass over the batch's rows, and each batch's cost is that
    /// pass's cost.
    @Test(arguments: [1, 2])
    func chunkedStepsAreParametersMinusRateTimesOnePassGradient(threads: Int) throws {
        let m = 1200, features = 20, sizes = [20, 32, 3]
        let x = Fixture.uniform(m * features, seed: 7, scale: 2)
        let y = (0..<m).map { Int32(x[features * $0] > 0 ? (x[features * $0 + 1] > 0 ? 2 : 1) : 0) }
        for batchSize in [600, m] {
            let network = try Network(layerSizes: sizes, hiddenActivation: .relu, seed: 5)
            let options = TrainingOptions(epochs: 1, batchSize: .fixed(batchSize), learningRate: 0.1, seed: 21, threads: threads)
            // Each member's buffers hold one chunk, not its shard.
            let step = try TrainingStep(
                for: network, partition: Partition(count: m, batchSize: batchSize, lastBatch: options.lastBatch), options: options)
            #expect(step.workspaces.count == threads && step.workspaces.allSatisfy { $0.capacity == Network.chunkRows })
            step.finish()
            // The reference: one pass over each batch's rows, in the order the gather takes them.
            let order = try batchSize < m ? Permutation.make(count: m, seed: 21, epoch: 0) : Array(0..<m)
            let reference = try Network(layerSizes: sizes, hiddenActivation: .relu, seed: 5)
            var costs: [Double] = []
            for b in 0..<(m / batchSize) {
                let rows = order[b * batchSize..<(b + 1) * batchSize]
                let (cost, gradient) = try Self.onePassGradient(
                    reference, x: rows.flatMap { x[$0 * features..<($0 + 1) * features] }, classes: rows.map { y[$0] })
                try reference.setParameters(zip(reference.parameterArray, gradient).map { $0 - 0.1 * $1 })
                costs.append(cost)
            }
            let history = History()
            try network.train(x: x, classes: y, features: features, options: options, history: history)
            for (a, b) in zip(network.parameterArray, reference.parameterArray) {
                #expect(abs(a - b) <= 1e-5 * (1 + abs(b)), "batch \(batchSize): \(a) against \(b)")
            }
            #expect(history.batchCosts.count == costs.count)
            for (a, b) in zip(history.batchCosts, costs) { #expect(abs(a - b) <= 1e-6 * b, "batch \(batchSize): cost \(a) against \(b)") }
        }
    }

    @Test func shuffledBatchesAreTheRowsOfThePermutation() throws {
        // Training with shuffling equals training without it on data pre-shuffled by the
        // documented permutation: the gather is the shuffle.
        let m = 300
        let x = Array(Self.moons.x[0..<2 * m]), y = Array(Self.moons.y[0..<m])
        let perm = try Permutation.make(count: m, seed: 21, epoch: 0)
        let xs = perm.flatMap { [x[2 * $0], x[2 * $0 + 1]] }, ys = perm.map { y[$0] }
        let a = try tanhNetwork(), b = try tanhNetwork()
        try a.train(x: x, classes: y, features: 2, options: TrainingOptions(epochs: 1, batchSize: .fixed(32), learningRate: 0.2, seed: 21))
        try b.train(x: xs, classes: ys, features: 2, options: TrainingOptions(epochs: 1, batchSize: .fixed(32), learningRate: 0.2, shuffle: false))
        #expect(a.parameterArray == b.parameterArray)
    }

    @Test func fullBatchUsesTheRowsWhereTheyAre() throws {
        // One batch of all m rows: shuffling is skipped (it cannot change the gradient
        // except for rounding), so it equals training without shuffling, bit for bit.
        let a = try tanhNetwork(), b = try tanhNetwork()
        try a.train(x: Self.moons.x, classes: Self.moons.y, features: 2,
                    options: TrainingOptions(epochs: 3, batchSize: .fixed(3000), learningRate: 0.1, seed: 5))
        try b.train(x: Self.moons.x, classes: Self.moons.y, features: 2,
                    options: TrainingOptions(epochs: 3, batchSize: .fixed(3000), learningRate: 0.1, shuffle: false))
        #expect(a.parameterArray.map(\.bitPattern) == b.parameterArray.map(\.bitPattern))
    }

    @Test func batchGradientDescentCostFallsEveryEpoch() throws {
        let network = try tanhNetwork()
        let history = History()
        try network.train(x: Self.moons.x, classes: Self.moons.y, features: 2,
                          options: TrainingOptions(epochs: 60, batchSize: .fixed(3000), learningRate: 0.1), history: history)
        #expect(history.epochCosts.count == 60 && history.batchCosts.count == 60)
        #expect(zip(history.epochCosts, history.epochCosts.dropFirst()).allSatisfy { $1 < $0 })
    }

    @Test func miniBatchCostOscillatesLocallyAndFallsGlobally() throws {
        let network = try tanhNetwork()
        let history = History()
        try network.train(x: Self.moons.x, classes: Self.moons.y, features: 2,
                          options: TrainingOptions(epochs: 20, batchSize: .fixed(64), learningRate: 0.1), history: history)
        let costs = history.batchCosts
        #expect(costs.count == 20 * 47)
        let rises = zip(costs, costs.dropFirst()).filter { $1 > $0 }.count
        #expect(rises > costs.count / 10, "mini-batch cost should go up and down, rose \(rises) times")
        let firstEpoch = costs[0..<47].reduce(0, +) / 47, lastEpoch = costs[(costs.count - 47)...].reduce(0, +) / 47
        #expect(lastEpoch < 0.5 * firstEpoch)
        #expect(history.epochCosts.last! < history.epochCosts.first!)
    }

    /// While the batches run, the first layer's W (with its rule state and kept previous
    /// values) is transposed (`TrainingStep.arrangeFirstWeights`); outside them it is in the
    /// model's layout: after each epoch of one call, the progress callback and validation see
    /// what one call per epoch leaves, bit for bit, with plain descent and with a rule that
    /// has state. A transposed W leaking out of the batches would give other weights there,
    /// or train on from a scrambled W.
    @Test(arguments: [Optimizer.gradientDescent, .adam()])
    func outsideTheBatchesTheFirstWeightsAreInTheModelsLayout(optimizer: Optimizer) throws {
        let m = 640, features = 6, sizes = [6, 9, 3]
        let x = Fixture.uniform(m * features, seed: 8, scale: 2)
        let y = (0..<m).map { Int32(x[features * $0] > 0 ? (x[features * $0 + 1] > 0 ? 2 : 1) : 0) }
        var options = TrainingOptions(epochs: 3, batchSize: .fixed(64), learningRate: 0.05, seed: 4, threads: 2,
                                      optimizer: optimizer)
        options.validationFraction = 0.2
        let once = try Network(layerSizes: sizes, hiddenActivation: .tanh, seed: 2)
        #expect(TrainingStep.transposesFirstWeights(once))
        var seen: [[Float]] = []
        let onceHistory = History()
        try once.train(x: x, classes: y, features: features, options: options, history: onceHistory) { _ in
            seen.append(once.parameterArray)
            return .proceed
        }
        options.epochs = 1
        let each = try Network(layerSizes: sizes, hiddenActivation: .tanh, seed: 2)
        let eachHistory = History()
        var after: [[Float]] = []
        for _ in 0..<3 {
            try each.train(x: x, classes: y, features: features, options: options, history: eachHistory)
            after.append(each.parameterArray)
        }
        #expect(seen.count == 3)
        for (a, b) in zip(seen, after) { #expect(a.map(\.bitPattern) == b.map(\.bitPattern)) }
        #expect(onceHistory.validationCosts.map(\.bitPattern) == eachHistory.validationCosts.map(\.bitPattern))
        #expect(onceHistory.validationCosts.allSatisfy { $0.isFinite })
    }

    /// `arrangeFirstWeights` transposes W in the parameters, the rule's state and, while they
    /// are kept for a roll-back, the previous parameters and state; and puts them back.
    @Test func arrangingTheFirstWeightsTransposesEveryCopy() throws {
        let network = try Network(layerSizes: [5, 3, 2], hiddenActivation: .tanh, seed: 1)
        let options = TrainingOptions(epochs: 1, batchSize: .fixed(8), learningRate: 0.1, threads: 1, optimizer: .adam())
        let step = try TrainingStep(for: network, partition: Partition(count: 16, batchSize: 8, lastBatch: options.lastBatch),
                                    options: options)
        defer { step.finish() }
        let count = network.parameterCount
        let buffers = [network.parameters, step.spare] + network.trainingState.slots + step.stateSpares
        for (k, buffer) in buffers.enumerated() {
            for i in 0..<count { buffer[i] = Float(k * 1000 + i) }
        }
        let before = buffers.map { Array(UnsafeBufferPointer(start: $0, count: count)) }
        // W (3, 5) at offset 0 becomes W^T (5, 3); the biases and the layer above stay.
        func transposed(_ values: [Float]) -> [Float] {
            var out = values
            for i in 0..<3 { for j in 0..<5 { out[j * 3 + i] = values[i * 5 + j] } }
            return out
        }
        for keeps in [false, true] {
            step.keepsPrevious = keeps
            step.arrangeFirstWeights(transposed: true)
            #expect(step.firstWeightsTransposed)
            for (k, buffer) in buffers.enumerated() {
                let now = Array(UnsafeBufferPointer(start: buffer, count: count))
                let moved = k == 0 || k == 2 || k == 3 || keeps  // parameters and state always; kept copies while kept
                #expect(now == (moved ? transposed(before[k]) : before[k]), "buffer \(k), keeps \(keeps)")
            }
            step.arrangeFirstWeights(transposed: false)
            for (k, buffer) in buffers.enumerated() {
                #expect(Array(UnsafeBufferPointer(start: buffer, count: count)) == before[k], "buffer \(k) back, keeps \(keeps)")
            }
        }
    }

    @Test func sameSeedGivesBitIdenticalWeights() throws {
        let options = TrainingOptions(epochs: 3, batchSize: .fixed(128), learningRate: 0.3, seed: 77)
        let a = try tanhNetwork(), b = try tanhNetwork(), c = try tanhNetwork()
        try a.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options)
        try b.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options)
        var other = options
        other.seed = 78
        try c.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: other)
        #expect(a.parameterArray.map(\.bitPattern) == b.parameterArray.map(\.bitPattern))
        #expect(a.parameterArray != c.parameterArray)
    }

    @Test func continuingTrainingEqualsOneLongRun() throws {
        let a = try tanhNetwork(), b = try tanhNetwork()
        var options = TrainingOptions(epochs: 4, batchSize: .fixed(100), learningRate: 0.2, seed: 3)
        try a.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options)
        options.epochs = 2
        try b.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options)
        try b.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options)
        #expect(a.parameterArray == b.parameterArray)
        #expect(a.epochsTrained == 4 && b.epochsTrained == 4)
    }

    @Test func aLearnableProblemReachesHighAccuracy() throws {
        let network = try tanhNetwork()
        try network.train(x: Self.moons.x, classes: Self.moons.y, features: 2,
                          options: TrainingOptions(epochs: 100, batchSize: .fixed(64), learningRate: 0.3))
        let test = try Moons.make(count: 1000, noise: 0.15, seed: 99)
        let accuracy = try network.evaluate(x: test.x, classes: test.y, features: 2).accuracy
        #expect(accuracy >= 0.97, "accuracy \(accuracy)")
    }

    @Test func linearRegressionRecoversItsCoefficients() throws {
        // y = 2 x0 - 3 x1 + 0.5, no noise: gradient descent on MSE converges to it.
        let m = 512
        let x = Fixture.uniform(2 * m, seed: 6)
        let y: [Float] = (0..<m).map { (i: Int) -> Float in
            let x0: Float = x[2 * i], x1: Float = x[2 * i + 1]
            return 2 * x0 - 3 * x1 + 0.5
        }
        let network = try Network(layerSizes: [2, 1], loss: .meanSquaredError)
        try network.train(x: x, values: y, features: 2, options: TrainingOptions(epochs: 300, batchSize: .fixed(32), learningRate: 0.05))
        let p = network.parameterArray
        let expected: [Float] = [2, -3, 0.5]
        for (value, target) in zip(p, expected) {
            #expect(abs(value - target) < 1e-3, "\(p)")
        }
    }

    @Test func poissonRegressionRecoversItsCoefficients() throws {
        // Expected counts y = e^(0.5 x0 - 0.3 x1 + 0.2): the half deviance is least at a = y,
        // so gradient descent on MB_LOSS_POISSON converges to those coefficients; outputs are
        // e^z, and the validation score is R^2 of those outputs.
        let m = 512
        let x = Fixture.uniform(2 * m, seed: 6)
        let y: [Float] = (0..<m).map { (i: Int) -> Float in
            let x0: Float = x[2 * i], x1: Float = x[2 * i + 1]
            return Float(Double(0.5 * x0 - 0.3 * x1 + 0.2).exp())
        }
        let network = try Network(layerSizes: [2, 1], loss: .poisson)
        let history = History()
        try network.train(x: x, values: y, features: 2,
                          options: {
                              var options = TrainingOptions(epochs: 200, batchSize: .fixed(32), learningRate: 0.1)
                              options.validationFraction = 0.25
                              return options
                          }(), history: history)
        let p = network.parameterArray
        let expected: [Float] = [0.5, -0.3, 0.2]
        for (value, target) in zip(p, expected) {
            #expect(abs(value - target) < 1e-3, "\(p)")
        }
        #expect(history.validationScores.last! > 0.999999, "\(history.validationScores.last!)")
        #expect(history.epochCosts.last! < 1e-6)
        let predicted = try network.predict(x: Array(x[0..<4]), features: 2)
        for (a, t) in zip(predicted, y[0..<2]) { #expect(abs(a - t) < 1e-3 * t) }
        #expect(try network.evaluate(x: x, values: y, features: 2).accuracy.isNaN)
        // Negative targets, class indices and predicted classes are refused.
        var negative = y
        negative[7] = -1
        let failure = Fixture.failure { () throws(MiniBatchError) in try network.train(x: x, values: negative, features: 2) }
        #expect(failure?.kind == .invalidArgument && failure!.message.contains("y[7][0] = -1.0 is negative"), "\(String(describing: failure))")
        let classes = Fixture.failure { () throws(MiniBatchError) in
            try network.train(x: x, classes: [Int32](repeating: 0, count: m), features: 2)
        }
        #expect(classes?.kind == .invalidArgument && classes!.message.contains("MB_LOSS_POISSON takes MB_TARGETS_FLOAT32"))
        #expect(Fixture.failure { () throws(MiniBatchError) in _ = try network.predictClasses(x: x, features: 2) }?.kind == .invalidArgument)
    }

    @Test func earlyStoppingWatchesOneValueAtATime() throws {
        // The validation score is kept negated, as a cost; a call that monitors the other
        // value starts the count afresh (a best cost is no best score), and the model file
        // says which (its "STPS" section).
        let network = try Network(layerSizes: [2, 8, 1], hiddenActivation: .tanh, loss: .binaryCrossEntropy, seed: 3)
        var options = TrainingOptions(epochs: 5, batchSize: .fixed(64), learningRate: 0.1)
        options.validationFraction = 0.2
        options.earlyStopping = EarlyStopping(patience: 100, monitor: .validationScore)
        let scores = History()
        try network.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options, history: scores)
        let state = network.trainingState
        #expect(state.monitor == .validationScore && state.best == -scores.validationScores.max()!)
        #expect(state.bestEpoch == 1 + scores.validationScores.firstIndex(of: scores.validationScores.max()!)!)
        let loaded = try ModelFile.decode(try ModelFile.encode(network), path: "memory")
        #expect(loaded.trainingState.monitor == EarlyStopping.Monitor.validationScore && loaded.trainingState.best == state.best)
        options.earlyStopping.monitor = .cost
        let costs = History()
        try network.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options, history: costs)
        #expect(state.monitor == .cost && state.best == costs.validationCosts.min()!)
        #expect(state.bestEpoch > 5)
    }

    @Test func divergenceStopsAndKeepsFiniteWeights() throws {
        let network = try Network(layerSizes: [2, 32, 32, 2], hiddenActivation: .relu, loss: .crossEntropy)
        let history = History()
        let x = Self.moons.x.map { $0 * 100 }
        let failure = Fixture.failure { () throws(MiniBatchError) in
            try network.train(x: x, classes: Self.moons.y, features: 2,
                              options: TrainingOptions(epochs: 50, batchSize: .fixed(64), learningRate: 1e6), history: history)
        }
        #expect(failure?.kind == .diverged)
        #expect(network.parameterArray.allSatisfy { $0.isFinite })
        #expect(history.batchCosts.allSatisfy { $0.isFinite })
    }

    /// After a batch whose cost is not finite, the model is back where the last finite cost
    /// was measured: its predictions are finite, and its cost on the batch before is the
    /// recorded one (the update that led to the overflow is undone, on every path).
    @Test(arguments: [false, true])
    func divergenceGoesBackToWeightsWithAFiniteCost(general: Bool) throws {
        let m = 256
        let x = Self.moons.x.prefix(2 * m).map { $0 * 30 }
        let y = Array(Self.moons.y.prefix(m))
        let network = try Network(layerSizes: [2, 64, 64, 2], hiddenActivation: .relu, loss: .crossEntropy, seed: 3)
        let history = History()
        var options = TrainingOptions(epochs: 40, batchSize: .fixed(m), learningRate: 3e4, shuffle: false)
        options.generalPath = general
        let failure = Fixture.failure { () throws(MiniBatchError) in
            try network.train(x: Array(x), classes: y, features: 2, options: options, history: history)
        }
        #expect(failure?.kind == .diverged)
        #expect(failure?.message.contains("cost of batch") == true, "\(String(describing: failure))")
        #expect(failure?.message.contains("goes back to the weights before the last update") == true)
        let costs = try history.costs().batches
        #expect(costs.count >= 2, "diverged at once: the test needs a finite step first")
        // One batch of all rows: the last recorded cost was measured on these weights.
        let (cost, _) = try network.evaluate(x: Array(x), classes: y, features: 2)
        #expect(cost.isFinite && abs(cost - costs.last!) <= 1e-6 * max(1, abs(cost)), "\(cost) against \(costs.last!)")
        var out = [Float](repeating: 0, count: 2 * m)
        try x.withUnsafeBufferPointer { xs throws(MiniBatchError) in
            try out.withUnsafeMutableBufferPointer { o throws(MiniBatchError) in
                try network.predict(xs.baseAddress!, count: m, features: 2, into: o.baseAddress!)
            }
        }
        #expect(out.allSatisfy { $0.isFinite })
    }

    /// Finite weights and finite inputs can still overflow: a prediction then throws
    /// `.diverged` naming the row, rather than returning Inf or NaN.
    @Test func aPredictionThatOverflowsIsAnError() throws {
        let network = try Network(layerSizes: [2, 3, 2], hiddenActivation: .relu, loss: .crossEntropy)
        // Layer 1: W = 1e20, b = 0; layer 2: W = 1, b = 0 (each layer's W, then its b).
        try network.setParameters([Float](repeating: 1e20, count: 6) + [0, 0, 0] + [Float](repeating: 1, count: 6) + [0, 0])
        let x: [Float] = [0, 0, 1e-20, 0, 1e20, 1, 0, 0]  // row 2 overflows: 1e20 * 1e20
        var out = [Float](repeating: 0, count: 8)
        var classes = [Int32](repeating: 0, count: 4)
        let failures = [
            Fixture.failure { () throws(MiniBatchError) in
                try network.predict(x, count: 4, features: 2, into: &out)
            },
            Fixture.failure { () throws(MiniBatchError) in
                try network.predictClasses(x, count: 4, features: 2, into: &classes)
            },
        ]
        for failure in failures {
            #expect(failure?.kind == .diverged)
            #expect(failure?.message.contains("for row 2 of X is inf") == true, "\(String(describing: failure))")
        }
        // The rows that do not overflow predict as before.
        try network.predict(Array(x[0..<4]), count: 2, features: 2, into: &out)
        #expect(out[0..<4].allSatisfy { $0.isFinite })
    }

    @Test func progressCanStopTraining() throws {
        let network = try tanhNetwork()
        let history = History()
        var calls: [Int] = []
        let failure = Fixture.failure { () throws(MiniBatchError) in
            try network.train(x: Self.moons.x, classes: Self.moons.y, features: 2,
                              options: TrainingOptions(epochs: 10, batchSize: .fixed(500)), history: history) { progress in
                calls.append(progress.epoch)
                return progress.epoch == 3 ? .stop : .proceed
            }
        }
        #expect(failure?.kind == .cancelled)
        #expect(calls == [1, 2, 3])
        #expect(history.epochCosts.count == 3 && network.epochsTrained == 3)
    }

    @Test func badArgumentsAreRefusedBeforeAnyChange() throws {
        let network = try tanhNetwork()
        let before = network.parameterArray
        let x = Array(Self.moons.x[0..<20]), y = Array(Self.moons.y[0..<10])
        let bad: [(TrainingOptions, [Float], [Int32])] = [
            (TrainingOptions(epochs: 0), x, y),
            (TrainingOptions(batchSize: .fixed(0)), x, y),
            (TrainingOptions(batchSize: .fixed(11)), x, y),
            (TrainingOptions(learningRate: 0), x, y),
            (TrainingOptions(learningRate: -1), x, y),
            (TrainingOptions(learningRate: .nan), x, y),
            (TrainingOptions(learningRate: .infinity), x, y),
            (TrainingOptions(), [.nan] + x.dropFirst(), y),
            (TrainingOptions(), [.infinity] + x.dropFirst(), y),
            (TrainingOptions(), x, [2] + y.dropFirst()),
            (TrainingOptions(), x, [-1] + y.dropFirst()),
        ]
        for (options, xs, ys) in bad {
            #expect(throws: MiniBatchError.self) {
                try network.train(x: xs, classes: ys, features: 2, options: options)
            }
        }
        #expect(network.parameterArray == before && network.epochsTrained == 0)
    }

    /// X's values are checked as the first epoch reads them, so a NaN or Inf is met after
    /// earlier batches have updated the model: the call must put back the parameters, the
    /// epoch count and the history, and name the value's place in X.
    @Test(arguments: [
        // (layer sizes, loss, batch size, shuffle, threads): gathered rows, rows read in
        // place (no hidden layer, <= 4 outputs), unshuffled, one batch, a team of two (the
        // batches of 256 and 1024 make two shards of these models).
        ([40, 8, 3], Loss.crossEntropy, 32, true, 1),
        ([40, 1], Loss.binaryCrossEntropy, 32, true, 1),
        ([40, 3], Loss.crossEntropy, 32, true, 1),
        ([40, 1], Loss.binaryCrossEntropy, 32, false, 1),
        ([40, 8, 3], Loss.crossEntropy, 32, false, 1),
        ([40, 8, 3], Loss.crossEntropy, 2048, true, 1),
        ([40, 1], Loss.binaryCrossEntropy, 2048, true, 2),
        ([40, 8, 3], Loss.crossEntropy, 256, true, 2),
        ([40, 1], Loss.binaryCrossEntropy, 1024, true, 2),
    ])
    func nonFiniteXMetMidEpochChangesNothing(
        sizes: [Int], loss: Loss, batchSize: Int, shuffle: Bool, threads: Int
    ) throws {
        let m = 2048, n = 40, classes = loss == .binaryCrossEntropy ? 2 : sizes.last!
        if threads == 2 { #expect(TrainingStep.shards(rows: batchSize, network: try Network(layerSizes: sizes, loss: loss), team: 2) == 2) }
        let x = Fixture.uniform(m * n, seed: 7), y = Fixture.classes(m, classes: classes)
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(batchSize), learningRate: 0.1, shuffle: shuffle, threads: threads)
        for value in [Float.nan, .infinity, -.infinity] {
            for (row, column) in [(m - 1, 39), (301, 0), (0, 17)] {
                let network = try Network(layerSizes: sizes, hiddenActivation: .relu, loss: loss, seed: 3)
                let history = History()
                try network.train(x: x, classes: y, features: n, options: options, history: history)
                let parameters = network.parameterArray
                let (batchCosts, epochCosts) = (history.batchCosts, history.epochCosts)
                var bad = x
                bad[row * n + column] = value
                let failure = Fixture.failure { () throws(MiniBatchError) in
                    try network.train(x: bad, classes: y, features: n, options: options, history: history)
                }
                #expect(failure?.kind == .invalidArgument)
                #expect(failure?.message == "X has a non-finite value (\(value)) at row \(row), column \(column)")
                #expect(network.parameterArray == parameters)
                #expect(network.epochsTrained == 2)
                #expect(history.batchCosts == batchCosts && history.epochCosts == epochCosts)
                // The same call on good data goes on from there.
                try network.train(x: x, classes: y, features: n, options: options, history: history)
                #expect(network.epochsTrained == 4 && history.epochCosts.count == 4)
            }
        }
    }
}

struct BatchSizeTests {
    @Test func automaticFollowsTheSeedsRule() throws {
        let network = try Network(layerSizes: [784, 128, 10])
        #expect(try network.automaticBatchSize(count: 1999, memoryBudget: 0) == 1999)
        #expect(try network.automaticBatchSize(count: 2000, memoryBudget: 0) == 512)
        let for128 = try network.workingMemory(batchSize: 128)
        #expect(try network.automaticBatchSize(count: 60_000, memoryBudget: for128) == 128)
        #expect(try network.automaticBatchSize(count: 60_000, memoryBudget: for128 - 1) == 64)
        #expect(throws: MiniBatchError.self) { try network.automaticBatchSize(count: 60_000, memoryBudget: 1000) }
    }

    @Test func workingMemoryFollowsItsFormula() throws {
        let network = try Network(layerSizes: [10, 20, 5])
        // batch (10 + 5) + activations (20 + 5) + two deltas of width 20, per row; plus
        // gradients, the updated parameters and the parameters at the start of the call.
        let floats = 64 * (15 + 25 + 40) + 3 * network.parameterCount
        #expect(try network.workingMemory(batchSize: 64) == 4 * floats)
        // Beyond 256 rows only the gathered batch grows: forward and backward take 256 rows at a time.
        #expect(try network.workingMemory(batchSize: 1024) == 4 * (1024 * 15 + 256 * (25 + 40) + 3 * network.parameterCount))
        // A first layer of 2^18 weights may take the fused update, which needs the whole batch's dz.
        let wide = try Network(layerSizes: [512, 512, 2])
        #expect(try wide.workingMemory(batchSize: 1024)
            == 4 * (1024 * (514 + 514 + 1024) + 3 * wide.parameterCount))
    }

    /// The automatic batch size counts every shard's workspace as training allocates it (its
    /// gradient, and its layers' outputs and gradient buffers for the rows it takes at a
    /// time): the workspaces of a real training step, batch 512, take no more than counted,
    /// and (4 shards) more than 0.5.0 counted (the first workspace and a gradient for each
    /// further shard), which the budget therefore missed. With 16 threads and m = 2098, the
    /// last batch (50 rows) makes one shard of 50 rows where the full batches' have 32: every
    /// workspace is made for 50, and counted so.
    @Test(arguments: [([784, 128, 10], 4, 4096), ([64, 256, 256, 10], 4, 4096), ([40, 32, 3], 16, 2098)])
    func automaticBudgetCountsEveryShardsWorkspace(sizes: [Int], threads: Int, m: Int) throws {
        let network = try Network(layerSizes: sizes)
        var options = TrainingOptions(epochs: 1, batchSize: .fixed(512), threads: threads)
        options.shards = threads
        let step = try TrainingStep(for: network, partition: Partition(count: m, batchSize: 512, lastBatch: .keep),
                                    options: options)
        let shards = TrainingStep.shards(rows: 512, network: network, team: threads)
        #expect(step.workspaces.count == shards && shards > 1)
        let allocated = step.workspaces.reduce(0) { $0 + Workspace.floatCount(for: network, capacity: $1.capacity, backward: true) }
        let batch = 512 * (network.inputCount + network.outputCount)
        // The counted workspaces: workingMemory's less the gathered batch and the updated and
        // starting parameters, and the beyond's further shards.
        let inWorkingMemory = (try network.workingMemory(batchSize: 512)) / 4 - batch - 2 * network.parameterCount
        let counted = inWorkingMemory
            + network.trainingMemoryBeyondWorkingMemory(options, batchSize: 512, validationRows: 0, count: m).bytes / 4
        #expect(allocated <= counted)
        if m % 512 == 0 {
            #expect(allocated > inWorkingMemory + (shards - 1) * network.parameterCount)  // 0.5.0's count
        } else {
            #expect(step.workspaces[0].capacity == m % 512)  // the last batch's one shard
        }
        step.finish()
        withExtendedLifetime(network) {}
    }
}
