import CMatrix

/// Every check of a caller's arguments, in one place (after liblinear's `check_parameter`).
///
/// Each function throws `.invalidArgument` with a message that names the argument, and is
/// called by both the Swift API and the C entry points before any work or allocation. The
/// package's targets (the C entry points, the command line) use it; users see its errors.
package enum Validate {
    /// The largest size along one dimension: BLAS takes 32-bit sizes.
    package static let maxDimension = Int(Int32.max)

    /// A size that must be in 1...maxDimension.
    package static func size(_ value: Int, _ name: String) throws(MiniBatchError) {
        guard value >= 1 else { throw .invalid("\(name) must be positive, got \(value)") }
        guard value <= maxDimension else {
            throw .invalid("\(name) is too large: \(value) (at most \(maxDimension))")
        }
    }

    /// A count of rows that must be positive (rows are not bounded by BLAS: batches are).
    package static func count(_ value: Int, _ name: String) throws(MiniBatchError) {
        guard value >= 1 else { throw .invalid("\(name) must be positive, got \(value)") }
    }

    /// A count of elements of `bytes` bytes each that a caller's buffer holds: positive, and
    /// few enough that the buffer's size in bytes is a number (at most Int.max / bytes; a
    /// larger count cannot describe memory, and indexing it would overflow).
    package static func count(_ value: Int, _ name: String, elementBytes bytes: Int) throws(MiniBatchError) {
        try count(value, name)
        guard value <= Int.max / bytes else {
            throw .invalid("\(name) is too large: \(value) (at most \(Int.max / bytes), the most \(bytes)-byte elements a buffer can hold)")
        }
    }

    /// Throws `.outOfMemory` unless `count` elements of `bytes` bytes fit the memory the
    /// process may use (`SystemMemory.usable()`) and what its limits leave it
    /// (`SystemMemory.underLimits()`: `ulimit -v`). Results returned as Swift arrays are
    /// checked first: Swift ends the process when an array's allocation fails.
    package static func fitsMemory(_ count: Int, elementBytes bytes: Int, _ what: String) throws(MiniBatchError) {
        let (total, overflow) = count.multipliedReportingOverflow(by: bytes)
        let usable = min(SystemMemory.usable(), SystemMemory.underLimits())
        guard !overflow, total <= usable else {
            throw MiniBatchError(.outOfMemory, "out of memory: \(what) would take \(overflow ? "more than 2^63" : String(total)) bytes, more than the \(usable) bytes this process may use")
        }
    }

    /// A memory budget in bytes: >= 0 (0: no limit).
    package static func memoryBudget(_ budget: Int) throws(MiniBatchError) {
        guard budget >= 0 else { throw .invalid("memory_budget must be >= 0, got \(budget)") }
    }

    /// A byte count for a message: a negative one is a C size_t of 2^63 or more (SIZE_MAX
    /// read as -1), shown as both.
    package static func asSize(_ value: Int) -> String {
        value >= 0 ? "\(value)" : "\(value) (\(UInt(bitPattern: value)) as a size_t)"
    }

    /// A shuffle's rows (`Shuffle`, mb_shuffle, mb_shuffle_into): m >= 1 rows of X of
    /// x_row_bytes >= 1 bytes, and of y of y_row_bytes >= 1 bytes when y is given (0 when it
    /// is not). Returns the byte lengths of X and y.
    package static func shuffle(count m: Int, xRowBytes: Int, hasY: Bool, yRowBytes: Int) throws(MiniBatchError) -> (x: Int, y: Int) {
        try count(m, "m")
        guard xRowBytes >= 1 else { throw .invalid("x_row_bytes must be positive, got \(asSize(xRowBytes))") }
        if hasY {
            guard yRowBytes >= 1 else { throw .invalid("y_row_bytes must be positive when y is given, got \(asSize(yRowBytes))") }
        } else {
            guard yRowBytes == 0 else { throw .invalid("y is NULL but y_row_bytes is \(asSize(yRowBytes)) (must be 0)") }
        }
        return (try product(m, xRowBytes, "x (m x x_row_bytes)"), try product(m, yRowBytes, "y (m x y_row_bytes)"))
    }

    /// `a * b` without overflow, for sizing buffers.
    package static func product(_ a: Int, _ b: Int, _ name: String) throws(MiniBatchError) -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow, p <= Int.max / 8 else { throw .invalid("\(name) is too large (\(a) x \(b))") }
        return p
    }

    /// The layer sizes, activations and loss of a new network.
    package static func architecture(
        layerSizes: [Int], hiddenActivations: [Activation], loss: Loss
    ) throws(MiniBatchError) {
        guard layerSizes.count >= 2 else {
            throw .invalid("layer_sizes needs at least 2 sizes (inputs and outputs), got \(layerSizes.count)")
        }
        for (i, size) in layerSizes.enumerated() { try self.size(size, "layer_sizes[\(i)]") }
        guard hiddenActivations.count == layerSizes.count - 2 else {
            throw .invalid("activations needs \(layerSizes.count - 2) entries (one per hidden layer), got \(hiddenActivations.count)")
        }
        if loss == .crossEntropy, layerSizes.last! < 2 {
            throw .invalid("loss MB_LOSS_CROSS_ENTROPY (softmax) needs at least 2 outputs, got \(layerSizes.last!); use MB_LOSS_BINARY_CROSS_ENTROPY for one output")
        }
        // Sizes in range whose parameters cannot be addressed are an allocation that cannot
        // succeed, not a bad argument.
        guard parameterCount(layerSizes) != nil else {
            throw MiniBatchError(.outOfMemory, "out of memory: layer sizes \(layerSizes) make the network too large to allocate")
        }
    }

    /// The parameters of a network of `layerSizes` (each layer's weights and biases), or nil
    /// when they number more than a float buffer can address (Int.max / 8), counted without
    /// overflow.
    static func parameterCount(_ layerSizes: [Int]) -> Int? {
        var total = 0
        for i in 1..<layerSizes.count {
            let (w, wOverflow) = layerSizes[i].multipliedReportingOverflow(by: layerSizes[i - 1] + 1)
            let (sum, overflow) = total.addingReportingOverflow(w)
            guard !wOverflow, !overflow, sum <= Int.max / 8 else { return nil }
            total = sum
        }
        return total
    }

    /// X (m, nFeatures) and its targets for `network`: shapes, finiteness, class ranges.
    /// - Complexity: O(m * (nFeatures + nOutputs)): every value is read once.
    package static func data(_ data: DataView, for network: Network) throws(MiniBatchError) {
        try shape(data, for: network)
        // Every size before any value is read: y's too.
        if case .values = data.targets { _ = try product(data.count, network.outputCount, "y (m x n_outputs)") }
        if let bad = firstNonFinite(data.x, count: data.count * data.features) {
            throw NonFinite(data.x, features: data.features, at: bad).error
        }
        try targets(data.targets, rows: data.count, for: network)
    }

    /// The sizes of X (m, nFeatures) for `network`.
    static func shape(_ data: DataView, for network: Network) throws(MiniBatchError) {
        try count(data.count, "m")
        try size(data.features, "n_features")
        guard data.features == network.inputCount else {
            throw .invalid("n_features is \(data.features) but the model has \(network.inputCount) inputs")
        }
        _ = try product(data.count, data.features, "X (m x n_features)")
    }

    /// Targets for `rows` rows of `network`'s outputs. Messages name a row by its index from
    /// 0, as numpy does, counting from `firstRow` (the rows' place in a file), and the
    /// targets as `name`.
    package static func targets(
        _ targets: Targets, rows: Int, for network: Network, firstRow: Int = 0, name: String = "y"
    ) throws(MiniBatchError) {
        let nOut = network.outputCount
        switch targets {
        case .classes(let y):
            switch network.loss {
            case .meanSquaredError, .poisson:
                throw .invalid("y_type MB_TARGETS_CLASS_INDEX needs a cross-entropy loss; \(network.loss == .poisson ? "MB_LOSS_POISSON" : "MB_LOSS_MSE") takes MB_TARGETS_FLOAT32 targets")
            case .binaryCrossEntropy:
                guard nOut == 1 else {
                    throw .invalid("y_type MB_TARGETS_CLASS_INDEX with MB_LOSS_BINARY_CROSS_ENTROPY needs 1 output, the model has \(nOut); pass MB_TARGETS_FLOAT32 (m, \(nOut))")
                }
                for r in 0..<rows where y[r] != 0 && y[r] != 1 {
                    throw .invalid("\(name)[\(firstRow + r)] = \(y[r]) is not a 0/1 label (binary cross-entropy)")
                }
            case .crossEntropy:
                for r in 0..<rows where y[r] < 0 || Int(y[r]) >= nOut {
                    throw .invalid("\(name)[\(firstRow + r)] = \(y[r]) is not a class index in [0, \(nOut))")
                }
            }
        case .values(let y):
            let n = try product(rows, nOut, "y (m x n_outputs)")
            if let bad = firstNonFinite(y, count: n) {
                throw .invalid("\(name) has a non-finite value (\(y[bad])) at row \(firstRow + bad / nOut), column \(bad % nOut)")
            }
            switch network.loss {
            case .meanSquaredError:
                break
            case .poisson:
                for i in 0..<n where y[i] < 0 {
                    throw .invalid("\(name)[\(firstRow + i / nOut)][\(i % nOut)] = \(y[i]) is negative (Poisson targets are counts or rates, y >= 0)")
                }
            case .binaryCrossEntropy:
                for i in 0..<n where !(y[i] >= 0 && y[i] <= 1) {
                    throw .invalid("\(name)[\(firstRow + i / nOut)][\(i % nOut)] = \(y[i]) is outside [0, 1] (binary cross-entropy)")
                }
            case .crossEntropy:
                for r in 0..<rows {
                    var sum: Float = 0
                    for j in 0..<nOut {
                        let v = y[r * nOut + j]
                        guard v >= 0 else { throw .invalid("\(name)[\(firstRow + r)][\(j)] = \(v) is negative (cross-entropy targets are class weights)") }
                        sum += v
                    }
                    guard abs(sum - 1) <= 1e-3 else {
                        throw .invalid("row \(firstRow + r) of \(name) sums to \(sum), not 1 (cross-entropy targets are one-hot or probability rows)")
                    }
                }
            }
        }
    }

    /// Training options for `m` examples.
    package static func training(_ options: TrainingOptions, count m: Int) throws(MiniBatchError) {
        guard options.epochs >= 1 else { throw .invalid("epochs must be at least 1, got \(options.epochs)") }
        try count(m, "m")
        guard options.learningRate.isFinite, options.learningRate > 0 else {
            throw .invalid("learning_rate must be finite and > 0, got \(options.learningRate)")
        }
        if case .fixed(let b) = options.batchSize { try batchSize(b, count: m) }
        try memoryBudget(options.memoryBudget)  // (with a fixed batch size too)
        guard (0...BLASThreads.maxTeam).contains(options.threads) else {
            throw .invalid("threads must be 0 (automatic) or 1...\(BLASThreads.maxTeam), got \(options.threads)")
        }
        guard (0...TrainingOptions.maxShards).contains(options.shards) else {
            throw .invalid("shards must be 0 (threads times ranks) or 1...\(TrainingOptions.maxShards), got \(options.shards)")
        }
        if let d = options.distribution {
            let size = d.size, rank = d.rank
            guard (1...Distribution.maxRanks).contains(size) else {
                throw .invalid("communicator size must be 1...\(Distribution.maxRanks), got \(size)")
            }
            guard (0..<size).contains(rank) else {
                throw .invalid("communicator rank must be 0...\(size - 1) (size \(size)), got \(rank)")
            }
        }
        try optimizer(options.optimizer, flushing: options.flushesDenormals)
        try schedule(options.schedule, adaptivePatience: options.earlyStopping.patience)
        try momentumCycle(options.schedule, options.optimizer)
        try warmup(options.warmup)
        guard options.l2.isFinite, options.l2 >= 0 else { throw .invalid("l2 (alpha) must be finite and >= 0, got \(options.l2)") }
        guard options.coupledWeightDecay.isFinite, options.coupledWeightDecay >= 0 else {
            throw .invalid("coupled_weight_decay (PyTorch's weight_decay of the rules but AdamW) must be finite and >= 0 (0: none), got \(options.coupledWeightDecay)")
        }
        guard options.clipValue.isFinite, options.clipValue >= 0 else {
            throw .invalid("clip_value must be finite and >= 0 (0: no clipping), got \(options.clipValue)")
        }
        guard options.clipNorm.isFinite, options.clipNorm >= 0 else {
            throw .invalid("clip_norm must be finite and >= 0 (0: no clipping), got \(options.clipNorm)")
        }
        // (below 1 in float too: the loss computes in float, where 1 - 2^-26 is 1, all labels lost)
        guard options.labelSmoothing.isFinite, options.labelSmoothing >= 0, Float(options.labelSmoothing) < 1 else {
            throw .invalid("label_smoothing must be in [0, 1) (0: none), below 1 as a float, got \(options.labelSmoothing)")
        }
        guard options.dropout.isFinite, options.dropout >= 0, options.dropout < 1 else {
            throw .invalid("dropout must be in [0, 1) (0: none), got \(options.dropout)")
        }
        guard options.validationFraction.isFinite, options.validationFraction >= 0, options.validationFraction < 1 else {
            throw .invalid("validation_fraction must be in [0, 1), got \(options.validationFraction)")
        }
        let stopping = options.earlyStopping
        guard stopping.patience >= 0 else { throw .invalid("patience must be >= 0 (0: no early stopping), got \(stopping.patience)") }
        guard stopping.minDelta.isFinite, stopping.minDelta >= 0 else {
            throw .invalid("min_delta must be finite and >= 0, got \(stopping.minDelta)")
        }
    }

    /// Training options for `network` (beside `training(_:count:)`, which checks them alone).
    package static func training(_ options: TrainingOptions, for network: Network) throws(MiniBatchError) {
        guard options.labelSmoothing == 0 || network.loss == .crossEntropy || network.loss == .binaryCrossEntropy else {
            throw .invalid("label_smoothing \(options.labelSmoothing) needs the cross-entropy or binary cross-entropy loss; this model has \(network.loss.cName)")
        }
        guard options.dropout == 0 || network.layers.count > 1 else {
            throw .invalid("dropout \(options.dropout) needs a hidden layer: this model has none (its one layer is the output's)")
        }
    }

    /// Sample weights: finite, >= 0, and not all 0.
    /// Returns the weights' total (in row order, in Double; nil without weights).
    @discardableResult
    package static func weights(_ data: DataView, name: String = "sample_weight") throws(MiniBatchError) -> Double? {
        guard let w = data.weights else { return nil }
        var total = 0.0
        for r in 0..<data.count {
            guard w[r].isFinite, w[r] >= 0 else {
                throw .invalid("\(name)[\(r)] must be finite and >= 0, got \(w[r])")
            }
            total += Double(w[r])
        }
        guard total > 0 else { throw .invalid("\(name): every weight is zero (at least one must be > 0)") }
        return total
    }

    /// An update rule's hyperparameters.
    /// - Parameter flushing: whether training flushes subnormals (`flushesDenormals`): a
    ///   subnormal epsilon is then read as 0, and a step of a zero gradient divides 0 by 0
    ///   (reported as divergence until 0.12.5): refused, naming both.
    package static func optimizer(_ optimizer: Optimizer, flushing: Bool = false) throws(MiniBatchError) {
        func fraction(_ value: Float, _ name: String, closed: Bool = false) throws(MiniBatchError) {
            guard value.isFinite, value >= 0, value < 1 || (closed && value == 1) else {
                throw .invalid("\(name) must be in [0, 1\(closed ? "]" : ")"), got \(value)")
            }
        }
        func positive(_ value: Float, _ name: String) throws(MiniBatchError) {
            guard value.isFinite, value > 0 else { throw .invalid("\(name) must be finite and > 0, got \(value)") }
            guard !flushing || value >= .leastNormalMagnitude else {
                throw .invalid("\(name) \(value) is a subnormal float, which training reads as 0 while it flushes subnormals (the default: denormals MB_DENORMALS_FLUSH in C, flush_denormals=True in Python, flushesDenormals in Swift), and a step of a zero gradient would divide 0 by 0: give at least \(Float.leastNormalMagnitude), or keep subnormals (MB_DENORMALS_KEEP, flush_denormals=False)")
            }
        }
        /// AdamW's weight decay, and NAdam's and RAdam's decoupled one (the C options'
        /// weight_decay with decoupled_weight_decay).
        func decoupled(_ weightDecay: Float) throws(MiniBatchError) {
            guard weightDecay.isFinite, weightDecay >= 0 else {
                throw .invalid("weight_decay must be finite and >= 0, got \(weightDecay)")
            }
        }
        switch optimizer {
        case .sgd(let momentum, let nesterov):
            // (1 included since 0.12.6, as scikit-learn's momentum; PyTorch and Keras take
            // any momentum >= 0)
            try fraction(momentum, "momentum", closed: true)
            guard !nesterov || momentum > 0 else { throw .invalid("nesterov momentum needs momentum > 0") }
        case .rmsprop(let rho, let epsilon, let momentum, _):
            try fraction(rho, "rho")
            try positive(epsilon, "epsilon")
            try fraction(momentum, "momentum")
        case .adam(let beta1, let beta2, let epsilon, _):
            try fraction(beta1, "beta1")
            try fraction(beta2, "beta2")
            try positive(epsilon, "epsilon")
        case .adamW(let beta1, let beta2, let epsilon, let weightDecay, _):
            try fraction(beta1, "beta1")
            try fraction(beta2, "beta2")
            try positive(epsilon, "epsilon")
            try decoupled(weightDecay)
        case .adagrad(let epsilon, let lrDecay, let initial):
            try positive(epsilon, "epsilon")
            guard lrDecay.isFinite, lrDecay >= 0 else { throw .invalid("lr_decay must be finite and >= 0, got \(lrDecay)") }
            guard initial.isFinite, initial >= 0 else {
                throw .invalid("initial_accumulator_value must be finite and >= 0, got \(initial)")
            }
        case .adamax(let beta1, let beta2, let epsilon):
            try fraction(beta1, "beta1")
            try fraction(beta2, "beta2")
            try positive(epsilon, "epsilon")
        case .radam(let beta1, let beta2, let epsilon, let weightDecay):
            try fraction(beta1, "beta1")
            try fraction(beta2, "beta2")
            try positive(epsilon, "epsilon")
            try decoupled(weightDecay)
        case .nadam(let beta1, let beta2, let epsilon, let decay, let weightDecay):
            try fraction(beta1, "beta1")
            try fraction(beta2, "beta2")
            try positive(epsilon, "epsilon")
            guard decay.isFinite, decay >= 0 else { throw .invalid("momentum_decay must be finite and >= 0, got \(decay)") }
            try decoupled(weightDecay)
        case .adadelta(let rho, let epsilon):
            // (PyTorch's range, [0, 1]; epsilon > 0: with 0 a first step of a zero gradient is 0 / 0)
            guard rho.isFinite, rho >= 0, rho <= 1 else { throw .invalid("rho must be in [0, 1] with Adadelta, got \(rho)") }
            try positive(epsilon, "epsilon")
        }
    }

    /// The warm-up's epochs (>= 0) and start factor (in (0, 1]).
    package static func warmup(_ warmup: Warmup) throws(MiniBatchError) {
        guard warmup.epochs >= 0 else { throw .invalid("warmup_epochs must be >= 0, got \(warmup.epochs)") }
        guard warmup.startFactor.isFinite, warmup.startFactor > 0, warmup.startFactor <= 1 else {
            throw .invalid("warmup_start_factor must be in (0, 1], got \(warmup.startFactor)")
        }
    }

    /// A schedule's parameters; `adaptive` needs a patience (`plateau` has its own).
    package static func schedule(_ schedule: Schedule, adaptivePatience patience: Int) throws(MiniBatchError) {
        switch schedule {
        case .constant:
            break
        case .step(let every, let gamma):
            guard every >= 1 else { throw .invalid("step_epochs must be at least 1, got \(every)") }
            guard gamma.isFinite, gamma > 0 else { throw .invalid("gamma must be finite and > 0, got \(gamma)") }
        case .exponential(let gamma):
            guard gamma.isFinite, gamma > 0 else { throw .invalid("gamma must be finite and > 0, got \(gamma)") }
        case .inverseTime(let power):
            guard power.isFinite, power >= 0 else { throw .invalid("power_t must be finite and >= 0, got \(power)") }
        case .cosine(let period, let minimum):
            guard period >= 0 else { throw .invalid("cosine_epochs must be >= 0 (0: the end of the call), got \(period)") }
            guard minimum.isFinite, minimum >= 0 else { throw .invalid("min_learning_rate must be finite and >= 0, got \(minimum)") }
        case .multiStep(let milestones, let gamma):
            guard gamma.isFinite, gamma > 0 else { throw .invalid("gamma must be finite and > 0, got \(gamma)") }
            if let k = milestones.firstIndex(where: { $0 < 0 }) {
                throw .invalid("milestones[\(k)] must be >= 0 (an epoch), got \(milestones[k])")
            }
        case .cosineRestarts(let period, let multiplier, let minimum):
            guard period >= 1 else { throw .invalid("cosine_epochs (the first cycle's length) must be at least 1, got \(period)") }
            guard multiplier >= 1 else { throw .invalid("restart_multiplier must be at least 1, got \(multiplier)") }
            guard minimum.isFinite, minimum >= 0 else { throw .invalid("min_learning_rate must be finite and >= 0, got \(minimum)") }
        case .oneCycle(let period, let pctStart, let divFactor, let finalDivFactor, _, _, _, _, _):
            guard period >= 0 else { throw .invalid("cosine_epochs (the cycle's length) must be >= 0 (0: the end of the call), got \(period)") }
            guard pctStart.isFinite, pctStart >= 0, pctStart <= 1 else {
                throw .invalid("pct_start must be in [0, 1], got \(pctStart)")
            }
            guard divFactor.isFinite, divFactor > 0 else { throw .invalid("div_factor must be finite and > 0, got \(divFactor)") }
            guard finalDivFactor.isFinite, finalDivFactor > 0 else {
                throw .invalid("final_div_factor must be finite and > 0, got \(finalDivFactor)")
            }
        case .cyclic(let minimum, let up, let down, let mode, let gamma, _, _, _):
            guard minimum.isFinite, minimum >= 0 else {
                throw .invalid("min_learning_rate (the cyclic schedule's base_lr) must be finite and >= 0, got \(minimum)")
            }
            guard up >= 1 else { throw .invalid("cyclic_step_size_up must be at least 1, got \(up)") }
            if let down, down < 0 { throw .invalid("cyclic_step_size_down must be >= 0 (or -1: cyclic_step_size_up), got \(down)") }
            // (read in exp_range only; PyTorch takes gamma > 1 too, whose powers overflow)
            guard mode != .exponentialRange || (gamma.isFinite && gamma > 0 && gamma <= 1) else {
                throw .invalid("the cyclic schedule's gamma must be in (0, 1] with MB_CYCLIC_EXP_RANGE, got \(gamma)")
            }
        case .plateau(let factor, let plateauPatience, let threshold, _, let cooldown, let minimum, let eps):
            guard factor.isFinite, factor > 0, factor < 1 else {
                throw .invalid("the plateau schedule's factor (gamma) must be in (0, 1), got \(factor)")
            }
            guard plateauPatience >= 0 else { throw .invalid("plateau_patience must be >= 0, got \(plateauPatience)") }
            guard threshold.isFinite, threshold >= 0 else {
                throw .invalid("plateau_threshold must be finite and >= 0, got \(threshold)")
            }
            guard cooldown >= 0 else { throw .invalid("plateau_cooldown must be >= 0, got \(cooldown)") }
            guard minimum.isFinite, minimum >= 0 else { throw .invalid("min_learning_rate must be finite and >= 0, got \(minimum)") }
            guard eps.isFinite, eps >= 0 else { throw .invalid("plateau_eps must be finite and >= 0, got \(eps)") }
        case .adaptive:
            guard patience >= 1 else {
                throw .invalid("the adaptive schedule divides the rate after `patience` epochs without improvement: patience must be at least 1")
            }
        }
    }

    /// The momentum cycle (`Schedule.oneCycle`'s and `Schedule.cyclic`'s `cycleMomentum`):
    /// both ends in (0, 1) as floats, and a rule with a momentum or a beta1 it can move.
    package static func momentumCycle(_ schedule: Schedule, _ optimizer: Optimizer) throws(MiniBatchError) {
        guard let (base, top) = schedule.momentumCycle else { return }
        for (value, name) in [(base, "base_momentum"), (top, "max_momentum")] {
            // (a momentum of 0 at a step would switch PyTorch's buffer off for that step
            // and keep it; minibatch's rules do not: refused, with its float rounding)
            guard value.isFinite, Float(value) > 0, Float(value) < 1 else {
                throw .invalid("\(name) must be in (0, 1) (as a float) with cycle_momentum, got \(value)")
            }
        }
        switch optimizer {
        case .adagrad:
            throw .invalid("cycle_momentum needs a rule with a momentum or a beta1 to cycle; Adagrad has neither (PyTorch's OneCycleLR and CyclicLR refuse it too): turn cycle_momentum off")
        case .adadelta:
            throw .invalid("cycle_momentum needs a rule with a momentum or a beta1 to cycle; Adadelta has neither (PyTorch's OneCycleLR and CyclicLR refuse it too): turn cycle_momentum off")
        case .nadam:
            throw .invalid("cycle_momentum is not supported with NAdam: its product of momenta would depend on every earlier step's beta1, which the model does not keep (only its step count); turn cycle_momentum off or use Adam, AdamW, Adamax or RAdam")
        default:
            break
        }
    }

    /// A batch size for `m` examples: 1...m.
    package static func batchSize(_ batchSize: Int, count m: Int) throws(MiniBatchError) {
        guard batchSize >= 1 else {
            throw .invalid("batch_size must be at least 1 (or MB_BATCH_AUTO), got \(batchSize)")
        }
        guard batchSize <= m else { throw .invalid("batch_size \(batchSize) is larger than m = \(m)") }
        guard batchSize <= maxDimension else { throw .invalid("batch_size \(batchSize) is too large") }
    }

    /// The index of the first NaN or Inf among `count` floats, or nil.
    static func firstNonFinite(_ values: UnsafePointer<Float>, count: Int) -> Int? {
        // A vectorisable pass per chunk first; the slow search runs only on a bad chunk.
        let chunk = 4096
        var start = 0
        while start < count {
            let end = min(start + chunk, count)
            if !allFinite(values + start, count: end - start) {
                for i in start..<end where !values[i].isFinite { return i }
            }
            start = end
        }
        return nil
    }

    /// Whether `count` floats are all finite (`NonFiniteFlags`).
    @inline(__always)
    static func allFinite(_ values: UnsafePointer<Float>, count: Int) -> Bool {
        var flags = NonFiniteFlags()
        for i in 0..<count { flags.add(values[i]) }
        return flags.allFinite
    }
}

/// Whether any of the floats added is NaN or Inf, as an OR of one word per value, which
/// vectorises on every x86-64 (an unsigned max, the other way to reduce, needs SSE4.1).
/// A float is NaN or Inf when its exponent bits are all ones; adding one exponent step to
/// the exponent bits carries into the sign bit exactly then.
struct NonFiniteFlags {
    private var bits: UInt32 = 0

    @inline(__always)
    mutating func add(_ value: Float) { bits |= (value.bitPattern & 0x7F80_0000) &+ 0x0080_0000 }

    var allFinite: Bool { bits & 0x8000_0000 == 0 }
}

/// The largest magnitude |v| among floats, kept as its bit pattern so that adding a value
/// is one integer max, cheap enough to ride along a copy. A NaN or an Inf makes it
/// non-finite (their patterns, sign cleared, lie above every finite one).
struct Magnitude: Equatable {
    /// Signed, so that the max vectorises without SSE4.1 (the sign bit is always clear).
    private var bits: Int32 = 0

    @inline(__always)
    mutating func add(_ value: Float) { bits = max(bits, Int32(bitPattern: value.bitPattern & 0x7FFF_FFFF)) }

    mutating func add(_ other: Magnitude) { bits = max(bits, other.bits) }

    /// Of `count` floats at `values`: `measuredPlain` at the CPU's vector width
    /// (`mbm_magnitude`; this loop, built for baseline x86-64, took 4 % of a two-thread W1
    /// epoch read from a file in the page cache on this project's machine, Zen 5).
    init(_ values: UnsafePointer<Float>, count: Int) {
        bits = mbm_magnitude(values, count)
    }

    /// The readable form of `init(_:count:)`.
    static func measuredPlain(_ values: UnsafePointer<Float>, count: Int) -> Magnitude {
        var m = Magnitude()
        for i in 0..<count { m.add(values[i]) }
        return m
    }

    init() {}

    /// From the bit pattern of the largest |v| (`mbm_gather_measured`'s result).
    init(bits: Int32) { self.bits = bits }

    var isFinite: Bool { bits < 0x7F80_0000 }
    /// The largest |v| (infinity or NaN if one was seen).
    var value: Float { Float(bitPattern: UInt32(bitPattern: bits)) }
}

/// A NaN or Inf in X: where it is, for the message that names it.
struct NonFinite {
    var row: Int
    var column: Int
    var value: Float

    /// The value at flat index `index` of X (rows of `features` values).
    init(_ x: UnsafePointer<Float>, features: Int, at index: Int) {
        row = index / features
        column = index % features
        value = x[index]
    }

    /// The first non-finite value of row `row` of X (rows of `features` values), if any.
    init?(_ x: UnsafePointer<Float>, features: Int, row: Int) {
        guard let column = Validate.firstNonFinite(x + row * features, count: features) else { return nil }
        self.init(x, features: features, at: row * features + column)
    }

    var error: MiniBatchError {
        .invalid("X has a non-finite value (\(value)) at row \(row), column \(column)")
    }
}

/// A read-only view of a data set: X (count, features) float32 row-major and its targets.
public struct DataView {
    public var x: UnsafePointer<Float>
    public var targets: Targets
    public var count: Int
    public var features: Int
    /// (count) sample weights, or nil for all 1 (`Validate.weights`): a training set's, or
    /// a validation set's (its cost and score then weighted means; since 0.7.0).
    public var weights: UnsafePointer<Float>?
    /// `weights` are the caller's times this power of two (training that flushes subnormals
    /// scales weights with a subnormal into Float's normal range: `weightsInNormalRange`).
    var weightScale = 1.0

    public init(x: UnsafePointer<Float>, targets: Targets, count: Int, features: Int, weights: UnsafePointer<Float>? = nil) {
        self.x = x
        self.targets = targets
        self.count = count
        self.features = features
        self.weights = weights
    }
}
