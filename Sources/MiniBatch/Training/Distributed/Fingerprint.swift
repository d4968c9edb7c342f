/// What the ranks of a distributed training call must agree on, as one word each: sizes,
/// options, and hashes of the model, its parameters and its training state. Compared
/// before the first step (`Collective.open`).
struct Fingerprint {
    /// How a field's words are shown in the error that names it.
    enum Format {
        case integer, float, double, hash
    }

    /// The options first (in the C options' order and names, the later fields beside the
    /// ones they belong with), then what follows from them
    /// and from the data and model, so that the first difference named is its cause.
    static let fields: [(name: String, format: Format)] = [
        ("epochs", .integer), ("batch_size", .integer), ("learning_rate", .float), ("seed", .integer),
        ("shuffle", .integer), ("last_batch", .integer),
        ("optimizer", .integer), ("momentum", .float), ("nesterov", .integer), ("rho", .float), ("beta1", .float),
        ("beta2", .float), ("epsilon", .float), ("weight_decay", .float), ("amsgrad", .integer), ("lr_decay", .float),
        ("initial_accumulator_value", .float), ("momentum_decay", .double), ("centered", .integer), ("l2", .float),
        ("clip_norm", .float), ("clip_value", .float), ("coupled_weight_decay", .float),
        ("dropout", .double), ("label_smoothing", .double),
        ("schedule", .integer), ("gamma", .double), ("step_epochs", .integer), ("power_t", .double),
        ("cosine_epochs", .integer), ("min_learning_rate", .double), ("milestones", .hash), ("restart_multiplier", .integer),
        ("pct_start", .double), ("div_factor", .double), ("final_div_factor", .double), ("cycle_momentum", .integer),
        ("base_momentum", .double), ("max_momentum", .double), ("three_phase", .integer), ("anneal_strategy", .integer),
        ("plateau_patience", .integer), ("plateau_threshold", .double), ("plateau_threshold_mode", .integer),
        ("plateau_cooldown", .integer), ("plateau_eps", .double),
        ("cyclic_step_size_up", .integer), ("cyclic_step_size_down", .integer), ("cyclic_mode", .integer),
        ("warmup_epochs", .integer),
        ("warmup_start_factor", .double), ("schedule_per_batch", .integer),
        ("patience", .integer), ("min_delta", .double), ("restore_best", .integer), ("monitor", .integer),
        ("validation_fraction", .double), ("the validation set's rows (0: none)", .integer),
        ("sample_weight (1: given)", .integer), ("class_weight", .hash),
        ("denormals", .integer), ("shards (the layout: threads times ranks unless set)", .integer), ("distributed_mode", .integer),
        ("the first layer's W kept transposed while training (1: from 2^18 weights where libxsmm's kernels are AVX-512; LIBXSMM_TARGET=hsw on the AVX-512 ranks gives 0)", .integer),
        ("the file dataset's shuffle mode and rows per block", .hash),
        ("the training rows (m)", .integer), ("n_features", .integer),
        ("the model's layer sizes, activations and loss", .hash),
        ("the model's epochs trained", .integer),
        ("the model's training state (update rule state, schedule, early stopping)", .hash),
        ("the model's parameters (create it with the same seed on every rank, or load the same file)", .hash),
    ]

    static var names: [String] { fields.map(\.name) }

    private(set) var values: [UInt64]

    /// - Parameters:
    ///   - count: the rows trained on; `features`, the inputs.
    ///   - validationRows: rows of the validation set, 0 without one.
    ///   - weighted: whether sample weights are given.
    ///   - shards: the layout of each mini-batch (`TrainingStep.layout`).
    ///   - transposed: whether the batches keep the first layer's W transposed
    ///     (`TrainingStep.transposesFirstWeights`).
    ///   - fileLayout: the file dataset's shuffle mode and block size, nil for memory data.
    init(
        network: Network, options: TrainingOptions, count: Int, features: Int, batchSize: Int, validationRows: Int,
        weighted: Bool, shards: Int, transposed: Bool, fileLayout: String?
    ) {
        func float(_ v: Float) -> UInt64 { UInt64(v.bitPattern) }
        // The rule's hyperparameters as the C options name them (0 where the rule has none).
        var rule: [UInt64] = [0, 0, 0, 0, 0, 0, 0, 0, 0]
        var adagrad: [UInt64] = [0, 0]
        // momentum_decay (NAdam) and centered (RMSprop).
        var rest: [UInt64] = [0, 0]
        // (as given: with a cycled momentum the momentum or beta1 given is not used, but a
        // rank that differs in whether it cycles is named by cycle_momentum, below)
        switch options.optimizer {
        case .sgd(let momentum, let nesterov): rule = [0, float(momentum), nesterov ? 1 : 0, 0, 0, 0, 0, 0, 0]
        case .rmsprop(let rho, let epsilon, let momentum, let centered):
            rule = [1, float(momentum), 0, float(rho), 0, 0, float(epsilon), 0, 0]
            rest = [0, centered ? 1 : 0]
        case .adam(let b1, let b2, let epsilon, let amsgrad):
            rule = [2, 0, 0, 0, float(b1), float(b2), float(epsilon), 0, amsgrad ? 1 : 0]
        case .adamW(let b1, let b2, let epsilon, let decay, let amsgrad):
            rule = [3, 0, 0, 0, float(b1), float(b2), float(epsilon), float(decay), amsgrad ? 1 : 0]
        case .adagrad(let epsilon, let lrDecay, let initial):
            rule = [4, 0, 0, 0, 0, 0, float(epsilon), 0, 0]
            adagrad = [float(lrDecay), float(initial)]
        case .adamax(let b1, let b2, let epsilon): rule = [5, 0, 0, 0, float(b1), float(b2), float(epsilon), 0, 0]
        case .nadam(let b1, let b2, let epsilon, let decay, let weightDecay):
            // (a decoupled weight decay in weight_decay's place, as the C options give it)
            rule = [6, 0, 0, 0, float(b1), float(b2), float(epsilon), float(weightDecay), 0]
            rest = [decay.bitPattern, 0]
        case .radam(let b1, let b2, let epsilon, let weightDecay):
            rule = [7, 0, 0, 0, float(b1), float(b2), float(epsilon), float(weightDecay), 0]
        case .adadelta(let rho, let epsilon): rule = [8, 0, 0, float(rho), 0, 0, float(epsilon), 0, 0]
        }
        // kind, gamma, step_epochs, power_t, cosine_epochs, min_learning_rate, milestones,
        // restart_multiplier, pct_start, div_factor, final_div_factor, cycle_momentum,
        // base_momentum, max_momentum, three_phase, anneal_strategy (plateau's factor in gamma,
        // its min_lr in min_learning_rate, as the C options give them)
        var schedule: [UInt64] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        // plateau_patience, plateau_threshold, plateau_threshold_mode, plateau_cooldown, plateau_eps;
        // cyclic_step_size_up, cyclic_step_size_down, cyclic_mode
        var plateau: [UInt64] = [0, 0, 0, 0, 0]
        var cyclic: [UInt64] = [0, 0, 0]
        switch options.schedule {
        case .constant: break
        case .step(let every, let gamma): schedule = [1, gamma.bitPattern, UInt64(every), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        case .exponential(let gamma): schedule = [2, gamma.bitPattern, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        case .inverseTime(let power): schedule = [3, 0, 0, power.bitPattern, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        case .cosine(let period, let minimum): schedule = [4, 0, 0, 0, UInt64(period), minimum.bitPattern, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        case .adaptive: schedule = [5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        case .multiStep(let milestones, let gamma):
            // (sorted: the order does not change the schedule)
            let text = "\(milestones.count):" + milestones.sorted().map(String.init).joined(separator: ",")
            schedule = [6, gamma.bitPattern, 0, 0, 0, 0, Fingerprint.hash(text), 0, 0, 0, 0, 0, 0, 0, 0, 0]
        case .oneCycle(let period, let pctStart, let divFactor, let finalDivFactor, let cycle, let base, let top, let three,
                       let annealing):
            schedule = [8, 0, 0, 0, UInt64(period), 0, 0, 0, pctStart.bitPattern, divFactor.bitPattern,
                        finalDivFactor.bitPattern, cycle ? 1 : 0, cycle ? base.bitPattern : 0, cycle ? top.bitPattern : 0,
                        three ? 1 : 0, UInt64(annealing.rawValue)]
        case .cosineRestarts(let period, let multiplier, let minimum):
            schedule = [7, 0, 0, 0, UInt64(period), minimum.bitPattern, 0, UInt64(multiplier), 0, 0, 0, 0, 0, 0, 0, 0]
        case .cyclic(let minimum, let up, let down, let mode, let gamma, let cycle, let base, let top):
            schedule = [10, mode == .exponentialRange ? gamma.bitPattern : 0, 0, 0, 0, minimum.bitPattern, 0, 0, 0, 0, 0,
                        cycle ? 1 : 0,
                        cycle ? base.bitPattern : 0, cycle ? top.bitPattern : 0, 0, 0]
            cyclic = [UInt64(up), UInt64(bitPattern: Int64(down ?? up)), UInt64(mode.rawValue)]
        case .plateau(let factor, let patience, let threshold, let mode, let cooldown, let minimum, let eps):
            schedule = [9, factor.bitPattern, 0, 0, 0, minimum.bitPattern, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            plateau = [UInt64(patience), threshold.bitPattern, UInt64(mode.rawValue), UInt64(cooldown), eps.bitPattern]
        }
        let model = network.layers.map { "\($0.nIn)x\($0.nOut):\($0.activation)" }.joined(separator: ",")
            + ";\(network.loss)"
        let state = network.trainingState
        let stateText = "\(state.kind) \(state.step) \(state.examplesSeen) \(String(describing: state.adaptiveRate)) "
            + "\(state.monitor) \(state.best.bitPattern) \(state.badEpochs) \(state.bestEpoch) "
            + "\(String(describing: state.plateau.rate?.bitPattern)) \(state.plateau.monitor) \(state.plateau.best.bitPattern) "
            + "\(state.plateau.badEpochs) \(state.plateau.cooldown)"
        var stateHash = Fingerprint.hash(stateText)
        for slot in state.slots { stateHash ^= Fingerprint.hash(slot, count: network.parameterCount) &* 31 }
        let stopping = options.earlyStopping
        values = [
            UInt64(options.epochs), UInt64(batchSize), float(options.learningRate), options.seed,
            options.shuffle ? 1 : 0, UInt64(options.lastBatch.rawValue),
        ] + rule + adagrad + rest + [float(options.l2), float(options.clipNorm), float(options.clipValue),
                float(options.coupledWeightDecay),
                options.dropout.bitPattern,
                options.labelSmoothing.bitPattern] + schedule + plateau + cyclic + [
            // (an unused start factor is 0, as unused schedule parameters)
            UInt64(bitPattern: Int64(options.warmup.epochs)), options.warmup.epochs > 0 ? options.warmup.startFactor.bitPattern : 0,
            // (0 where it changes no rate, as an unused parameter: a schedule that moves only
            // between epochs, without a warm-up)
            options.schedulePerBatch && (options.schedule.movesWithinAnEpoch || options.warmup.epochs > 0) ? 1 : 0,
            UInt64(stopping.patience), stopping.minDelta.bitPattern, stopping.restoreBest ? 1 : 0, UInt64(stopping.monitor.rawValue),
            options.validationFraction.bitPattern, UInt64(validationRows), weighted ? 1 : 0,
            options.classWeight.map { w in Fingerprint.hash("\(w.count):" + w.map { String($0.bitPattern) }.joined(separator: ",")) } ?? 0,
            options.flushesDenormals ? 0 : 1, UInt64(shards), UInt64(options.distribution?.mode.rawValue ?? 0),
            transposed ? 1 : 0,
            fileLayout.map { Fingerprint.hash($0) } ?? 0,
            UInt64(count), UInt64(features), Fingerprint.hash(model), UInt64(network.epochsTrained), stateHash,
            Fingerprint.hash(network.parameters, count: network.parameterCount),
        ]
        assert(values.count == Fingerprint.fields.count)
    }

    /// "batch_size is 64 on rank 0 but 128 on rank 2", or for a hash "... differs between
    /// rank 0 and rank 2".
    static func describe(_ field: Int, _ a: UInt64, rank r: Int, _ b: UInt64, rank s: Int) -> String {
        let (name, format) = fields[field]
        func show(_ v: UInt64) -> String {
            switch format {
            case .integer: return "\(Int64(bitPattern: v))"
            case .float: return "\(Float(bitPattern: UInt32(truncatingIfNeeded: v)))"
            case .double: return "\(Double(bitPattern: v))"
            case .hash: return ""
            }
        }
        if format == .hash { return "\(name) differs between rank \(r) and rank \(s)" }
        return "\(name) is \(show(a)) on rank \(r) but \(show(b)) on rank \(s)"
    }

    /// FNV-1a over the text's UTF-8 bytes.
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }

    /// A hash of `count` floats' bit patterns (FNV-1a over 32-bit words, four lanes).
    static func hash(_ values: UnsafePointer<Float>, count: Int) -> UInt64 {
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0xcbf2_9ce4_8422_2325, 1, 2, 3)
        let words = UnsafeRawPointer(values).assumingMemoryBound(to: UInt32.self)
        var i = 0
        while i + 4 <= count {
            lanes.0 = (lanes.0 ^ UInt64(words[i])) &* 0x100_0000_01b3
            lanes.1 = (lanes.1 ^ UInt64(words[i + 1])) &* 0x100_0000_01b3
            lanes.2 = (lanes.2 ^ UInt64(words[i + 2])) &* 0x100_0000_01b3
            lanes.3 = (lanes.3 ^ UInt64(words[i + 3])) &* 0x100_0000_01b3
            i += 4
        }
        while i < count {
            lanes.0 = (lanes.0 ^ UInt64(words[i])) &* 0x100_0000_01b3
            i += 1
        }
        return (lanes.0 &* 31 &+ lanes.1) &* 31 &+ (lanes.2 &* 31 &+ lanes.3) ^ UInt64(count)
    }
}
