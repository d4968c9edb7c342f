import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniBatch

/// The general update path (gradient, then an `UpdateRule` with its state) against plain
/// gradient descent's fast path, and the training state across calls and failures. The
/// rules' formulas are checked against numpy and PyTorch in bindings/python/tests/test_optimizers.py.
struct OptimizerTests {
    /// `count` floats uniform in [-scale, scale] (steps of scale / 1000), from stream 0 of
    /// `seed`; the caller deallocates them.
    static func uniformBuffer(_ count: Int, seed: UInt64, scale: Float = 1) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        var g = Generator(seed: seed, stream: 0)
        for i in 0..<count { p[i] = (Float(g.next() % 2001) / 1000 - 1) * scale }
        return p
    }

    static let moons = try! Moons.make(count: 1000, noise: 0.2, seed: 9)

    /// The kernels' comparisons: a range that ends on a vector of lanes and one that ends
    /// inside one, each with `terms` and with `terms` unclipped (clip +Inf, the default), and
    /// (0.10.0) each with PyTorch's coupled weight decay added after the clipping.
    static func rangesAndTerms(_ n: Int, _ terms: GradientTerms) -> [(Range<Int>, GradientTerms)] {
        let unclipped = GradientTerms(l2: terms.l2, scale: terms.scale)
        var decayed = terms, decayedUnclipped = unclipped
        decayed.decay = 0.05
        decayedUnclipped.decay = 0.05
        return [(0..<n, terms), (3..<(n - 3), terms), (0..<n, unclipped), (3..<(n - 3), unclipped),
                (0..<n, decayed), (3..<(n - 3), decayedUnclipped)]
    }

    func train(_ network: Network, _ options: TrainingOptions, history: History? = nil) throws {
        try network.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options, history: history)
    }

    /// PlainRule on the general path is the fast path's formula, summed in the same order:
    /// bit-identical weights, with one thread and with two (summing two shards).
    @Test(arguments: [1, 2])
    func generalPathEqualsPlainGradientDescent(threads: Int) throws {
        var options = TrainingOptions(epochs: 3, batchSize: .fixed(64), learningRate: 0.1, seed: 2, threads: threads)
        let fast = try Network(layerSizes: [2, 32, 32, 2], hiddenActivation: .tanh, seed: 4)
        try train(fast, options)
        options.generalPath = true
        let general = try Network(layerSizes: [2, 32, 32, 2], hiddenActivation: .tanh, seed: 4)
        try train(general, options)
        #expect(fast.parameterArray == general.parameterArray)
    }

    /// A first layer large enough for the fused update: the general path agrees with the
    /// fast path to rounding (the fused path adds dz^T x into W in a different order).
    @Test func generalPathAgreesWithFusedUpdate() throws {
        let m = 256, features = 300
        let x = Fixture.uniform(m * features, seed: 4, scale: 1)
        let y = (0..<m).map { Int32(x[features * $0] > 0 ? 1 : 0) }
        var options = TrainingOptions(epochs: 2, batchSize: .fixed(128), learningRate: 0.05, threads: 2)
        let fast = try Network(layerSizes: [features, 1024, 2], hiddenActivation: .relu, seed: 3)
        #expect(TrainingStep.fusesFirstWeights(fast))
        try fast.train(x: x, classes: y, features: features, options: options)
        options.generalPath = true
        let general = try Network(layerSizes: [features, 1024, 2], hiddenActivation: .relu, seed: 3)
        try general.train(x: x, classes: y, features: features, options: options)
        for (a, b) in zip(fast.parameterArray, general.parameterArray) {
            #expect(abs(a - b) <= 1e-5 * (1 + abs(b)))
        }
    }

    /// Momentum with mu = 0 is plain gradient descent on the general path, step for step.
    @Test func momentumZeroIsGradientDescent() throws {
        var options = TrainingOptions(epochs: 2, batchSize: .fixed(100), learningRate: 0.1, threads: 1)
        options.generalPath = true
        let plain = try Network(layerSizes: [2, 8, 2], seed: 1)
        try train(plain, options)
        let rule = MomentumRule(momentum: 0, nesterov: false)
        var b = Lanes(), unused = Lanes(), unused2 = Lanes()
        let w = Lanes(repeating: 1.5), g = Lanes(repeating: 0.25)
        #expect(rule.next(w, g, &b, &unused, &unused2, 0.1) == PlainRule().next(w, g, &b, &unused, &unused2, 0.1))
    }

    /// For every rule two calls equal one (the state carries over), with two threads.
    @Test(arguments: [Optimizer.sgd(momentum: 0.9), .sgd(momentum: 0.9, nesterov: true), .rmsprop(), .adam(), .adamW(),
                      .adagrad(), .adamax(), .adam(amsgrad: true), .adamW(amsgrad: true), .nadam(), .radam(),
                      .rmsprop(centered: true), .rmsprop(momentum: 0.9), .rmsprop(momentum: 0.5, centered: true),
                      .adadelta()])
    func stateCarriesOverBetweenCalls(optimizer: Optimizer) throws {
        let options = TrainingOptions(epochs: 4, batchSize: .fixed(64), learningRate: 0.01, seed: 3, threads: 2,
                                      optimizer: optimizer, l2: 0.001, clipNorm: 10)
        let once = try Network(layerSizes: [2, 16, 2], hiddenActivation: .tanh, seed: 6)
        try train(once, options)
        var half = options
        half.epochs = 2
        let twice = try Network(layerSizes: [2, 16, 2], hiddenActivation: .tanh, seed: 6)
        try train(twice, half)
        #expect(twice.trainingState.step == 2 * 16)
        try train(twice, half)
        #expect(once.parameterArray == twice.parameterArray)
        #expect(once.trainingState.step == 4 * 16)
    }

    /// A diverging step changes neither the weights nor the rule's state.
    @Test func divergenceKeepsWeightsAndState() throws {
        let network = try Network(layerSizes: [2, 16, 2], hiddenActivation: .relu, seed: 6)
        try train(network, TrainingOptions(epochs: 1, batchSize: .fixed(64), learningRate: 0.01, optimizer: .adam()))
        let weights = network.parameterArray
        let step = network.trainingState.step
        let moments = Array(UnsafeBufferPointer(start: network.trainingState.slots[1], count: network.parameterCount))
        // Adam's step size is rate / (1 - beta1^t), more than Float's largest value here.
        var options = TrainingOptions(epochs: 1, batchSize: .fixed(64), learningRate: .greatestFiniteMagnitude, optimizer: .adam())
        options.threads = 2
        #expect(throws: MiniBatchError.self) { try train(network, options) }
        #expect(network.parameterArray == weights)
        #expect(network.trainingState.step == step)
        #expect(Array(UnsafeBufferPointer(start: network.trainingState.slots[1], count: network.parameterCount)) == moments)
    }

    /// A NaN in X puts the training state back as it was, with the weights.
    @Test func badInputRestoresState() throws {
        let network = try Network(layerSizes: [2, 4, 2], seed: 6)
        try train(network, TrainingOptions(epochs: 1, batchSize: .fixed(64), optimizer: .adam()))
        let step = network.trainingState.step
        var x = Self.moons.x
        x[2 * 900] = .nan
        #expect(throws: MiniBatchError.self) {
            try network.train(x: x, classes: Self.moons.y, features: 2,
                              options: TrainingOptions(epochs: 1, batchSize: .fixed(64), optimizer: .adam()))
        }
        #expect(network.trainingState.step == step)
    }

    /// Gradient clipping by the global norm bounds each plain step: |Δw| <= rate * clipNorm.
    @Test func clippingBoundsTheStep() throws {
        let network = try Network(layerSizes: [2, 16, 2], hiddenActivation: .tanh, seed: 6)
        let before = network.parameterArray
        try train(network, TrainingOptions(epochs: 1, batchSize: .fixed(1000), learningRate: 1, clipNorm: 1e-3))
        var squares: Float = 0
        for (a, b) in zip(network.parameterArray, before) { squares += (a - b) * (a - b) }
        #expect(squares.squareRoot() <= 1e-3 * 1.0001)
        #expect(squares.squareRoot() >= 0.99e-3)
    }

    /// Early stopping on the training cost with an adaptive rate: the rate is divided by 5
    /// after `patience` epochs that do not improve by minDelta, and the history records it.
    @Test func adaptiveScheduleDividesTheRate() throws {
        let network = try Network(layerSizes: [2, 8, 2], seed: 6)
        let history = History()
        try train(network, TrainingOptions(
            epochs: 6, batchSize: .fixed(1000), learningRate: 0.01, schedule: .adaptive,
            earlyStopping: EarlyStopping(patience: 2, minDelta: 10)), history: history)
        // minDelta 10: only the first epoch improves (on no cost at all); then every second
        // epoch without improvement divides the rate (in Float, as training does).
        let rate: Float = 0.01
        #expect(history.learningRates == [rate, rate, rate, rate / 5, rate / 5, rate / 5 / 5].map { Double($0) })
    }

    /// The plateau schedule's step (PyTorch's ReduceLROnPlateau) on hand-made values: the
    /// relative and absolute thresholds in both modes, the cooldown holding the count, the
    /// floor and eps.
    @Test func plateauStepsAsPyTorch() {
        func rates(_ values: [Double], _ schedule: Schedule, base: Float = 1, score: Bool = false) -> [Double] {
            var state = PlateauState()
            state.watch(score ? .validationScore : .cost)
            return values.map { value in
                let rate = state.rate ?? Double(base)
                state.step(score ? -value : value, schedule: schedule, base: base)
                return rate
            }
        }
        // Relative, patience 1: 0.99 is not below 1 * (1 - 0.02): bad; 0.95 is better.
        let relative = Schedule.plateau(factor: 0.5, patience: 1, threshold: 0.02)
        #expect(rates([1, 0.99, 0.985, 0.95, 0.94, 0.94, 0.5], relative) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
        // Absolute: 0.99 is below 1 - 0.005.
        let absolute = Schedule.plateau(factor: 0.5, patience: 1, threshold: 0.005, thresholdMode: .absolute)
        #expect(rates([1, 0.99, 0.988, 0.987, 0.5, 0.4999], absolute) == [1, 1, 1, 1, 0.5, 0.5])
        // A score (mode 'max'): 1.01 is not above 1 * 1.02; abs: 1.01 is above 1 + 0.005.
        #expect(rates([1, 1.01, 1.015, 1.05, 1.05, 1.05], relative, score: true) == [1, 1, 1, 0.5, 0.5, 0.5])
        #expect(rates([1, 1.01, 1.012, 1.013, 1.0135], absolute, score: true) == [1, 1, 1, 1, 0.5])
        // Cooldown 2 after each reduction (patience 0): two epochs count nothing.
        let cooled = Schedule.plateau(factor: 0.5, patience: 0, threshold: 0, cooldown: 2)
        #expect(rates([1, 1, 1, 1, 1, 1, 1], cooled) == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
        // The floor: max(r * factor, 0.3); eps 0.05 keeps 0.3 -> 0.3 and refuses 0.32 -> 0.3.
        let floored = Schedule.plateau(factor: 0.4, patience: 0, threshold: 0, minimum: 0.3, eps: 0.05)
        #expect(rates([1, 1, 1, 1], floored) == [1, 1, 0.4, 0.3])
        let eps = Schedule.plateau(factor: 0.8, patience: 0, threshold: 0, minimum: 0.3, eps: 0.05)
        let (a, b) = (0.5 * 0.8, 0.5 * 0.8 * 0.8)
        #expect(rates([1, 1, 1, 1, 1, 1], eps, base: 0.5) == [0.5, 0.5, a, b, b, b])
        // A NaN is never better; the rate is kept in Double (0.1 * 0.1, not through Float).
        let tenth = Double(Float(0.1))
        #expect(rates([.nan, .nan], Schedule.plateau(patience: 0), base: 0.1) == [tenth, tenth * 0.1])
        #expect(rates([1, 2, 3], Schedule.plateau(factor: 0.1, patience: 0), base: 0.1) == [tenth, tenth, tenth * 0.1])
    }

    /// The cyclic schedule is PyTorch's `CyclicLR`: its rates and momenta over 12 steps of
    /// cycles of 3 + 2 (base_lr 0.1, max_lr 1, gamma 0.9, base and max momentum 0.8 and
    /// 0.9), as torch 2.13 gives them in double (pinned), in each mode; the library's Float
    /// rates and momenta are those rounded once.
    @Test func cyclicIsPyTorchsCyclicLR() {
        let torch: [(Schedule.CyclicMode, [Double], [Double])] = [
            (.triangular,
             [0.1, 0.3999999999999999, 0.6999999999999998, 0.9999999999999998, 0.5499999999999999, 0.1,
              0.40000000000000024, 0.6999999999999998, 0.9999999999999998, 0.5500000000000004, 0.1, 0.40000000000000024],
             [0.9, 0.8666666666666667, 0.8333333333333334, 0.8, 0.8500000000000001, 0.9, 0.8666666666666667,
              0.8333333333333334, 0.8, 0.85, 0.9, 0.8666666666666667]),
            (.triangular2,
             [0.1, 0.3999999999999999, 0.6999999999999998, 0.9999999999999998, 0.5499999999999999, 0.1,
              0.2500000000000001, 0.3999999999999999, 0.5499999999999999, 0.3250000000000002, 0.1, 0.17500000000000007],
             [0.9, 0.8666666666666667, 0.8333333333333334, 0.8, 0.8500000000000001, 0.9, 0.8833333333333333,
              0.8666666666666667, 0.8500000000000001, 0.875, 0.9, 0.8916666666666667]),
            (.exponentialRange,
             [0.1, 0.37, 0.586, 0.7560999999999999, 0.39524499999999996, 0.1, 0.25943230000000017, 0.38697813999999997,
              0.487420489, 0.2743392200500002, 0.1, 0.1941431788270001],
             [0.9, 0.87, 0.8460000000000001, 0.8271000000000001, 0.867195, 0.9, 0.8822853, 0.8681135400000001,
              0.8569532790000001, 0.88062897555, 0.9, 0.889539646797]),
        ]
        for (mode, rates, momenta) in torch {
            let schedule = Schedule.cyclic(minimum: 0.1, stepsUp: 3, stepsDown: 2, mode: mode, gamma: 0.9,
                                           cycleMomentum: true, baseMomentum: 0.8, maxMomentum: 0.9)
            for s in 0..<12 {
                let (f, k) = Schedule.cyclic(step: Double(s), up: 3, down: 2, mode: mode, gamma: 0.9)
                #expect(0.1 + (1 - 0.1) * f * k == rates[s], "\(mode) rate at \(s)")
                #expect(0.9 - (0.9 - 0.8) * f * k == momenta[s], "\(mode) momentum at \(s)")
                // Steps are epochs, or batches of B with a rate every mini-batch (s = e B + b).
                #expect(schedule.rate(base: 1, epoch: s, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil) == Float(rates[s]))
                #expect(schedule.rate(base: 1, epoch: s / 4, batch: s % 4, of: 4, examplesSeen: 0, defaultPeriod: 0,
                                      adaptiveRate: nil) == Float(rates[s]))
                #expect(schedule.momentum(epoch: s, defaultPeriod: 0) == Float(momenta[s]))
            }
        }
        // The fall's default (nil) is the rise's length.
        let asUp = Schedule.cyclic(minimum: 0.1, stepsUp: 3, mode: .triangular2, cycleMomentum: true)
        let three = Schedule.cyclic(minimum: 0.1, stepsUp: 3, stepsDown: 3, mode: .triangular2, cycleMomentum: true)
        for s in 0..<14 {
            #expect(asUp.rate(base: 1, epoch: s, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil)
                == three.rate(base: 1, epoch: s, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil))
            #expect(asUp.momentum(epoch: s, defaultPeriod: 0) == three.momentum(epoch: s, defaultPeriod: 0))
        }
        #expect(asUp.rate(base: 1, epoch: 4, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil) != 0.1)
        // Without the momentum cycle, no momentum; a fall of 0 steps (a saw-tooth) as PyTorch's.
        #expect(Schedule.cyclic(minimum: 0.1, stepsUp: 3).momentum(epoch: 1, defaultPeriod: 0) == nil)
        let saw = Schedule.cyclic(minimum: 0, stepsUp: 4, stepsDown: 0)
        #expect((0..<6).map { saw.rate(base: 1, epoch: $0, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil) }
            == [0, 0.25, 0.5, 0.75, 0, 0.25])
    }

    /// The plateau's state after training is the rule's on the history, is kept in the
    /// model file ("PLAT", both monitors), and a corrupt section is refused.
    @Test(arguments: [EarlyStopping.Monitor.cost, .validationScore])
    func plateauStateIsKeptInTheFile(monitor: EarlyStopping.Monitor) throws {
        let moons = try Moons.make(count: 600, noise: 0.3, seed: 2)
        let network = try Network(layerSizes: [2, 8, 2], seed: 5)
        var options = TrainingOptions(epochs: 12, batchSize: .fixed(32), learningRate: 0.5,
                                      schedule: .plateau(factor: 0.5, patience: 0, threshold: 0.05, cooldown: 1))
        options.validationFraction = 0.25
        options.earlyStopping.monitor = monitor
        let history = History()
        try network.train(x: moons.x, classes: moons.y, features: 2, options: options, history: history)
        let state = network.trainingState.plateau
        #expect(state.rate != nil && state.monitor == monitor)
        #expect(Set(history.learningRates).count >= 3)
        // The rule replayed on the history's monitored values (written out here, as the
        // header gives it): the same rate, best (as a cost) and counts, and each epoch's rate.
        let values = monitor == .cost ? history.validationCosts : history.validationScores
        var (rate, best, bad, cool) = (Double(Float(0.5)), monitor == .cost ? Double.infinity : -.infinity, 0, 0)
        var rates: [Double] = []
        for v in values {
            rates.append(Double(Float(rate)))
            let better = monitor == .cost ? v < best * (1 - 0.05) : v > best * (0.05 + 1)
            if better { (best, bad) = (v, 0) } else { bad += 1 }
            if cool > 0 { (cool, bad) = (cool - 1, 0) }
            if bad > 0 {
                let new = max(rate * 0.5, 0)
                if rate - new > 1e-8 { rate = new }
                (cool, bad) = (1, 0)
            }
        }
        #expect(history.learningRates == rates)
        #expect(state.rate == rate && state.best == (monitor == .cost ? best : -best) && state.badEpochs == bad
            && state.cooldown == cool)
        let bytes = try ModelFile.encode(network)
        let loaded = try ModelFile.decode(bytes, path: "memory")
        #expect(loaded.trainingState.plateau == state)
        // The section's body: monitor, has rate, rate, best, bad epochs, cooldown.
        let tag = Array("PLAT".utf8)
        let at = (0...(bytes.count - 4)).reversed().first { Array(bytes[$0..<$0 + 4]) == tag }!
        let body = at + 12
        func corrupted(_ offset: Int, _ value: [UInt8]) -> MiniBatchError? {
            var copy = bytes
            copy.replaceSubrange(body + offset..<body + offset + value.count, with: value)
            let crc = copy.withUnsafeBytes { all in
                CRC32.value(CRC32.update(CRC32.start, UnsafeRawBufferPointer(rebasing: all[0..<all.count - 4])))
            }
            withUnsafeBytes(of: crc.littleEndian) { copy.replaceSubrange(copy.count - 4..<copy.count, with: $0) }
            do { _ = try ModelFile.decode(copy, path: "memory") } catch { return error }
            return nil
        }
        #expect(corrupted(0, [2, 0, 0, 0])?.message.contains("plateau") == true)
        #expect(corrupted(4, [2, 0, 0, 0])?.message.contains("plateau") == true)
        let minusOne = withUnsafeBytes(of: (-1.0).bitPattern.littleEndian) { Array($0) }
        #expect(corrupted(8, minusOne)?.message.contains("plateau learning rate") == true)
        let nan = withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { Array($0) }
        #expect(corrupted(16, nan)?.message.contains("plateau best") == true)
        #expect(corrupted(24, [0, 0, 0, 0, 0, 0, 0, 0x80])?.message.contains("plateau") == true)
        #expect(corrupted(0, [monitor == .cost ? 1 : 0, 0, 0, 0]) == nil)  // the other monitor: valid
        // A section one byte longer than its fields (the length says so): refused.
        var longer = bytes
        longer.insert(0, at: body + 40)
        longer[at + 4] += 1
        let crc = longer.withUnsafeBytes { all in
            CRC32.value(CRC32.update(CRC32.start, UnsafeRawBufferPointer(rebasing: all[0..<all.count - 4])))
        }
        withUnsafeBytes(of: crc.littleEndian) { longer.replaceSubrange(longer.count - 4..<longer.count, with: $0) }
        #expect(throws: MiniBatchError.self) { _ = try ModelFile.decode(longer, path: "memory") }
        // reset forgets it; a call with another schedule leaves it as it was
        let kept = network.trainingState.plateau
        try network.train(x: moons.x, classes: moons.y, features: 2, options: TrainingOptions(
            epochs: 2, batchSize: .fixed(32), learningRate: 0.5, schedule: .step(every: 1, gamma: 0.5)))
        #expect(network.trainingState.plateau == kept)
        try network.resetTrainingState()
        #expect(network.trainingState.plateau.isFresh)
    }

    /// Adam's vectorised path (Sources/CMatrix/update.c) is bit-identical to the Swift rule,
    /// with one and two gradient buffers, with and without decoupled decay, L2, clipping by
    /// norm (the scale) and by value (0.4: about half of these gradients are clipped), over
    /// ranges that end inside and outside a vector of lanes (`KernelFixture`).
    @Test(arguments: [(1, Float(0)), (2, Float(0.01))])
    func adamVectorisedEqualsTheRule(shards: Int, weightDecay: Float) {
        let f = KernelFixture(shards: shards, seed: 1, scales: [0.1, 0.01])
        let rule = AdamRule(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: weightDecay)
        for (range, terms) in Self.rangesAndTerms(KernelFixture.n, GradientTerms(l2: 0.003, scale: 0.75, clip: 0.4)) {
            f.compare(rule, range, terms, "Adam")
        }
    }

    /// AMSGrad's vectorised path (`mbm_amsgrad`) is bit-identical to the Swift rule, as
    /// Adam's; the maximum keeps vmax in some lanes and takes v in others; NaN and infinite
    /// lanes are reported alike.
    @Test(arguments: [(1, Float(0)), (2, Float(0.01))])
    func amsgradVectorisedEqualsTheRule(shards: Int, weightDecay: Float) {
        let f = KernelFixture(shards: shards, seed: 31, scales: [0.1, 0.5, 0.5])
        let rule = AMSGradRule(adam: AdamRule(beta1: 0.9, beta2: 0.9, epsilon: 1e-8, weightDecay: weightDecay))
        let terms = GradientTerms(l2: 0.003, scale: 0.75, clip: 0.4)
        for (range, terms) in Self.rangesAndTerms(KernelFixture.n, terms) {
            f.compare(rule, range, terms, "AMSGrad")
            let vmax = f.state[2], newV = f.out(0, 2), newMax = f.out(0, 3)
            var kept = 0
            for i in range where newMax[i] == vmax[i] && newMax[i] != newV[i] { kept += 1 }
            #expect(kept > 0 && kept < range.count)
        }
        f.expectNonFiniteLanes(rule, terms)
    }

    /// Adamax's vectorised path (`mbm_adamax`) is bit-identical to the Swift rule, with one
    /// and two gradient buffers, L2 and clipping, over ranges that end inside and outside a
    /// vector of lanes; u's maximum takes each side in some lanes, and ties where beta2 * u
    /// equals |g| + epsilon exactly; NaN and infinite lanes are reported alike.
    @Test(arguments: [1, 2])
    func adamaxVectorisedEqualsTheRule(shards: Int) {
        let f = KernelFixture(shards: shards, seed: 21, scales: [0.1, 2])
        let u = f.state[1]
        // A few ties for the second rule: beta2 * u = 0.75 * 2 = |1| + 0.5, exact in float.
        for i in stride(from: 0, to: 700, by: 50) {
            u[i] = 2
            f.g0[i] = i % 100 == 0 ? 1 : -1
            f.g1[i] = 0
        }
        for (rule, terms) in [(AdamaxRule(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), GradientTerms(l2: 0.003, scale: 0.75, clip: 0.4)),
                              (AdamaxRule(beta1: 0.9, beta2: 0.75, epsilon: 0.5), GradientTerms()),
                              (AdamaxRule(beta1: 0.9, beta2: 0.75, epsilon: 0.5), GradientTerms(l2: 0.003, scale: 0.75, clip: 0.4, decay: 0.05))] {
            for range in [0..<KernelFixture.n, 3..<(KernelFixture.n - 3)] {
                f.compare(rule, range, terms, "Adamax")
                var decayedWins = 0
                for i in range where f.out(0, 2)[i] == rule.beta2 * u[i] { decayedWins += 1 }
                #expect(decayedWins > 0 && decayedWins < range.count)
            }
            f.expectNonFiniteLanes(rule, terms)
        }
    }

    /// Adadelta's vectorised path (`mbm_adadelta`, 0.11.0) is bit-identical to the Swift rule,
    /// with one and two gradient buffers, L2, clipping and the coupled decay, rho 0.9 and 0
    /// and 1 (PyTorch's range's ends), over ranges that end inside and outside a vector of
    /// lanes; NaN and infinite lanes are reported alike.
    @Test(arguments: [1, 2])
    func adadeltaVectorisedEqualsTheRule(shards: Int) {
        let f = KernelFixture(shards: shards, seed: 41, scales: [0.05, 0.01], firstSigned: false)
        for (rule, terms) in [(AdadeltaRule(rho: 0.9, epsilon: 1e-6), GradientTerms(l2: 0.003, scale: 0.75, clip: 0.4)),
                              (AdadeltaRule(rho: 0, epsilon: 1e-3), GradientTerms()),
                              (AdadeltaRule(rho: 1, epsilon: 1e-6), GradientTerms(decay: 0.05)),
                              (AdadeltaRule(rho: 0.95, epsilon: 1e-6), GradientTerms(l2: 0.003, scale: 0.75, clip: 0.4, decay: 0.05))] {
            for range in [0..<KernelFixture.n, 3..<(KernelFixture.n - 3)] {
                f.compare(rule, range, terms, "Adadelta")
            }
            f.expectNonFiniteLanes(rule, terms)
        }
    }

    /// Momentum's, RMSprop's and Adagrad's vectorised paths (`mbm_momentum`, `mbm_rmsprop`,
    /// `mbm_adagrad`) are bit-identical to the Swift rules, with one and two gradient
    /// buffers, Nesterov's form, L2 and clipping, over ranges that end inside and outside a
    /// vector of lanes.
    @Test(arguments: [1, 2])
    func momentumAndRMSpropVectorisedEqualTheRules(shards: Int) {
        let f = KernelFixture(shards: shards, seed: 11, scales: [0.1], firstSigned: false)  // v >= 0
        for (range, terms) in Self.rangesAndTerms(KernelFixture.n, GradientTerms(l2: 0.003, scale: 0.75, clip: 0.4)) {
            for nesterov in [false, true] {
                f.compare(MomentumRule(momentum: 0.9, nesterov: nesterov), range, terms, "momentum, nesterov \(nesterov)")
            }
            f.compare(RMSpropRule(rho: 0.99, epsilon: 1e-8), range, terms, "RMSprop")
            f.compare(AdagradRule(epsilon: 1e-8), range, terms, "Adagrad")
        }
        // A step that overflows is reported by both.
        let (swift, c) = f.run(MomentumRule(momentum: 0.9, nesterov: false), 0..<KernelFixture.n,
                               GradientTerms(l2: 0, scale: 1e3), rate: 1e38)
        #expect(!swift && !c)
    }

    /// NAdam's, RAdam's and RMSprop's general vectorised paths (`mbm_nadam`, `mbm_radam`,
    /// `mbm_rmsprop_general`) are bit-identical to the Swift rules, with one and two gradient
    /// buffers, L2 and clipping, over ranges that end inside and outside a vector of lanes:
    /// NAdam with mu_t far from beta1 and near it, RAdam rectified (t 7 at beta2 0.999) and
    /// with its momentum step (beta2 0.5: rho_inf 3, never rectified), RMSprop centred (some lanes' variance
    /// rounded below 0, clamped), with momentum, and both; NaN and infinite lanes alike.
    @Test(arguments: [1, 2])
    func nadamRAdamAndRMSpropFormsVectorisedEqualTheRules(shards: Int) {
        let terms = GradientTerms(l2: 0.003, scale: 0.75, clip: 0.4)
        let f = KernelFixture(shards: shards, seed: 41, scales: [0.1, 0.05])
        // (0.10.0: with a decoupled weight decay too, PyTorch's NAdamW and RAdamW)
        for (decay, weightDecay) in [(0.004, Float(0)), (0.9, 0), (0.004, 0.1)] {
            let product = NAdamRule.momentumProduct(through: 7, beta1: 0.9, momentumDecay: decay)
            let rule = NAdamRule(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentumDecay: decay, product: product,
                                 weightDecay: weightDecay)
            for (range, terms) in Self.rangesAndTerms(KernelFixture.n, terms) {
                f.compare(rule, range, terms, "NAdam \(decay), weight decay \(weightDecay)")
            }
            f.expectNonFiniteLanes(rule, terms)
        }
        for (beta2, weightDecay) in [(Float(0.999), Float(0)), (0.5, 0), (0.999, 0.1), (0.5, 0.1)] {
            let rule = RAdamRule(beta1: 0.9, beta2: beta2, epsilon: 1e-8, weightDecay: weightDecay)
            #expect(rule.coefficients(rate: 0.01, step: 7).rectified == (beta2 == 0.999))
            for (range, terms) in Self.rangesAndTerms(KernelFixture.n, terms) {
                f.compare(rule, range, terms, "RAdam \(beta2), weight decay \(weightDecay)")
            }
            f.expectNonFiniteLanes(rule, terms)
        }
        // RMSprop's forms: v >= 0; g's average signed; the buffer signed. A few lanes where
        // the average's square exceeds v after the update (clamped to 0).
        let g = KernelFixture(shards: shards, seed: 51, scales: [0.01, 0.5, 0.1], firstSigned: false)
        for i in 0..<KernelFixture.n where i % 3 == 0 { g.state[1][i] = i % 2 == 0 ? 0.5 : -0.5 }
        let centered = RMSpropGeneralRule<RMSpropCentered>(rho: 0.9, epsilon: 1e-8, momentum: 0)
        let momentum = RMSpropGeneralRule<RMSpropMomentum>(rho: 0.99, epsilon: 1e-8, momentum: 0.9)
        let both = RMSpropGeneralRule<RMSpropCenteredMomentum>(rho: 0.9, epsilon: 1e-8, momentum: 0.5)
        for (range, terms) in Self.rangesAndTerms(KernelFixture.n, terms) {
            g.compare(centered, range, terms, "RMSprop centred")
            g.compare(momentum, range, terms, "RMSprop momentum")
            g.compare(both, range, terms, "RMSprop centred with momentum")
        }
        // Some lanes were clamped: v - a^2 < 0 there, and the step is g / epsilon.
        _ = g.run(centered, 0..<KernelFixture.n, GradientTerms())
        var clamped = 0
        for i in 0..<KernelFixture.n {
            let v = g.out(0, 1)[i], a = g.out(0, 2)[i]
            if v - a * a < 0 { clamped += 1 }
        }
        #expect(clamped > 0)
        g.expectNonFiniteLanes(centered, terms)
        g.expectNonFiniteLanes(both, terms)
    }

    /// NAdam's product P_t: the same bits computed afresh as carried from step to step (a
    /// resumed model computes it afresh), factor by factor as the formula until a factor
    /// is beta1, then in closed form (a product below the smallest normal Double is 0); P_t < 1; a step count as large as a model file may
    /// hold is computed at once (the factors stop changing within a few hundred thousand
    /// steps, or the product underflows).
    @Test func nadamMomentumProduct() {
        for (beta1, decay) in [(Float(0.9), 0.004), (0.99, 0.0), (0.5, 0.2), (0, 0.004), (0.999, 1e-6), (0.9, 1e300),
                               (0.999, 3e-5), (0.99999994, 0.0201246)] {
            var carried = NAdamRule.MomentumProducts()
            var reference = 1.0
            for t in 1...3000 {
                reference *= NAdamRule.mu(t, beta1: beta1, momentumDecay: decay)
                if reference < Double.leastNormalMagnitude { reference = 0 }
                let value = carried.product(through: t, beta1: beta1, momentumDecay: decay)
                if t % 97 == 0 || t < 5 {
                    #expect(value.bitPattern == NAdamRule.momentumProduct(through: t, beta1: beta1, momentumDecay: decay).bitPattern)
                }
                // Until the factors settle, exactly the formula's product.
                if NAdamRule.mu(t, beta1: beta1, momentumDecay: decay) != Double(beta1) {
                    #expect(value.bitPattern == reference.bitPattern, "beta1 \(beta1), decay \(decay), t \(t)")
                }
                #expect(value >= 0 && value < 1)
            }
            // A step back (a rolled-back step asks for the same t again) and a jump ahead.
            #expect(carried.product(through: 2999, beta1: beta1, momentumDecay: decay).bitPattern
                    == NAdamRule.momentumProduct(through: 2999, beta1: beta1, momentumDecay: decay).bitPattern)
            var fresh = NAdamRule.MomentumProducts()
            let huge = fresh.product(through: Int.max / 2, beta1: beta1, momentumDecay: decay)
            #expect(huge >= 0 && huge < 1)
            // The factors computed before the closed form (or 0): at most about 45,000 (44,717
            // at beta1 0.99999994, decay 0.0201246, the most a scan found; 3e7 at beta1 0.999,
            // decay 3e-5, when a subnormal product could stay subnormal).
            #expect(fresh.i <= 45_000, "beta1 \(beta1), decay \(decay): \(fresh.i) factors")
        }
        // Settled at beta1 0.9, decay 40 (0.96^(40 t) < 2^-53 from t = 23): closed form after.
        let settled = (1...40).first { NAdamRule.mu($0, beta1: 0.9, momentumDecay: 40) == Double(Float(0.9)) }!
        var p = 1.0
        for t in 1..<settled { p *= NAdamRule.mu(t, beta1: 0.9, momentumDecay: 40) }
        #expect(NAdamRule.momentumProduct(through: settled + 5, beta1: 0.9, momentumDecay: 40)
                == p * pow(Double(Float(0.9)), 6))
    }

    /// Adagrad's accumulator starts at initialAccumulator when the state starts afresh (a new
    /// network, after another rule, after a reset) and a call that continues the state
    /// ignores a new value; lrDecay divides step t's rate by 1 + (t - 1) * lrDecay.
    @Test func adagradInitialAccumulatorAndDecay() throws {
        var options = TrainingOptions(epochs: 1, batchSize: .fixed(100), learningRate: 0.05, threads: 1,
                                      optimizer: .adagrad(initialAccumulator: 0.25))
        let network = try Network(layerSizes: [2, 4, 2], seed: 1)
        try train(network, options)
        let slot = network.trainingState.slots[0]
        // After one step the accumulator is 0.25 + g^2 >= 0.25 everywhere (g^2 >= 0).
        #expect((0..<network.parameterCount).allSatisfy { slot[$0] >= 0.25 })
        let after = Array(UnsafeBufferPointer(start: slot, count: network.parameterCount))
        options.optimizer = .adagrad(initialAccumulator: 100)  // continues: ignored
        let fresh = try Network(layerSizes: [2, 4, 2], seed: 1)
        try train(fresh, TrainingOptions(epochs: 1, batchSize: .fixed(100), learningRate: 0.05, threads: 1,
                                         optimizer: .adagrad(initialAccumulator: 0.25)))
        try train(network, options)
        #expect((0..<network.parameterCount).allSatisfy { network.trainingState.slots[0][$0] < 100 })
        #expect((0..<network.parameterCount).allSatisfy { network.trainingState.slots[0][$0] >= after[$0] })
        // Another rule, then Adagrad again: afresh, at the new value.
        try train(network, TrainingOptions(epochs: 1, batchSize: .fixed(100), learningRate: 0.05, threads: 1,
                                           optimizer: .adam()))
        try train(network, options)
        #expect((0..<network.parameterCount).allSatisfy { network.trainingState.slots[0][$0] >= 100 })
        // A reset, then afresh again.
        try network.resetTrainingState()
        options.optimizer = .adagrad(initialAccumulator: 7)
        try train(network, options)
        #expect((0..<network.parameterCount).allSatisfy { (7..<100).contains(network.trainingState.slots[0][$0]) })
        // lrDecay: step 2's rate is rate / (1 + lrDecay) (history's rate is the epoch's base).
        #expect(AdagradRule(epsilon: 1e-8, lrDecay: 0.5).coefficients(rate: 0.3, step: 2) == Float(0.3 / 1.5))
        #expect(AdagradRule(epsilon: 1e-8, lrDecay: 0.5).coefficients(rate: 0.3, step: 1) == Float(0.3))
        withExtendedLifetime(fresh) {}
    }

    /// The warm-up multiplies the schedule's rate by s + (1 - s) * min(e, W) / W, e over the
    /// network's life (two calls give the rates of one), computed in Double and rounded once
    /// (gamma 0.9 and s 0.2: rounding the schedule's rate to Float first differs at e = 2).
    @Test func warmupMultipliesTheSchedule() throws {
        var options = TrainingOptions(epochs: 4, batchSize: .fixed(100), learningRate: 0.1, threads: 1,
                                      schedule: .exponential(gamma: 0.9))
        options.warmup = Warmup(epochs: 5, startFactor: 0.2)
        let network = try Network(layerSizes: [2, 4, 2], seed: 1)
        let history = History()
        try train(network, options, history: history)
        options.epochs = 3
        try train(network, options, history: history)
        func factor(_ e: Int) -> Double { e < 5 ? 0.2 + 0.8 * Double(e) / 5 : 1 }
        let expected = (0..<7).map { e in Double(Float(factor(e) * (Double(Float(0.1)) * pow(0.9, Double(e))))) }
        #expect(history.learningRates == expected)
        let twice = (0..<7).map { e in Double(Float(factor(e) * Double(Float(Double(Float(0.1)) * pow(0.9, Double(e)))))) }
        #expect(twice != expected)  // (the case tells one rounding from two)
        #expect(Warmup().factor(epoch: 0) == 1 && Warmup(epochs: 3).factor(epoch: 0) == 1.0 / 3)
        #expect(Warmup(epochs: 3).factor(epoch: 3) == 1 && Warmup(epochs: 3).factor(epoch: 1_000_000) == 1)
        // Refused before anything changes.
        for bad in [Warmup(epochs: -1), Warmup(epochs: 2, startFactor: 0), Warmup(epochs: 2, startFactor: .nan)] {
            var o = options
            o.warmup = bad
            #expect(throws: MiniBatchError.self) { try train(network, o) }
        }
        #expect(network.epochsTrained == 7)
    }

    /// The schedules of 0.7.0: multi-step counts the milestones at or before e (a repeated
    /// one twice, any order); cosine with restarts walks cycles of T0, T0 r, T0 r^2, ...
    /// epochs (in integers; a cycle too long for Int holds every later epoch, its length in
    /// Double: no overflow, however late the epoch), and two calls follow the schedule of one.
    @Test func multiStepAndCosineRestarts() throws {
        #expect(Schedule.cycle(epoch: 0, period: 3, multiplier: 2) == (0, 3))
        #expect(Schedule.cycle(epoch: 3, period: 3, multiplier: 2) == (0, 6))
        #expect(Schedule.cycle(epoch: 8, period: 3, multiplier: 2) == (5, 6))
        #expect(Schedule.cycle(epoch: 9, period: 3, multiplier: 2) == (0, 12))
        #expect(Schedule.cycle(epoch: 1_000_000_007, period: 10, multiplier: 1) == (7, 10))
        let late = Schedule.cycle(epoch: Int.max, period: 3, multiplier: 1 << 40)
        #expect(late.since >= 0 && Double(late.since) < late.length)
        let last = Schedule.cycle(epoch: Int.max - 1, period: Int.max / 2, multiplier: 3)
        #expect(last.since >= 0 && last.length == Double(Int.max / 2) * 3)
        let multi = Schedule.multiStep(milestones: [5, 2, 5], gamma: 0.5)
        let rates = (0..<7).map { multi.rate(base: 0.1, epoch: $0, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil) }
        #expect(rates == [0.1, 0.1, 0.05, 0.05, 0.05, 0.0125, 0.0125].map { Float(Double(Float(0.1)) * $0 / 0.1) })
        // One-cycle (0.9.0): from 0.1 / 10 up to 0.1 at step 0.25 * 8 - 1 = 1, down to
        // 0.01 / 100 at step 7, held after; per batch (B = 4), step e B + b of 32.
        let cycle = Schedule.oneCycle(period: 8, pctStart: 0.25, divFactor: 10, finalDivFactor: 100)
        let peak = Double(Float(0.1))
        func anneal(_ a: Double, _ b: Double, _ p: Double) -> Float { Float(b + (a - b) * (1 + cos(Double.pi * p)) / 2) }
        let byEpoch = (0..<10).map { cycle.rate(base: 0.1, epoch: $0, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil) }
        #expect(byEpoch == [anneal(peak / 10, peak, 0), anneal(peak / 10, peak, 1)]
                + (2..<10).map { anneal(peak, peak / 10 / 100, min(Double($0 - 1) / 6, 1)) })
        #expect(cycle.rate(base: 0.1, epoch: 2, batch: 3, of: 4, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil)
                == anneal(peak, peak / 10 / 100, (11 - 7) / 24.0))
        // The momentum cycle (0.10.0): 0.95 at step 0, 0.85 at the peak (step 1), 0.95 at
        // step 7 and after, the rate's phases; none without it.
        let cycled = Schedule.oneCycle(period: 8, pctStart: 0.25, divFactor: 10, finalDivFactor: 100, cycleMomentum: true)
        let momenta = (0..<10).compactMap { cycled.momentum(epoch: $0, defaultPeriod: 0) }
        #expect(momenta == [Float(0.95), Float(0.85)] + (2..<10).map { anneal(0.85, 0.95, min(Double($0 - 1) / 6, 1)) })
        #expect(cycled.momentum(epoch: 2, batch: 3, of: 4, defaultPeriod: 0) == anneal(0.85, 0.95, (11 - 7) / 24.0))
        #expect(cycle.momentum(epoch: 0, defaultPeriod: 0) == nil && Schedule.constant.momentum(epoch: 0, defaultPeriod: 0) == nil)
        #expect((0..<10).map { cycled.rate(base: 0.1, epoch: $0, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil) } == byEpoch)
        // Three phases, linear (0.10.0): up to 0.1 at step 1, back to 0.01 at step 2 x 0.25 x 8
        // - 2 = 2, down to 0.0001 at step 7; the momentum 0.95, 0.85, 0.95, held.
        let three = Schedule.oneCycle(period: 8, pctStart: 0.25, divFactor: 10, finalDivFactor: 100, cycleMomentum: true,
                                      threePhase: true, annealing: .linear)
        func line(_ a: Double, _ b: Double, _ p: Double) -> Float { Float((b - a) * p + a) }
        #expect((0..<10).map { three.rate(base: 0.1, epoch: $0, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil) }
                == [line(peak / 10, peak, 0), line(peak / 10, peak, 1), line(peak, peak / 10, 1)]
                + (3..<10).map { line(peak / 10, peak / 10 / 100, min(Double($0 - 2) / 5, 1)) })
        #expect((0..<10).compactMap { three.momentum(epoch: $0, defaultPeriod: 0) }
                == [Float(0.95), Float(0.85), line(0.85, 0.95, 1)] + (3..<10).map { _ in Float(0.95) })
        // Per batch (B = 4): the phases end at steps 7, 14 and 31; step 2 x 4 + 3 = 11 is 4/7 of
        // the way back down.
        #expect(three.rate(base: 0.1, epoch: 2, batch: 3, of: 4, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil)
                == line(peak, peak / 10, 4.0 / 7))
        #expect(three.momentum(epoch: 2, batch: 3, of: 4, defaultPeriod: 0) == line(0.85, 0.95, 4.0 / 7))
        #expect(three.momentum(epoch: 5, batch: 1, of: 4, defaultPeriod: 0) == Float(0.95))
        // Past the last step the last value, also where the second of three phases ends
        // after it (pct_start 0.8 of 10: at step 14): PyTorch raises there.
        let pastTheEnd = Schedule.oneCycle(period: 10, pctStart: 0.8, divFactor: 10, finalDivFactor: 100, threePhase: true)
        #expect((10..<16).map { pastTheEnd.rate(base: 0.1, epoch: $0, examplesSeen: 0, defaultPeriod: 0, adaptiveRate: nil) }
                == [Float](repeating: Float(peak / 10 / 100), count: 6))
        // The rule training runs: the momentum or beta1 at max_momentum, plain SGD and
        // RMSprop in their momentum forms; unchanged without the cycle.
        var cycling = TrainingOptions(optimizer: .gradientDescent, schedule: cycled)
        #expect(cycling.updateRule == .sgd(momentum: 0.95) && cycling.updateRule.kind == .momentum)
        cycling.optimizer = .rmsprop()
        #expect(cycling.updateRule.kind == .rmspropMomentum)
        cycling.optimizer = .adamW(beta1: 0.5)
        #expect(cycling.updateRule == .adamW(beta1: 0.95))
        #expect(TrainingOptions(optimizer: .adam(beta1: 0.5), schedule: cycle).updateRule == .adam(beta1: 0.5))
        // A rise of no length (pct_start N = 1): step 0 is the peak.
        #expect(Schedule.oneCycle(period: 10, pctStart: 0.1).rate(base: 0.1, epoch: 0, examplesSeen: 0, defaultPeriod: 0,
                                                                  adaptiveRate: nil) == Float(0.1))
        let restarts = Schedule.cosineRestarts(period: 2, multiplier: 2, minimum: 0.01)
        var options = TrainingOptions(epochs: 3, batchSize: .fixed(100), learningRate: 0.1, threads: 1, schedule: restarts)
        let network = try Network(layerSizes: [2, 4, 2], seed: 1)
        let history = History()
        try train(network, options, history: history)
        options.epochs = 4
        try train(network, options, history: history)
        let expected = [(0, 2), (1, 2), (0, 4), (1, 4), (2, 4), (3, 4), (0, 8)].map { c, t in
            Double(Float(0.01 + (Double(Float(0.1)) - 0.01) * (1 + cos(Double.pi * Double(c) / Double(t))) / 2))
        }
        #expect(history.learningRates == expected)
        for bad in [Schedule.multiStep(milestones: [1, -1]), .multiStep(milestones: [], gamma: 0), .cosineRestarts(period: 0),
                    .cosineRestarts(period: 2, multiplier: 0), .cosineRestarts(period: 2, minimum: .infinity)] {
            options.schedule = bad
            #expect(throws: MiniBatchError.self) { try train(network, options) }
        }
        #expect(network.epochsTrained == 7)
    }

    /// Exact resume through a file: N epochs, save, load, M more equals N + M in one call
    /// (weights and history), for a rule with state, a schedule and early stopping; for
    /// three of the rules, with a warm-up that the resume crosses.
    @Test(arguments: [Optimizer.adam(), .sgd(momentum: 0.9, nesterov: true), .rmsprop(), .adagrad(), .adamax(),
                      .adamW(beta2: 0.9, amsgrad: true), .nadam(momentumDecay: 0.05), .radam(),
                      .rmsprop(momentum: 0.9, centered: true), .adadelta()])
    func resumeFromAFileIsExact(optimizer: Optimizer) throws {
        let path = "/tmp/minibatch-resume-\(UInt32.random(in: 0...UInt32.max)).mbm"
        defer { unlink(path) }
        var options = TrainingOptions(epochs: 7, batchSize: .fixed(64), learningRate: 0.01, seed: 4, threads: 2,
                                      optimizer: optimizer, schedule: .cosine(period: 7, minimum: 0.001), l2: 0.01,
                                      earlyStopping: EarlyStopping(patience: 50))
        if [.rmsprop, .adagrad, .adamWAMSGrad, .nadam].contains(optimizer.kind) {
            options.warmup = Warmup(epochs: 5, startFactor: 0.5)  // crosses the resume
        }
        let whole = try Network(layerSizes: [2, 16, 2], hiddenActivation: .tanh, seed: 6)
        let wholeHistory = History()
        try train(whole, options, history: wholeHistory)
        let first = try Network(layerSizes: [2, 16, 2], hiddenActivation: .tanh, seed: 6)
        let history = History()
        options.epochs = 3
        try train(first, options, history: history)
        try first.save(to: path)
        let resumed = try Network.load(from: path)
        options.epochs = 4
        try train(resumed, options, history: history)
        #expect(resumed.parameterArray == whole.parameterArray)
        #expect(history.batchCosts == wholeHistory.batchCosts)
        #expect(history.learningRates == wholeHistory.learningRates)
        #expect(resumed.trainingState.step == whole.trainingState.step)
    }
}
