import Glibc
import Testing
@testable import MiniBatch

/// Ranks as threads of one process: the collectives over shared memory, in rank order,
/// with a barrier between phases. Enough to test the engine's side of distributed
/// training without MPI (Tests/mpi runs it over MPI).
final class LocalGroup: @unchecked Sendable {
    let size: Int
    private let barrier: UnsafeMutablePointer<pthread_barrier_t>
    let pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>

    init(size: Int) {
        self.size = size
        barrier = .allocate(capacity: 1)
        pthread_barrier_init(barrier, nil, UInt32(size))
        pointers = .allocate(capacity: size)
        pointers.initialize(repeating: nil, count: size)
    }

    deinit {
        pthread_barrier_destroy(barrier)
        barrier.deallocate()
        pointers.deallocate()
    }

    func wait() { pthread_barrier_wait(barrier) }

    /// Runs `body(rank)` on `size` threads at once and returns their results in rank order.
    func run<T>(_ body: @escaping (LocalRank) -> T) throws -> [T] {
        let results = UnsafeMutablePointer<T?>.allocate(capacity: size)
        results.initialize(repeating: nil, count: size)
        defer {
            results.deinitialize(count: size)
            results.deallocate()
        }
        var threads: [MiniBatch.Thread] = []
        for r in 0..<size {
            let rank = LocalRank(rank: r, group: self)
            threads.append(try MiniBatch.Thread { results[r] = body(rank) })
        }
        for thread in threads { thread.join() }
        return (0..<size).map { results[$0]! }
    }
}

final class LocalRank: Communicator, @unchecked Sendable {
    let rank: Int
    let group: LocalGroup
    var size: Int { group.size }

    init(rank: Int, group: LocalGroup) {
        self.rank = rank
        self.group = group
    }

    func allreduceSum(_ data: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) {
        group.pointers[rank] = UnsafeMutableRawPointer(data.baseAddress)
        group.wait()
        var sum = [Float](repeating: 0, count: data.count)
        for r in 0..<size {
            let other = group.pointers[r]!.assumingMemoryBound(to: Float.self)
            for i in 0..<data.count { sum[i] += other[i] }
        }
        group.wait()
        for i in 0..<data.count { data[i] = sum[i] }
    }

    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws(MiniBatchError) {
        group.pointers[rank] = UnsafeMutableRawPointer(mutating: send.baseAddress)
        group.wait()
        for r in 0..<size {
            (receive.baseAddress! + r * send.count).copyMemory(from: group.pointers[r]!, byteCount: send.count)
        }
        group.wait()
    }

    func broadcast(_ data: UnsafeMutableRawBufferPointer, root: Int) throws(MiniBatchError) {
        group.pointers[rank] = data.baseAddress
        group.wait()
        if rank != root { data.baseAddress!.copyMemory(from: group.pointers[root]!, byteCount: data.count) }
        group.wait()
    }
}

struct DistributedTests {
    static let m = 600, features = 12
    static let x = Fixture.uniform(m * features, seed: 21)
    static let classes = Fixture.classes(m, classes: 3, seed: 22)

    /// Wide enough for 4 shards of a batch of 64 (the layout's work rule).
    static func model() throws -> Network {
        try Network(layerSizes: [features, 256, 3], hiddenActivation: .tanh, loss: .crossEntropy, seed: 7)
    }

    struct Run: Equatable {
        var parameters: [Float]
        var batchCosts: [Double]
        var epochCosts: [Double]
        var error: MiniBatchError?
    }

    /// Trains a fresh model with `options` (a communicator of `rank` when given).
    static func train(
        _ options: TrainingOptions, rank: LocalRank? = nil, x: [Float] = x, classes: [Int32] = classes,
        prepare: (History) -> Void = { _ in }
    ) -> Run {
        var options = options
        if let rank { options.distribution = Distribution(rank, mode: options.distribution?.mode ?? .deterministic) }
        let history = History()
        prepare(history)
        guard let network = try? model() else { return Run(parameters: [], batchCosts: [], epochCosts: [], error: nil) }
        let error = Fixture.failure { () throws(MiniBatchError) in
            try network.train(x: x, classes: classes, features: features, options: options, history: history)
        }
        let costs = try? history.costs()
        return Run(parameters: network.parameterArray, batchCosts: costs?.batches ?? [], epochCosts: costs?.epochs ?? [],
                   error: error)
    }

    static func options(_ optimizer: Optimizer, batch: Int = 64) -> TrainingOptions {
        var o = TrainingOptions(epochs: 3, batchSize: .fixed(batch), learningRate: 0.05, seed: 3, threads: 1)
        o.optimizer = optimizer
        o.shards = 4
        return o
    }

    static let rules: [Optimizer] = [
        .gradientDescent, .sgd(momentum: 0.9, nesterov: true), .rmsprop(rho: 0.9, epsilon: 1e-8),
        .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8),
        .adamW(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01),
        .adagrad(epsilon: 1e-8, lrDecay: 0.01, initialAccumulator: 0.1), .adamax(), .adam(beta2: 0.9, amsgrad: true),
        .nadam(momentumDecay: 0.05), .radam(), .rmsprop(momentum: 0.5, centered: true), .adadelta(),
    ]

    @Test func theLayoutNotTheThreadsDecides() throws {
        #expect(TrainingStep.shards(rows: 64, network: try Self.model(), team: 4) == 4)
        #expect(TrainingStep.shards(rows: 64, network: try Self.model(), team: 2) == 2)
        var a = Self.options(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8))
        a.l2 = 0.01
        a.clipNorm = 0.5
        var b = a
        b.threads = 2
        let one = Self.train(a), two = Self.train(b)
        #expect(one.error == nil)
        #expect(one == two)
        var c = a
        c.shards = 2
        #expect(Self.train(c).parameters != one.parameters)
    }

    @Test(arguments: [1, 2, 3, 4])
    func deterministicIsBitIdenticalToOneProcess(ranks: Int) throws {
        for rule in Self.rules {
            for batch in [64, 7] {
                var options = Self.options(rule, batch: batch)
                options.l2 = 0.001
                options.clipNorm = 2
                let reference = Self.train(options)
                #expect(reference.error == nil)
                let runs = try LocalGroup(size: ranks).run { rank in Self.train(options, rank: rank) }
                for (r, run) in runs.enumerated() {
                    #expect(run == reference, "rank \(r) of \(ranks), \(rule), batch \(batch)")
                }
            }
        }
    }

    @Test func fastIsCloseAndEqualOnEveryRank() throws {
        var options = Self.options(.sgd(momentum: 0.9, nesterov: false))
        let reference = Self.train(options)
        options.distribution = Distribution(LocalRank(rank: 0, group: LocalGroup(size: 1)), mode: .fast)
        let runs = try LocalGroup(size: 3).run { rank in Self.train(options, rank: rank) }
        for run in runs {
            #expect(run.error == nil)
            #expect(run.parameters == runs[0].parameters)
            let largest = zip(run.parameters, reference.parameters).map { abs($0 - $1) }.max()!
            #expect(largest < 1e-4)
            for (a, b) in zip(run.epochCosts, reference.epochCosts) { #expect(abs(a - b) <= 1e-5 * abs(b)) }
        }
    }

    @Test func ranksThatDisagreeGetTheSameError() throws {
        let runs = try LocalGroup(size: 3).run { rank in
            var options = Self.options(.gradientDescent)
            if rank.rank == 2 { options.batchSize = .fixed(32) }
            return Self.train(options, rank: rank)
        }
        for run in runs {
            #expect(run.error?.kind == .invalidArgument)
            #expect(run.error?.message.contains("batch_size is 64 on rank 0 but 32 on rank 2") == true, "\(String(describing: run.error))")
            #expect(run.error == runs[0].error)
        }
    }

    /// Ranks whose batches would hold the first layer's W in different layouts (from 2^18
    /// weights it follows each rank's libxsmm kernels) would add dW^T to dW: refused before
    /// the first step, naming the layout, on every rank.
    @Test func ranksThatWouldHoldTheFirstWeightsDifferentlyAreRefused() throws {
        let runs = try LocalGroup(size: 2).run { rank in
            var options = Self.options(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8))
            options.transposingFirstWeights = rank.rank == 0
            return Self.train(options, rank: rank)
        }
        for run in runs {
            #expect(run.error?.kind == .invalidArgument)
            #expect(run.error?.message.contains("the first layer's W kept transposed while training") == true
                    && run.error?.message.contains("is 1 on rank 0 but 0 on rank 1") == true, "\(String(describing: run.error))")
            #expect(run.error == runs[0].error)
        }
        // Alike (either way), they train.
        for transposed in [false, true] {
            let alike = try LocalGroup(size: 2).run { rank in
                var options = Self.options(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8))
                options.transposingFirstWeights = transposed
                return Self.train(options, rank: rank)
            }
            #expect(alike.allSatisfy { $0.error == nil } && alike[0] == alike[1])
        }
    }

    /// A rate every mini-batch (0.9.0): deterministic mode equals one process with the same
    /// shards; ranks that differ in it are refused, naming it.
    @Test func aRateEveryMiniBatchIsTheRanksAlike() throws {
        var options = Self.options(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), batch: 7)
        options.schedule = .cosine(period: 3, minimum: 0.001)
        options.warmup = Warmup(epochs: 2)
        options.schedulePerBatch = true
        let reference = Self.train(options)
        #expect(reference.error == nil)
        var once = options
        once.schedulePerBatch = false
        #expect(Self.train(once).parameters != reference.parameters)
        for run in try LocalGroup(size: 3).run({ rank in Self.train(options, rank: rank) }) {
            #expect(run == reference)
        }
        // Inverse time counts the rows before each batch (the last batch of 7 rows is short).
        var inverse = options
        inverse.schedule = .inverseTime(power: 0.5)
        let inverseReference = Self.train(inverse)
        #expect(inverseReference.error == nil)
        for run in try LocalGroup(size: 2).run({ rank in Self.train(inverse, rank: rank) }) {
            #expect(run == inverseReference)
        }
        let runs = try LocalGroup(size: 2).run { rank in
            var differing = options
            differing.schedulePerBatch = rank.rank == 0
            return Self.train(differing, rank: rank)
        }
        for run in runs {
            #expect(run.error?.message.contains("schedule_per_batch is 1 on rank 0 but 0 on rank 1") == true,
                    "\(String(describing: run.error))")
        }
        // Where it moves no rate (a step schedule, no warm-up), ranks that differ in it agree.
        var step = Self.options(.gradientDescent, batch: 7)
        step.schedule = .step(every: 1, gamma: 0.5)
        let stepReference = Self.train(step)
        let stepRuns = try LocalGroup(size: 2).run { rank in
            var differing = step
            differing.schedulePerBatch = rank.rank == 0
            return Self.train(differing, rank: rank)
        }
        for run in stepRuns { #expect(run == stepReference) }
    }

    /// One-cycle's momentum cycle (0.10.0): deterministic mode equals one process with the
    /// same shards, for plain SGD (which the cycle gives a momentum buffer) and Adam, per
    /// epoch and per mini-batch.
    @Test func aCycledMomentumIsTheRanksAlike() throws {
        for (rule, perBatch) in [(Optimizer.gradientDescent, false), (.adam(), true)] {
            var options = Self.options(rule, batch: 7)
            options.schedule = .oneCycle(period: 3, pctStart: 0.4, cycleMomentum: true, baseMomentum: 0.8)
            options.schedulePerBatch = perBatch
            let reference = Self.train(options)
            #expect(reference.error == nil)
            var still = options
            still.schedule = .oneCycle(period: 3, pctStart: 0.4)
            #expect(Self.train(still).parameters != reference.parameters)
            // (the momentum moves: not the run with it held at max_momentum)
            var held = still
            held.optimizer = options.updateRule
            #expect(held.updateRule.kind == options.updateRule.kind)
            #expect(Self.train(held).parameters != reference.parameters)
            for run in try LocalGroup(size: 3).run({ rank in Self.train(options, rank: rank) }) {
                #expect(run == reference)
            }
        }
    }

    @Test func aRankWhoseSetupFailsStopsEveryRank() throws {
        let runs = try LocalGroup(size: 2).run { rank in
            var options = Self.options(.gradientDescent)
            if rank.rank == 1 { options.learningRate = -1 }
            return Self.train(options, rank: rank)
        }
        for run in runs {
            #expect(run.error?.kind == .invalidArgument)
            #expect(run.error?.message.hasPrefix("rank 1: learning_rate") == true, "\(String(describing: run.error))")
        }
    }

    /// A rank that will not make the call (what it prepared failed) tells the others
    /// through `Distribution.failTraining`: their calls fail with its error, the model as it
    /// was, and the communicator still works for the next call. Where two ranks fail at
    /// once, every rank gets the lower rank's error.
    @Test func aRankThatWillNotTrainTellsTheOthers() throws {
        for ranks in [2, 3, 4] {
            let last = ranks - 1
            let runs = try LocalGroup(size: ranks).run { rank -> (Run, MiniBatchError?, Run) in
                var failed: MiniBatchError?
                var first = Run(parameters: [], batchCosts: [], epochCosts: [], error: nil)
                if rank.rank == last {
                    do throws(MiniBatchError) {
                        try Distribution(rank).failTraining(MiniBatchError(.io, "could not read part-\(last).npy"))
                    } catch {
                        failed = error
                    }
                } else {
                    first = Self.train(Self.options(.gradientDescent), rank: rank)
                }
                return (first, failed, Self.train(Self.options(.gradientDescent), rank: rank))
            }
            let expected = MiniBatchError(.io, "rank \(last): could not read part-\(last).npy")
            for (r, run) in runs.enumerated() {
                if r == last {
                    #expect(run.1 == expected, "\(String(describing: run.1))")
                } else {
                    #expect(run.0.error == expected, "\(String(describing: run.0.error))")
                    #expect(run.0.parameters == (try Self.model()).parameterArray)
                    #expect(run.0.batchCosts.isEmpty)
                }
                #expect(run.2.error == nil)
                #expect(run.2 == Self.train(Self.options(.gradientDescent)))
            }
        }
        // Two ranks that will not train, and one that refuses its options: rank 0's error.
        let runs = try LocalGroup(size: 3).run { rank -> MiniBatchError? in
            if rank.rank == 2 {
                var options = Self.options(.gradientDescent)
                options.learningRate = -1
                return Self.train(options, rank: rank).error
            }
            return Fixture.failure { () throws(MiniBatchError) in
                try Distribution(rank).failTraining(MiniBatchError(.invalidArgument, "bad arguments on \(rank.rank)"))
            }
        }
        #expect(runs == Array(repeating: MiniBatchError(.invalidArgument, "rank 0: bad arguments on 0"), count: 3))
        // Out of range: the communicator's error, nothing exchanged.
        final class Outside: Communicator, @unchecked Sendable {
            let rank = 3, size = 2
            func allreduceSum(_ data: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) { fatalError() }
            func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws(MiniBatchError) { fatalError() }
            func broadcast(_ data: UnsafeMutableRawBufferPointer, root: Int) throws(MiniBatchError) { fatalError() }
        }
        let outside = Fixture.failure { () throws(MiniBatchError) in
            try Distribution(Outside()).failTraining(MiniBatchError(.io, "x"))
        }
        #expect(outside?.kind == .invalidArgument && outside?.message.contains("rank must be 0...1") == true,
                "\(String(describing: outside))")
    }

    /// The array API's lengths, refused on one rank before training begins, are told to
    /// the others (`refusedBeforeTraining`).
    @Test func arraysOfTheWrongLengthOnOneRankStopEveryRank() throws {
        let runs = try LocalGroup(size: 3).run { rank -> MiniBatchError? in
            let classes = rank.rank == 1 ? Array(Self.classes.dropLast()) : Self.classes
            return Self.train(Self.options(.gradientDescent), rank: rank, classes: classes).error
        }
        #expect(runs == Array(repeating: MiniBatchError(.invalidArgument, "rank 1: classes has 599 values for 600 rows of x"),
                              count: 3), "\(runs)")
    }

    @Test func aBadValueInOneRanksDataStopsEveryRank() throws {
        // A row of rank 1's shards (2 and 3 of 4) in the first epoch's first batch: each
        // rank checks the rows it reads (the others give the same rows, so all are checked).
        var bad = Self.x
        let row = try Permutation.make(count: Self.m, seed: 3, epoch: 0)[40]
        bad[row * Self.features + 3] = .nan
        let runs = try LocalGroup(size: 2).run { rank in
            Self.train(Self.options(.gradientDescent), rank: rank, x: rank.rank == 1 ? bad : Self.x)
        }
        for run in runs {
            #expect(run.error?.kind == .invalidArgument, "\(String(describing: run.error))")
            #expect(run.error?.message.hasPrefix("rank 1:") == true, "\(String(describing: run.error))")
            // The model is put back as it was (the first epoch's check).
            #expect(run.parameters == (try Self.model()).parameterArray)
        }
    }

    /// A rank that cannot make room in its history for the next epochs (out of memory)
    /// stops every rank before that epoch's first batch, with the same error, weights and
    /// costs everywhere. (A history that grew in the middle of an epoch and failed on one
    /// rank left the others waiting at the next exchange.)
    @Test func aHistoryThatCannotGrowOnOneRankStopsEveryRank() throws {
        var options = Self.options(.gradientDescent)
        options.epochs = 20
        let runs = try LocalGroup(size: 2).run { rank in
            Self.train(options, rank: rank) { history in
                history.reserveLimit = 64  // 10 batches an epoch: room for 6 epochs at a time
                if rank.rank == 1 { history.failingReservation = 2 }
            }
        }
        for run in runs {
            #expect(run.error?.kind == .outOfMemory, "\(String(describing: run.error))")
            #expect(run.error?.message.hasPrefix("rank 1: out of memory") == true, "\(String(describing: run.error))")
            #expect(run.epochCosts.count == 6 && run.batchCosts.count == 60)
        }
        #expect(runs[0] == runs[1])
        var six = options
        six.epochs = 6
        #expect(runs[0].parameters == Self.train(six).parameters)
    }

    @Test func divergenceStopsEveryRankWithTheSameWeights() throws {
        var options = Self.options(.gradientDescent)
        options.learningRate = .greatestFiniteMagnitude
        let runs = try LocalGroup(size: 3).run { rank in Self.train(options, rank: rank) }
        for run in runs {
            #expect(run.error?.kind == .diverged)
            #expect(run.parameters == runs[0].parameters)
            #expect(run.parameters.allSatisfy { $0.isFinite })
        }
    }

    @Test func oneRanksCallbackStopsEveryRank() throws {
        let runs = try LocalGroup(size: 2).run { rank in
            let network = try! Self.model()
            var options = Self.options(.gradientDescent)
            options.distribution = Distribution(rank)
            do {
                try network.train(x: Self.x, classes: Self.classes, features: Self.features, options: options) { p in
                    rank.rank == 1 && p.epoch == 2 ? .stop : .proceed
                }
            } catch let error as MiniBatchError {
                return (error, network.epochsTrained)
            } catch {
                return (MiniBatchError(.internal, "\(error)"), network.epochsTrained)
            }
            return (MiniBatchError(.internal, "no error"), network.epochsTrained)
        }
        for (error, epochs) in runs {
            #expect(error.kind == MiniBatchError.Kind.cancelled)
            #expect(error.message.contains("rank 1"))
            #expect(epochs == 2)
        }
    }

    /// A communicator that garbles what it gathers is the communicator's failure, told in
    /// printable text (it was MB_ERR_INTERNAL, "a bug in minibatch", with the bytes as sent).
    @Test func aGarblingCommunicatorIsACommunicationFailure() throws {
        let network = try Self.model()
        var options = Self.options(.gradientDescent)
        options.distribution = Distribution(GarblingRank())
        let error = Fixture.failure { () throws(MiniBatchError) in
            try network.train(x: Self.x, classes: Self.classes, features: Self.features, options: options)
        }
        #expect(error?.kind == .communication)
        #expect(error?.message.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } == true)
    }

    /// An allreduce that does not sum (fast mode's one collective per mini-batch) makes the
    /// ranks' failure flags say a rank failed where no rank's failure record does: the
    /// communicator's failure (it was MB_ERR_INTERNAL, "a bug in minibatch"), whether it
    /// writes NaN bytes or finite values.
    @Test(arguments: [Float.nan, 1])
    func anAllreduceThatDoesNotSumIsACommunicationFailure(_ value: Float) throws {
        let network = try Self.model()
        var options = Self.options(.gradientDescent)
        options.distribution = Distribution(GarblingRank(allreduceWrites: value), mode: .fast)
        let error = Fixture.failure { () throws(MiniBatchError) in
            try network.train(x: Self.x, classes: Self.classes, features: Self.features, options: options)
        }
        #expect(error?.kind == .communication)
        #expect(error?.message.contains("collectives returned values the ranks did not send") == true)
    }

    /// A communicator's collectives run in the middle of a step, on the training thread,
    /// where the model is in training's layout (its first layer's W transposed): reading the
    /// model or the history there is `.busy` (it returned that layout), while the progress
    /// callback, between epochs, still reads both.
    @Test func aCommunicatorCannotReadTheModelMidStep() throws {
        let network = try Self.model()
        let history = History()
        let rank = ReadingRank(network: network, history: history)
        var options = Self.options(.gradientDescent)
        options.shards = 1
        options.distribution = Distribution(rank)
        var inCallback: [MiniBatchError?] = []
        try network.train(x: Self.x, classes: Self.classes, features: Self.features, options: options, history: history) { _ in
            inCallback.append(contentsOf: rank.reads())
            return .proceed
        }
        #expect(rank.probes > 0)
        #expect(rank.failures.count == 3 * rank.probes)
        #expect(rank.failures.allSatisfy { $0?.kind == .busy })
        #expect(inCallback.count == 9 && inCallback.allSatisfy { $0 == nil })
    }
}

/// One rank alone whose allgather returns bytes that no rank sent, or (`allreduceWrites`)
/// whose allreduce writes that value everywhere and whose allgather is honest.
final class GarblingRank: Communicator, @unchecked Sendable {
    let rank = 0, size = 1
    let allreduceValue: Float?

    init(allreduceWrites value: Float? = nil) { allreduceValue = value }

    func allreduceSum(_ data: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) {
        if let allreduceValue { data.update(repeating: allreduceValue) }
    }
    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws(MiniBatchError) {
        guard allreduceValue == nil else {
            receive.baseAddress!.copyMemory(from: send.baseAddress!, byteCount: send.count)
            return
        }
        for i in 0..<receive.count { receive[i] = i % 7 == 0 ? 0x07 : 0xAB }
    }
    func broadcast(_ data: UnsafeMutableRawBufferPointer, root: Int) throws(MiniBatchError) {}
}

/// One rank alone, whose every collective tries to read the network being trained and its
/// history (parameters, a prediction, the costs).
final class ReadingRank: Communicator, @unchecked Sendable {
    let rank = 0, size = 1
    let network: Network, history: History
    var probes = 0
    var failures: [MiniBatchError?] = []

    init(network: Network, history: History) {
        self.network = network
        self.history = history
    }

    /// The three reads' errors (nil: it read).
    func reads() -> [MiniBatchError?] {
        var out = [Float](repeating: 0, count: network.parameterCount)
        let network = network, history = history
        return [
            Fixture.failure { () throws(MiniBatchError) in
                try out.withUnsafeMutableBufferPointer { (b) throws(MiniBatchError) in try network.copyParameters(to: b) }
            },
            Fixture.failure { () throws(MiniBatchError) in
                _ = try network.predict(x: [Float](repeating: 0, count: DistributedTests.features), features: DistributedTests.features)
            },
            Fixture.failure { () throws(MiniBatchError) in _ = try history.costs() },
        ]
    }

    private func probe() {
        probes += 1
        failures += reads()
    }

    func allreduceSum(_ data: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) { probe() }

    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws(MiniBatchError) {
        receive.baseAddress!.copyMemory(from: send.baseAddress!, byteCount: send.count)
        probe()
    }

    func broadcast(_ data: UnsafeMutableRawBufferPointer, root: Int) throws(MiniBatchError) { probe() }
}
