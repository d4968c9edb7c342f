import ArgumentParser
import MiniBatch

/// How training runs: everything in `TrainingOptions`. A rule's or a schedule's parameter
/// given with another rule or schedule is an error, not ignored.
struct TrainingArguments: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Passes over the data in this run.", valueName: "n"))
    var epochs = 10

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Rows per mini-batch (1: stochastic, m: batch gradient descent), or auto: m below 2000 rows, else the largest of 512, 256, 128, 64 whose working memory fits --batch-memory.",
        valueName: "n|auto"))
    var batchSize = BatchSizeArgument.auto

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The base learning rate; the schedule changes it from epoch to epoch (adadelta's usual rate, PyTorch's default, is 1).", valueName: "x"))
    var learningRate: Float = 0.01

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The seed of the initial weights, of every epoch's order and of the validation split (and of the --builtin points).",
        valueName: "n"))
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Threads that share each mini-batch; 0: as many as OpenBLAS would use (OPENBLAS_NUM_THREADS, else the CPUs).",
        valueName: "n"))
    var threads = 0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Shards each mini-batch is cut into (the weights depend on shards, not threads: fix it to get the same weights on any thread count); 0: the threads.",
        valueName: "n"))
    var shards = 0

    @Flag(help: "Keep IEEE arithmetic's subnormal floats (below 2^-126) while the mini-batches run, as PyTorch does (default: flushed to zero, as TensorFlow does: on Intel's cores a subnormal operand or result costs about a hundred cycles, and a momentum or Adam state that decays on a gradient of 0 stays subnormal for ever).")
    var keepDenormals = false

    @Option(help: ArgumentHelp("The last partial batch of an epoch: keep (its cost is the mean over its rows) or drop.", valueName: "policy"))
    var lastBatch: LastBatchName = .keep

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Bytes of working memory the automatic batch size may use (suffix K, M or G); 0: no limit.", valueName: "bytes"))
    var batchMemory = ByteCount(0)

    // MARK: The update rule

    @Option(help: ArgumentHelp(
        "The update rule (PyTorch's formulas: see the README). Default: sgd for train; for resume, the rule the model file's state belongs to.",
        valueName: "rule"))
    var optimizer: OptimizerName?

    @Option(parsing: .unconditional, help: ArgumentHelp("momentum and nesterov: the momentum (default: 0.9); rmsprop: its momentum, b = mu * b + g / (root + eps) (default: 0, none).", valueName: "mu"))
    var momentum: Float?

    @Flag(help: "rmsprop: centred, the root of the gradient's variance (v minus its mean squared) in place of sqrt(v) (PyTorch's centered=True) (default: off).")
    var centered = false

    @Option(parsing: .unconditional, help: ArgumentHelp("rmsprop: the decay of the squared gradients' average (default: 0.99); adadelta: of both averages, in [0, 1] (default: 0.9, PyTorch's).", valueName: "rho"))
    var rho: Float?

    @Option(parsing: .unconditional, help: ArgumentHelp("adam, adamw, their amsgrad forms, adamax, nadam and radam: the first moment's decay (default: 0.9).", valueName: "b1"))
    var beta1: Float?

    @Option(parsing: .unconditional, help: ArgumentHelp("adam, adamw, their amsgrad forms, nadam and radam: the second moment's decay; adamax: the infinity norm's (default: 0.999).", valueName: "b2"))
    var beta2: Float?

    @Option(parsing: .unconditional, help: ArgumentHelp("rmsprop, adam, adamw, their amsgrad forms, adagrad, nadam and radam: added to the root; adamax: to |g| (default: 1e-8); adadelta: inside both roots (default: 1e-6, PyTorch's).", valueName: "eps"))
    var epsilon: Float?

    @Option(parsing: .unconditional, help: ArgumentHelp("adamw and adamw-amsgrad: the decoupled weight decay, w -= rate * wd * w (default: 0.01); every other rule: PyTorch's coupled weight_decay, the rule sees g + wd * w, every parameter, after clipping (nadam and radam with --decoupled-weight-decay: decoupled, as adamw's) (default: 0).", valueName: "wd"))
    var weightDecay: Float?

    @Flag(help: "nadam and radam: --weight-decay is decoupled, w -= rate * wd * w before the step (PyTorch's decoupled_weight_decay=True: NAdamW, RAdamW; default: coupled).")
    var decoupledWeightDecay = false

    @Option(parsing: .unconditional, help: ArgumentHelp("adagrad: step t's rate is the rate / (1 + (t - 1) * d) (default: 0).", valueName: "d"))
    var lrDecay: Float?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "nadam: psi in the momentum schedule mu_t = beta1 * (1 - 0.5 * 0.96^(t * psi)) (default: 0.004).", valueName: "psi"))
    var momentumDecay: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "adagrad: the sum of squares' value when the rule's state starts afresh (train; resume with --reset-state) (default: 0; Keras's 0.1).", valueName: "s0"))
    var initialAccumulator: Float?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "L2 penalty (scikit-learn's alpha): 0.5 * l2 * sum(W^2) / batch rows added to each batch's cost; biases not penalised.",
        valueName: "alpha"))
    var l2: Float = 0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Clip the gradient to this global norm when above it; 0: no clipping.", valueName: "norm"))
    var clipNorm: Float = 0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Clip every element of the gradient to [-x, x] (after --clip-norm; PyTorch's clip_grad_value_); 0: no clipping.",
        valueName: "x"))
    var clipValue: Float = 0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Dropout of every hidden layer's output while training, in [0, 1): each unit of each row is zeroed with this probability, the others scaled by 1 / (1 - p); 0: none.",
        valueName: "p"))
    var dropout: Double = 0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Label smoothing e in [0, 1) for the cross-entropy losses: training targets (1 - e) t + e / classes (binary: e / 2); 0: none.",
        valueName: "e"))
    var labelSmoothing: Double = 0

    // MARK: The schedule

    @Option(help: ArgumentHelp(
        "How the learning rate changes from epoch to epoch (epochs counted over the model's life).", valueName: "schedule"))
    var schedule: ScheduleName = .constant

    @Option(parsing: .unconditional, help: ArgumentHelp("step: multiply the rate by --gamma every this many epochs (default: 10).", valueName: "n"))
    var stepEvery: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("step, exponential and multi-step: the factor (default: 0.1 for step and multi-step, 0.9 for exponential); plateau: the factor of each reduction, in (0, 1) (PyTorch's factor; default: 0.1); cyclic with --cyclic-mode exp-range: the height's factor per step, in (0, 1] (default: 1; not read in the other modes).", valueName: "g"))
    var gamma: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("inverse-time: rate / (examples seen + 1)^power (default: 0.5).", valueName: "p"))
    var power: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "cosine: the epochs the rate takes to fall to --min-learning-rate (default: 0, the end of this run; resume a run with its total); cosine-restarts: the first cycle's epochs (default: 10); one-cycle: the cycle's epochs (default: as cosine's).",
        valueName: "n"))
    var cosinePeriod: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("cosine, cosine-restarts and plateau: the lowest rate (plateau: PyTorch's min_lr; default: 0); cyclic: the rate at each cycle's start, PyTorch's base_lr (required), --learning-rate being max_lr.", valueName: "x"))
    var minLearningRate: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "multi-step: the epochs from which the rate is multiplied by --gamma once more, as e1,e2,... (PyTorch's MultiStepLR milestones; default: none).",
        valueName: "epochs"))
    var milestones: Milestones?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "cosine-restarts: each cycle is this many times as long as the one before (PyTorch's T_mult; default: 1).", valueName: "r"))
    var restartMultiplier: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "one-cycle: the share of the steps over which the rate rises from --learning-rate / --div-factor to --learning-rate, in [0, 1] (PyTorch's OneCycleLR pct_start; default: 0.3).",
        valueName: "f"))
    var pctStart: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "one-cycle: the first rate is --learning-rate / this (default: 25).", valueName: "d"))
    var divFactor: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "one-cycle: the last rate is the first / this (default: 1e4).", valueName: "d"))
    var finalDivFactor: Double?

    @Flag(help: "one-cycle and cyclic: move the momentum (SGD's, RMSprop's; plain SGD and RMSprop get one) or beta1 (Adam's, AdamW's, Adamax's, RAdam's) against the rate, from --max-momentum down to --base-momentum at the peak and back (cyclic's triangular2 and exp-range: down by the height's scale) (PyTorch's OneCycleLR and CyclicLR cycle_momentum=True, their default; minibatch's default: off). Not with adagrad, adadelta or nadam.")
    var cycleMomentum = false

    @Flag(help: "one-cycle: three phases (PyTorch's three_phase): up to --learning-rate, back down to --learning-rate / --div-factor at step 2 x pct-start x N - 2, then to the last rate (default: two).")
    var threePhase = false

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "one-cycle: how each phase moves between its ends, cos or linear (PyTorch's anneal_strategy; default: cos).",
        valueName: "strategy"))
    var annealStrategy: AnnealStrategyName?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "one-cycle and cyclic with --cycle-momentum: the momentum at the peak rate, in (0, 1) (default: 0.85 for one-cycle, 0.8 for cyclic, PyTorch's).", valueName: "m"))
    var baseMomentum: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "one-cycle and cyclic with --cycle-momentum: the momentum at the first and last steps (cyclic: at each cycle's start), in (0, 1) (default: 0.95 for one-cycle, 0.9 for cyclic).", valueName: "m"))
    var maxMomentum: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "cyclic: the steps of each cycle's rise from --min-learning-rate to --learning-rate; a step is an epoch, or a mini-batch with --schedule-per-batch (PyTorch's CyclicLR step_size_up; default: 2000).",
        valueName: "n"))
    var cyclicStepSizeUp: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "cyclic: the steps of each cycle's fall, >= 0 (default: as --cyclic-step-size-up).", valueName: "n"))
    var cyclicStepSizeDown: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "cyclic: triangular (the same height every cycle), triangular2 (halved every cycle) or exp-range (times --gamma^step) (PyTorch's mode; default: triangular).",
        valueName: "mode"))
    var cyclicMode: CyclicModeName?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "plateau: the rate is multiplied by --gamma after more than this many epochs in a row whose monitored value (--monitor) does not improve on the best by --plateau-threshold (PyTorch's ReduceLROnPlateau patience; default: 10).",
        valueName: "n"))
    var plateauPatience: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "plateau: the improvement that counts, relative or absolute (--plateau-threshold-mode) (default: 1e-4).", valueName: "t"))
    var plateauThreshold: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "plateau: rel (better than best x (1 - t), a score best x (1 + t)) or abs (best - t, a score best + t) (default: rel).",
        valueName: "mode"))
    var plateauThresholdMode: ThresholdModeName?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "plateau: epochs after a reduction that count no bad epoch (default: 0).", valueName: "n"))
    var plateauCooldown: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "plateau: a reduction not larger than this is not made (default: 1e-8).", valueName: "x"))
    var plateauEps: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Warm the schedule's rate up linearly over the model's first n epochs, from --warmup-start-factor times it (PyTorch's LinearLR before the schedule; default: 0, none).",
        valueName: "n"))
    var warmupEpochs: Int = 0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The fraction of the schedule's rate the warm-up starts from, in (0, 1] (default: 1/3).", valueName: "f"))
    var warmupStartFactor: Double?

    @Flag(help: "Give the schedule and the warm-up a rate for every mini-batch, at the fractional epoch e + b / B of batch b of the epoch's B (PyTorch's schedulers stepped every iteration: CosineAnnealingLR with T_max = --cosine-period x B, LinearLR with total_iters = --warmup-epochs x B; one-cycle and cyclic then count mini-batches); step's, multi-step's, adaptive's and plateau's own rates still change between epochs only (default: a rate an epoch).")
    var schedulePerBatch = false

    // MARK: Early stopping

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Stop after this many epochs in a row without improving the monitored value (--monitor); 0: never. The adaptive schedule divides the rate instead.",
        valueName: "n"))
    var patience = 0

    @Option(parsing: .unconditional, help: ArgumentHelp("The improvement that counts for --patience.", valueName: "x"))
    var minDelta: Double = 0

    @Flag(inversion: .prefixedNo, help: "With a validation set and --patience, end with the best epoch's weights when training stops early.")
    var restoreBest = true

    @Option(help: ArgumentHelp(
        "What --patience and the adaptive and plateau schedules watch: cost (the validation cost, else the training cost; lower is better) or validation-score (accuracy, R^2 for mse and poisson; higher is better; needs a validation set). Default: cost (resume: what the model's early stopping watched).",
        valueName: "value"))
    var monitor: MonitorName?

    // MARK: - Building the options

    /// The update rule, checking that every given hyperparameter belongs to it.
    func rule(_ name: OptimizerName) throws -> Optimizer {
        let given: [(String, Bool, [OptimizerName])] = [
            ("--momentum", momentum != nil, [.momentum, .nesterov, .rmsprop]),
            ("--centered", centered, [.rmsprop]),
            ("--rho", rho != nil, [.rmsprop, .adadelta]),
            ("--beta1", beta1 != nil, [.adam, .adamw, .amsgrad, .adamwAMSGrad, .adamax, .nadam, .radam]),
            ("--beta2", beta2 != nil, [.adam, .adamw, .amsgrad, .adamwAMSGrad, .adamax, .nadam, .radam]),
            ("--epsilon", epsilon != nil, [.rmsprop, .adam, .adamw, .amsgrad, .adamwAMSGrad, .adagrad, .adamax, .nadam, .radam,
                                           .adadelta]),
            ("--momentum-decay", momentumDecay != nil, [.nadam]),
            ("--decoupled-weight-decay", decoupledWeightDecay, [.nadam, .radam]),
            ("--lr-decay", lrDecay != nil, [.adagrad]),
            ("--initial-accumulator", initialAccumulator != nil, [.adagrad]),
        ]
        for (option, isGiven, rules) in given where isGiven && !rules.contains(name) {
            throw ValidationError("\(option) is a parameter of --optimizer \(rules.map(\.rawValue).joined(separator: " or ")), not of \(name.rawValue)")
        }
        guard !decoupledWeightDecay || weightDecay != nil else {
            throw ValidationError("--decoupled-weight-decay says how --weight-decay applies: give --weight-decay too")
        }
        switch name {
        case .sgd: return .sgd()
        case .momentum: return .sgd(momentum: momentum ?? 0.9)
        case .nesterov: return .sgd(momentum: momentum ?? 0.9, nesterov: true)
        case .rmsprop: return .rmsprop(rho: rho ?? 0.99, epsilon: epsilon ?? 1e-8, momentum: momentum ?? 0, centered: centered)
        case .adam, .amsgrad:
            return .adam(beta1: beta1 ?? 0.9, beta2: beta2 ?? 0.999, epsilon: epsilon ?? 1e-8, amsgrad: name == .amsgrad)
        case .adamw, .adamwAMSGrad:
            return .adamW(beta1: beta1 ?? 0.9, beta2: beta2 ?? 0.999, epsilon: epsilon ?? 1e-8, weightDecay: weightDecay ?? 0.01,
                          amsgrad: name == .adamwAMSGrad)
        case .adagrad:
            return .adagrad(epsilon: epsilon ?? 1e-8, lrDecay: lrDecay ?? 0, initialAccumulator: initialAccumulator ?? 0)
        case .adamax: return .adamax(beta1: beta1 ?? 0.9, beta2: beta2 ?? 0.999, epsilon: epsilon ?? 1e-8)
        case .adadelta: return .adadelta(rho: rho ?? 0.9, epsilon: epsilon ?? 1e-6)
        case .nadam:
            return .nadam(beta1: beta1 ?? 0.9, beta2: beta2 ?? 0.999, epsilon: epsilon ?? 1e-8, momentumDecay: momentumDecay ?? 0.004,
                          decoupledWeightDecay: decoupledWeightDecay ? weightDecay ?? 0 : 0)
        case .radam:
            return .radam(beta1: beta1 ?? 0.9, beta2: beta2 ?? 0.999, epsilon: epsilon ?? 1e-8,
                          decoupledWeightDecay: decoupledWeightDecay ? weightDecay ?? 0 : 0)
        }
    }

    /// The schedule, checking that every given parameter belongs to it.
    func resolvedSchedule() throws -> Schedule {
        let given: [(String, Bool, [ScheduleName])] = [
            ("--step-every", stepEvery != nil, [.step]),
            ("--gamma", gamma != nil, [.step, .exponential, .multiStep, .plateau, .cyclic]),
            ("--power", power != nil, [.inverseTime]),
            ("--cosine-period", cosinePeriod != nil, [.cosine, .cosineRestarts, .oneCycle]),
            ("--min-learning-rate", minLearningRate != nil, [.cosine, .cosineRestarts, .plateau, .cyclic]),
            ("--milestones", milestones != nil, [.multiStep]),
            ("--restart-multiplier", restartMultiplier != nil, [.cosineRestarts]),
            ("--pct-start", pctStart != nil, [.oneCycle]),
            ("--div-factor", divFactor != nil, [.oneCycle]),
            ("--final-div-factor", finalDivFactor != nil, [.oneCycle]),
            ("--cycle-momentum", cycleMomentum, [.oneCycle, .cyclic]),
            ("--three-phase", threePhase, [.oneCycle]),
            ("--anneal-strategy", annealStrategy != nil, [.oneCycle]),
            ("--plateau-patience", plateauPatience != nil, [.plateau]),
            ("--plateau-threshold", plateauThreshold != nil, [.plateau]),
            ("--plateau-threshold-mode", plateauThresholdMode != nil, [.plateau]),
            ("--plateau-cooldown", plateauCooldown != nil, [.plateau]),
            ("--plateau-eps", plateauEps != nil, [.plateau]),
            ("--cyclic-step-size-up", cyclicStepSizeUp != nil, [.cyclic]),
            ("--cyclic-step-size-down", cyclicStepSizeDown != nil, [.cyclic]),
            ("--cyclic-mode", cyclicMode != nil, [.cyclic]),
        ]
        for (option, isGiven, schedules) in given where isGiven && !schedules.contains(schedule) {
            throw ValidationError("\(option) is a parameter of --schedule \(schedules.map(\.rawValue).joined(separator: " or ")), not of \(schedule.rawValue)")
        }
        for (option, isGiven) in [("--base-momentum", baseMomentum != nil), ("--max-momentum", maxMomentum != nil)]
        where isGiven && !cycleMomentum {
            throw ValidationError("\(option) is a parameter of --cycle-momentum (with --schedule one-cycle or cyclic)")
        }
        if schedule == .cyclic, minLearningRate == nil {
            throw ValidationError("--schedule cyclic needs --min-learning-rate, the rate at each cycle's start (PyTorch's base_lr; --learning-rate is its max_lr)")
        }
        if schedule == .cyclic, gamma != nil, cyclicMode != .expRange {
            throw ValidationError("--gamma is a parameter of --cyclic-mode exp-range with --schedule cyclic, not of \((cyclicMode ?? .triangular).rawValue)")
        }
        if let cyclicStepSizeDown, cyclicStepSizeDown < 0 {
            // (a value refused, as the library refuses --cyclic-step-size-up's: status 1, not 64)
            throw Failure("--cyclic-step-size-down must be >= 0, got \(cyclicStepSizeDown)")
        }
        switch schedule {
        case .constant: return .constant
        case .step: return .step(every: stepEvery ?? 10, gamma: gamma ?? 0.1)
        case .exponential: return .exponential(gamma: gamma ?? 0.9)
        case .inverseTime: return .inverseTime(power: power ?? 0.5)
        case .cosine: return .cosine(period: cosinePeriod ?? 0, minimum: minLearningRate ?? 0)
        case .adaptive: return .adaptive
        case .multiStep: return .multiStep(milestones: milestones?.epochs ?? [], gamma: gamma ?? 0.1)
        case .cosineRestarts:
            return .cosineRestarts(period: cosinePeriod ?? 10, multiplier: restartMultiplier ?? 1, minimum: minLearningRate ?? 0)
        case .oneCycle:
            return .oneCycle(period: cosinePeriod ?? 0, pctStart: pctStart ?? 0.3, divFactor: divFactor ?? 25,
                             finalDivFactor: finalDivFactor ?? 1e4, cycleMomentum: cycleMomentum,
                             baseMomentum: baseMomentum ?? 0.85, maxMomentum: maxMomentum ?? 0.95, threePhase: threePhase,
                             annealing: annealStrategy == .linear ? .linear : .cosine)
        case .cyclic:
            return .cyclic(minimum: minLearningRate ?? 0, stepsUp: cyclicStepSizeUp ?? 2000, stepsDown: cyclicStepSizeDown,
                           mode: (cyclicMode ?? .triangular).mode, gamma: gamma ?? 1, cycleMomentum: cycleMomentum, baseMomentum: baseMomentum ?? 0.8,
                           maxMomentum: maxMomentum ?? 0.9)
        case .plateau:
            return .plateau(factor: gamma ?? 0.1, patience: plateauPatience ?? 10, threshold: plateauThreshold ?? 1e-4,
                            thresholdMode: (plateauThresholdMode ?? .rel).mode,
                            cooldown: plateauCooldown ?? 0, minimum: minLearningRate ?? 0, eps: plateauEps ?? 1e-8)
        }
    }

    /// The library's options for `rule`, validation as given.
    func options(
        rule name: OptimizerName, shuffle: Bool, validationFraction: Double, monitor watched: MonitorName = .cost
    ) throws -> TrainingOptions {
        // (the library names its memory_budget, which --memory-budget sets for the reader)
        guard batchMemory.bytes >= 0 else { throw Failure("--batch-memory must be >= 0, got \(batchMemory.bytes)") }
        var options = TrainingOptions(
            epochs: epochs, batchSize: batchSize.batchSize, learningRate: learningRate, seed: seed, shuffle: shuffle,
            lastBatch: lastBatch.lastBatch, memoryBudget: batchMemory.bytes, threads: threads,
            optimizer: try rule(name), schedule: try resolvedSchedule(), l2: l2, clipNorm: clipNorm,
            earlyStopping: EarlyStopping(patience: patience, minDelta: minDelta, restoreBest: restoreBest, monitor: (monitor ?? watched).monitor))
        guard warmupStartFactor == nil || warmupEpochs != 0 else {
            throw ValidationError("--warmup-start-factor is a parameter of the warm-up: it needs --warmup-epochs >= 1")
        }
        options.warmup = Warmup(epochs: warmupEpochs, startFactor: warmupStartFactor ?? 1.0 / 3)
        options.schedulePerBatch = schedulePerBatch
        options.clipValue = clipValue
        // (AdamW's --weight-decay is its own decoupled decay, in the rule)
        options.coupledWeightDecay = name == .adamw || name == .adamwAMSGrad || decoupledWeightDecay ? 0 : weightDecay ?? 0
        options.shards = shards
        options.flushesDenormals = !keepDenormals
        options.dropout = dropout
        options.labelSmoothing = labelSmoothing
        options.validationFraction = validationFraction
        return options
    }

    /// The options of this run as command-line arguments (for the command that resumes it):
    /// every option that differs from its default, with the rule's and the schedule's
    /// parameters spelled out, `epochs` epochs, and the cosine period fixed at the run's end.
    func arguments(rule name: OptimizerName, epochs remaining: Int, cosineEnd: Int, monitor watched: MonitorName = .cost) -> [String] {
        var out = ["--epochs", "\(remaining)"]
        func add(_ option: String, _ value: String, unless defaultValue: String? = nil) {
            if value != defaultValue { out += [option, value] }
        }
        add("--batch-size", batchSize.description, unless: "auto")
        add("--learning-rate", "\(learningRate)", unless: "\(Float(0.01))")
        add("--seed", "\(seed)", unless: "0")
        add("--threads", "\(threads)", unless: "0")
        add("--shards", "\(shards)", unless: "0")
        if keepDenormals { out.append("--keep-denormals") }
        add("--last-batch", lastBatch.rawValue, unless: "keep")
        add("--batch-memory", "\(batchMemory.bytes)", unless: "0")
        add("--optimizer", name.rawValue)
        switch (try? rule(name)) ?? .sgd() {
        case .sgd(let mu, _): if name != .sgd { add("--momentum", "\(mu)") }
        case .rmsprop(let rho, let eps, let mu, let centered):
            add("--rho", "\(rho)"); add("--epsilon", "\(eps)")
            add("--momentum", "\(mu)", unless: "\(Float(0))")
            if centered { out.append("--centered") }
        case .adam(let b1, let b2, let eps, _): add("--beta1", "\(b1)"); add("--beta2", "\(b2)"); add("--epsilon", "\(eps)")
        case .adamW(let b1, let b2, let eps, let wd, _):
            add("--beta1", "\(b1)"); add("--beta2", "\(b2)"); add("--epsilon", "\(eps)"); add("--weight-decay", "\(wd)")
        case .adagrad(let eps, let decay, let initial):
            add("--epsilon", "\(eps)")
            add("--lr-decay", "\(decay)", unless: "\(Float(0))")
            add("--initial-accumulator", "\(initial)", unless: "\(Float(0))")
        case .adamax(let b1, let b2, let eps), .radam(let b1, let b2, let eps, _):
            add("--beta1", "\(b1)"); add("--beta2", "\(b2)"); add("--epsilon", "\(eps)")
        case .nadam(let b1, let b2, let eps, let decay, _):
            add("--beta1", "\(b1)"); add("--beta2", "\(b2)"); add("--epsilon", "\(eps)"); add("--momentum-decay", "\(decay)")
        case .adadelta(let rho, let eps): add("--rho", "\(rho)"); add("--epsilon", "\(eps)")
        }
        if name != .adamw && name != .adamwAMSGrad, let weightDecay { add("--weight-decay", "\(weightDecay)", unless: "\(Float(0))") }
        if decoupledWeightDecay { out.append("--decoupled-weight-decay") }
        add("--l2", "\(l2)", unless: "\(Float(0))")
        add("--clip-norm", "\(clipNorm)", unless: "\(Float(0))")
        add("--clip-value", "\(clipValue)", unless: "\(Float(0))")
        add("--dropout", "\(dropout)", unless: "\(0.0)")
        add("--label-smoothing", "\(labelSmoothing)", unless: "\(0.0)")
        add("--schedule", schedule.rawValue, unless: "constant")
        switch (try? resolvedSchedule()) ?? .constant {
        case .step(let every, let gamma): add("--step-every", "\(every)"); add("--gamma", "\(gamma)")
        case .exponential(let gamma): add("--gamma", "\(gamma)")
        case .inverseTime(let power): add("--power", "\(power)")
        case .cosine(let period, let minimum):
            add("--cosine-period", "\(period > 0 ? period : cosineEnd)"); add("--min-learning-rate", "\(minimum)")
        case .multiStep(let epochs, let gamma):
            if !epochs.isEmpty { add("--milestones", Milestones(epochs).description) }
            add("--gamma", "\(gamma)")
        case .cosineRestarts(let period, let multiplier, let minimum):
            add("--cosine-period", "\(period)"); add("--restart-multiplier", "\(multiplier)")
            add("--min-learning-rate", "\(minimum)")
        case .oneCycle(let period, let pctStart, let divFactor, let finalDivFactor, let cycle, let base, let top, let three,
                       let annealing):
            add("--cosine-period", "\(period > 0 ? period : cosineEnd)"); add("--pct-start", "\(pctStart)")
            add("--div-factor", "\(divFactor)"); add("--final-div-factor", "\(finalDivFactor)")
            if cycle {
                out.append("--cycle-momentum")
                add("--base-momentum", "\(base)"); add("--max-momentum", "\(top)")
            }
            if three { out.append("--three-phase") }
            if annealing == .linear { add("--anneal-strategy", "linear") }
        case .plateau(let factor, let patience, let threshold, let mode, let cooldown, let minimum, let eps):
            add("--gamma", "\(factor)"); add("--plateau-patience", "\(patience)")
            add("--plateau-threshold", "\(threshold)"); add("--plateau-threshold-mode", ThresholdModeName(mode).rawValue)
            add("--plateau-cooldown", "\(cooldown)"); add("--min-learning-rate", "\(minimum)")
            add("--plateau-eps", "\(eps)")
        case .cyclic(let minimum, let up, let down, let mode, let gamma, let cycle, let base, let top):
            add("--min-learning-rate", "\(minimum)"); add("--cyclic-step-size-up", "\(up)")
            add("--cyclic-step-size-down", "\(down ?? up)")
            add("--cyclic-mode", CyclicModeName(mode).rawValue)
            if mode == .exponentialRange { add("--gamma", "\(gamma)") }
            if cycle {
                out.append("--cycle-momentum")
                add("--base-momentum", "\(base)"); add("--max-momentum", "\(top)")
            }
        case .constant, .adaptive: break
        }
        add("--warmup-epochs", "\(warmupEpochs)", unless: "0")
        if let warmupStartFactor { add("--warmup-start-factor", "\(warmupStartFactor)") }
        if schedulePerBatch { out.append("--schedule-per-batch") }
        add("--patience", "\(patience)", unless: "0")
        add("--min-delta", "\(minDelta)", unless: "\(0.0)")
        if !restoreBest { out.append("--no-restore-best") }
        add("--monitor", (monitor ?? watched).rawValue, unless: "cost")
        return out
    }
}
