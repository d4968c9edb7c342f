import CMiniBatch
import MiniBatch

// MARK: - Training options, batch size, history, training

@c @implementation
public func mb_train_options_init(_ options: UnsafeMutablePointer<mb_train_options>?) {
    guard let options else { return }
    options.pointee = mb_train_options(
        struct_size: MemoryLayout<mb_train_options>.size,
        epochs: 10, batch_size: Int64(MB_BATCH_AUTO), learning_rate: 0.01, seed: 0, shuffle: 1,
        last_batch: MB_LAST_BATCH_KEEP, memory_budget: 0, progress: nil, user_data: nil, threads: 0,
        optimizer: MB_OPTIMIZER_SGD, momentum: 0, nesterov: 0, rho: 0.99, beta1: 0.9, beta2: 0.999,
        epsilon: 1e-8, weight_decay: 0.01, l2: 0, clip_norm: 0,
        schedule: MB_SCHEDULE_CONSTANT, gamma: 0, step_epochs: 10, power_t: 0.5, cosine_epochs: 0,
        min_learning_rate: 0, patience: 0, min_delta: 0, restore_best: 1,
        validation_x: nil, validation_y: nil, validation_y_type: MB_TARGETS_FLOAT32, validation_m: 0,
        validation_fraction: 0, sample_weight: nil, validation_dataset: nil,
        shards: 0, communicator: nil, distributed_mode: MB_DISTRIBUTED_DETERMINISTIC, interrupt: nil,
        monitor: MB_MONITOR_COST, dropout: 0, class_weight: nil, class_weight_count: 0, label_smoothing: 0,
        amsgrad: 0, warmup_epochs: 0, warmup_start_factor: 1.0 / 3, clip_value: 0,
        lr_decay: 0, initial_accumulator_value: 0, momentum_decay: 0.004, centered: 0,
        milestones: nil, milestone_count: 0, restart_multiplier: 1, validation_sample_weight: nil,
        schedule_per_batch: 0, pct_start: 0.3, div_factor: 25, final_div_factor: 1e4,
        cycle_momentum: 0, base_momentum: 0.85, max_momentum: 0.95, three_phase: 0, anneal_strategy: MB_ANNEAL_COS,
        coupled_weight_decay: 0, decoupled_weight_decay: 0,
        plateau_patience: 10, plateau_threshold: 1e-4, plateau_threshold_mode: MB_THRESHOLD_REL, plateau_cooldown: 0,
        plateau_eps: 1e-8, cyclic_mode: MB_CYCLIC_TRIANGULAR, cyclic_step_size_up: 2000, cyclic_step_size_down: -1,
        denormals: MB_DENORMALS_FLUSH, reserved: 0)
}

/// `error`, thrown before training began, told to every rank when the options hold a usable
/// communicator (`refusedBeforeTraining`): a rank that refuses its own arguments must not
/// leave the others waiting for it. Only for errors before `Network.train`, which tells the
/// ranks its own.
func beforeTraining(_ options: UnsafePointer<mb_train_options>?, _ error: MiniBatchError) -> MiniBatchError {
    guard let o = try? readOptions(options), let pointer = o.communicator,
          let communicator = try? CCommunicator(pointer) else { return error }
    return refusedBeforeTraining(Distribution(communicator, mode: .deterministic), error)
}

/// mb_train_options' pointers (function pointers included), which a struct_size must not
/// cut: their offsets and names.
private func optionPointers() -> [(offset: Int, name: String)] {
    let keys: [(PartialKeyPath<mb_train_options>, String)] = [
        (\.progress, "progress"), (\.user_data, "user_data"), (\.validation_x, "validation_x"),
        (\.validation_y, "validation_y"), (\.sample_weight, "sample_weight"), (\.validation_dataset, "validation_dataset"),
        (\.communicator, "communicator"), (\.interrupt, "interrupt"), (\.class_weight, "class_weight"),
        (\.milestones, "milestones"), (\.validation_sample_weight, "validation_sample_weight"),
    ]
    return keys.map { (MemoryLayout<mb_train_options>.offset(of: $0.0)!, $0.1) }
}

/// The caller's options over the defaults: the first `struct_size` bytes are the caller's,
/// the rest (fields added after the caller was built) keep their defaults.
private func readOptions(_ options: UnsafePointer<mb_train_options>?) throws(MiniBatchError) -> mb_train_options {
    var o = mb_train_options()
    mb_train_options_init(&o)
    guard let options else { return o }
    let size = options.pointee.struct_size
    let firstVersion = MemoryLayout<mb_train_options>.offset(of: \.threads)! + MemoryLayout<Int32>.size
    guard size >= firstVersion else {
        throw .init(.invalidArgument, "options->struct_size is \(Validate.asSize(size)): set it to sizeof(mb_train_options) (mb_train_options_init does)")
    }
    // A size that ends inside a pointer would leave one made of the caller's first bytes and
    // the default's last (a fuzzed size made a pointer 0x18, which training then retained):
    // every release's sizeof ends between fields, so such a size is refused.
    for (offset, name) in optionPointers() {
        if size > offset && size < offset + MemoryLayout<UnsafeRawPointer>.size {
            throw .init(.invalidArgument, "options->struct_size is \(Validate.asSize(size)), which ends inside the pointer \(name) (bytes \(offset) to \(offset + MemoryLayout<UnsafeRawPointer>.size - 1)): set it to sizeof(mb_train_options) (mb_train_options_init does)")
        }
    }
    withUnsafeMutableBytes(of: &o) { out in
        out.copyMemory(from: UnsafeRawBufferPointer(start: options, count: min(size, out.count)))
    }
    // RMSprop ignored `momentum` before 0.7.0: a caller built against an older header (its
    // struct ending before momentum_decay) that set it keeps the plain rule it trained with.
    if size <= MemoryLayout<mb_train_options>.offset(of: \.momentum_decay)!, o.optimizer == MB_OPTIMIZER_RMSPROP {
        o.momentum = 0
    }
    o.struct_size = MemoryLayout<mb_train_options>.size
    return o
}

/// A training memory budget (size_t, seen as Int): 0 and anything from 2^62 up
/// (SIZE_MAX included) mean no limit.
private func budget(_ bytes: Int) throws(MiniBatchError) -> Int {
    bytes < 0 || bytes >= 1 << 62 ? 0 : bytes
}

@c @implementation
public func mb_auto_batch_size(
    _ model: OpaquePointer?, _ m: Int64, _ memory_budget: Int, _ batch_size: UnsafeMutablePointer<Int64>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let out = try required(batch_size, "batch_size")
        out.pointee = Int64(try network.automaticBatchSize(count: Int(m), memoryBudget: try budget(memory_budget)))
    }
}

@c @implementation
public func mb_working_memory(_ model: OpaquePointer?, _ batch_size: Int64, _ bytes: UnsafeMutablePointer<Int>?) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let out = try required(bytes, "bytes")
        out.pointee = try network.workingMemory(batchSize: Int(batch_size))
    }
}

@c @implementation
public func mb_history_create(_ history: UnsafeMutablePointer<OpaquePointer?>?) -> mb_status {
    run { () throws(MiniBatchError) in
        try required(history, "history").pointee = handle(History())
    }
}

@c @implementation
public func mb_history_free(_ history: OpaquePointer?) {
    release(history, as: History.self)
}

@c @implementation
public func mb_history_clear(_ pointer: OpaquePointer?) -> mb_status {
    run { () throws(MiniBatchError) in try history(pointer).removeAll() }
}

private func copyCosts(
    _ costs: [Double], _ out: UnsafeMutablePointer<Double>?, _ capacity: Int64, _ count: UnsafeMutablePointer<Int64>?
) throws(MiniBatchError) {
    let countOut = try required(count, "count")
    if let out {
        guard capacity >= costs.count else {
            throw .init(.invalidArgument, "capacity \(capacity) is smaller than the number of costs (\(costs.count))")
        }
        for (i, cost) in costs.enumerated() { out[i] = cost }
    } else if capacity != 0 {
        throw .init(.invalidArgument, "out is NULL but capacity is \(capacity) (must be 0 to ask for the count)")
    }
    countOut.pointee = Int64(costs.count)
}

@c @implementation
public func mb_history_batch_costs(
    _ pointer: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ capacity: Int64, _ count: UnsafeMutablePointer<Int64>?
) -> mb_status {
    run { () throws(MiniBatchError) in try copyCosts(try history(pointer).costs().batches, out, capacity, count) }
}

@c @implementation
public func mb_history_epoch_costs(
    _ pointer: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ capacity: Int64, _ count: UnsafeMutablePointer<Int64>?
) -> mb_status {
    run { () throws(MiniBatchError) in try copyCosts(try history(pointer).costs().epochs, out, capacity, count) }
}

@c @implementation
public func mb_history_validation_costs(
    _ pointer: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ capacity: Int64, _ count: UnsafeMutablePointer<Int64>?
) -> mb_status {
    run { () throws(MiniBatchError) in try copyCosts(try history(pointer).epochRecords().validationCosts, out, capacity, count) }
}

@c @implementation
public func mb_history_validation_scores(
    _ pointer: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ capacity: Int64, _ count: UnsafeMutablePointer<Int64>?
) -> mb_status {
    run { () throws(MiniBatchError) in try copyCosts(try history(pointer).epochRecords().validationScores, out, capacity, count) }
}

@c @implementation
public func mb_history_learning_rates(
    _ pointer: OpaquePointer?, _ out: UnsafeMutablePointer<Double>?, _ capacity: Int64, _ count: UnsafeMutablePointer<Int64>?
) -> mb_status {
    run { () throws(MiniBatchError) in try copyCosts(try history(pointer).epochRecords().learningRates, out, capacity, count) }
}

/// A training call's arguments beyond the model and the data, converted.
struct TrainingArguments {
    var options: TrainingOptions
    var validation: DataView?
    var validationDataset: FileDataset?
    var history: History?
    var progress: ((Progress) -> ProgressAction)?
    var sampleWeight: UnsafePointer<Float>?
}

/// The options, validation set, history and progress callback of a training call,
/// converted. The engine checks the values (`Validate.training`); this checks what only
/// the C form can get wrong: struct_size, enums, flags, the validation set's pointers.
func trainingArguments(
    _ options: UnsafePointer<mb_train_options>?, _ history: OpaquePointer?, features: Int, for network: Network,
    fileDataset: Bool = false
) throws(MiniBatchError) -> TrainingArguments {
    let o = try readOptions(options)
    guard o.batch_size == Int64(MB_BATCH_AUTO) || o.batch_size >= 1 else {
        throw .init(.invalidArgument, "batch_size must be at least 1 or MB_BATCH_AUTO (-1), got \(o.batch_size)")
    }
    var trainingOptions = TrainingOptions(
        epochs: Int(o.epochs),
        batchSize: o.batch_size == Int64(MB_BATCH_AUTO) ? .automatic : .fixed(Int(o.batch_size)),
        learningRate: o.learning_rate, seed: o.seed, shuffle: o.shuffle != 0,
        lastBatch: try convert(o.last_batch), memoryBudget: try budget(o.memory_budget),
        threads: Int(o.threads))
    trainingOptions.optimizer = try optimizer(o)
    trainingOptions.schedule = try schedule(o)
    trainingOptions.warmup = Warmup(epochs: Int(o.warmup_epochs), startFactor: o.warmup_start_factor)
    guard o.schedule_per_batch == 0 || o.schedule_per_batch == 1 else {
        throw .init(.invalidArgument, "schedule_per_batch must be 0 (a rate an epoch) or 1 (a rate every mini-batch), got \(o.schedule_per_batch)")
    }
    trainingOptions.schedulePerBatch = o.schedule_per_batch != 0
    trainingOptions.l2 = o.l2
    trainingOptions.clipNorm = o.clip_norm
    trainingOptions.clipValue = o.clip_value
    trainingOptions.coupledWeightDecay = o.coupled_weight_decay
    trainingOptions.dropout = o.dropout
    trainingOptions.labelSmoothing = o.label_smoothing
    if o.class_weight != nil || o.class_weight_count != 0 {
        guard let weights = o.class_weight, o.class_weight_count >= 1, o.class_weight_count <= Int64(Int32.max) else {
            throw .init(.invalidArgument, "class_weight and class_weight_count must both be set, with 1...2^31 - 1 entries (or NULL and 0), got \(o.class_weight == nil ? "NULL" : "a pointer") and \(o.class_weight_count)")
        }
        // Before the caller's buffer is read: its length must be the model's classes.
        if fileDataset { throw .init(.invalidArgument, FileDataset.classWeightRefusal) }
        try network.checkClassWeightCount(Int(o.class_weight_count))
        trainingOptions.classWeight = Array(UnsafeBufferPointer(start: weights, count: Int(o.class_weight_count)))
    }
    trainingOptions.validationFraction = o.validation_fraction
    guard o.shards >= 0 && o.shards <= Int64(TrainingOptions.maxShards) else {
        throw .init(.invalidArgument, "shards must be 0 (threads times ranks) or 1...\(TrainingOptions.maxShards), got \(o.shards)")
    }
    trainingOptions.shards = Int(o.shards)
    switch o.denormals {
    case MB_DENORMALS_FLUSH: trainingOptions.flushesDenormals = true
    case MB_DENORMALS_KEEP: trainingOptions.flushesDenormals = false
    default:
        throw .init(.invalidArgument, "denormals has no such value: \(Int32(bitPattern: o.denormals.rawValue)) (MB_DENORMALS_FLUSH or MB_DENORMALS_KEEP)")
    }
    guard o.reserved == 0 else {
        throw .init(.invalidArgument, "reserved must be 0, got \(o.reserved)")
    }
    // (Checked with or without a communicator, as every enum is.)
    let mode: Distribution.Mode
    switch o.distributed_mode {
    case MB_DISTRIBUTED_DETERMINISTIC: mode = .deterministic
    case MB_DISTRIBUTED_FAST: mode = .fast
    default:
        throw .init(.invalidArgument, "distributed_mode has no such value: \(Int32(bitPattern: o.distributed_mode.rawValue))")
    }
    if let communicator = o.communicator {
        trainingOptions.distribution = Distribution(try CCommunicator(communicator), mode: mode)
    }
    if let pointer = o.interrupt {
        trainingOptions.interrupt = try interrupt(pointer)  // (held for the call)
    }
    trainingOptions.earlyStopping = EarlyStopping(
        patience: Int(o.patience), minDelta: o.min_delta, restoreBest: o.restore_best != 0,
        monitor: try convert(o.monitor.rawValue, "monitor", to: EarlyStopping.Monitor.self))
    var validation: DataView? = nil
    if o.validation_x != nil || o.validation_y != nil || o.validation_m != 0 {
        guard o.validation_x != nil, o.validation_y != nil else {
            throw .init(.invalidArgument, "validation_x and validation_y must both be set (or both NULL with validation_m 0)")
        }
        do {
            validation = try dataView(o.validation_x, o.validation_y, o.validation_y_type, o.validation_m, Int64(features))
        } catch {
            throw .init(error.kind, "validation set: \(error.message)")
        }
        // (validation_m rows, checked above; the values by the validation set's check)
        validation?.weights = o.validation_sample_weight
    } else if o.validation_sample_weight != nil {
        throw .init(.invalidArgument, "validation_sample_weight weighs validation_x's rows: it needs validation_x (the rows held out by validation_fraction weigh their sample_weight)")
    }
    let recorder = history == nil ? nil : try MiniBatchExports.history(history)
    var callback: ((Progress) -> ProgressAction)? = nil
    if let progress = o.progress {
        let userData = o.user_data
        callback = { report in
            var info = mb_progress(
                epoch: Int64(report.epoch), epochs: Int64(report.epochs),
                epochs_trained: Int64(report.epochsTrained), batch_size: Int64(report.batchSize),
                batches: Int64(report.batches), epoch_cost: report.epochCost,
                last_batch_cost: report.lastBatchCost, learning_rate: report.learningRate,
                validation_cost: report.validationCost, validation_score: report.validationScore)
            return progress(&info, userData) == 0 ? .proceed : .stop
        }
    }
    let validationDataset = o.validation_dataset == nil ? nil : try dataset(o.validation_dataset)
    return TrainingArguments(
        options: trainingOptions, validation: validation, validationDataset: validationDataset, history: recorder,
        progress: callback, sampleWeight: o.sample_weight)
}

/// The update rule the options name.
private func optimizer(_ o: mb_train_options) throws(MiniBatchError) -> Optimizer {
    guard o.decoupled_weight_decay == 0 || o.decoupled_weight_decay == 1 else {
        throw .init(.invalidArgument, "decoupled_weight_decay must be 0 or 1 (MB_OPTIMIZER_NADAM and MB_OPTIMIZER_RADAM: weight_decay decoupled, as PyTorch's), got \(o.decoupled_weight_decay)")
    }
    switch o.optimizer {
    case MB_OPTIMIZER_SGD:
        guard o.nesterov == 0 || o.nesterov == 1 else {
            throw .init(.invalidArgument, "nesterov must be 0 or 1, got \(o.nesterov)")
        }
        return .sgd(momentum: o.momentum, nesterov: o.nesterov != 0)
    case MB_OPTIMIZER_RMSPROP:
        guard o.centered == 0 || o.centered == 1 else {
            throw .init(.invalidArgument, "centered must be 0 or 1, got \(o.centered)")
        }
        return .rmsprop(rho: o.rho, epsilon: o.epsilon, momentum: o.momentum, centered: o.centered != 0)
    case MB_OPTIMIZER_ADAM: return .adam(beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, amsgrad: o.amsgrad != 0)
    case MB_OPTIMIZER_ADAMW:
        return .adamW(beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weight_decay, amsgrad: o.amsgrad != 0)
    case MB_OPTIMIZER_ADAGRAD:
        return .adagrad(epsilon: o.epsilon, lrDecay: o.lr_decay, initialAccumulator: o.initial_accumulator_value)
    case MB_OPTIMIZER_ADAMAX: return .adamax(beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon)
    case MB_OPTIMIZER_NADAM:
        return .nadam(beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, momentumDecay: o.momentum_decay,
                      decoupledWeightDecay: o.decoupled_weight_decay == 1 ? o.weight_decay : 0)
    case MB_OPTIMIZER_RADAM:
        return .radam(beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon,
                      decoupledWeightDecay: o.decoupled_weight_decay == 1 ? o.weight_decay : 0)
    case MB_OPTIMIZER_ADADELTA: return .adadelta(rho: o.rho, epsilon: o.epsilon)
    default:
        throw .init(.invalidArgument, "optimizer has no such value: \(Int32(bitPattern: o.optimizer.rawValue))")
    }
}

/// The schedule the options name.
private func schedule(_ o: mb_train_options) throws(MiniBatchError) -> Schedule {
    guard o.cycle_momentum == 0 || o.cycle_momentum == 1 else {
        throw .init(.invalidArgument, "cycle_momentum must be 0 (the momentum as given) or 1 (cycled by MB_SCHEDULE_ONE_CYCLE), got \(o.cycle_momentum)")
    }
    guard o.three_phase == 0 || o.three_phase == 1 else {
        throw .init(.invalidArgument, "three_phase must be 0 (two phases) or 1 (three, MB_SCHEDULE_ONE_CYCLE), got \(o.three_phase)")
    }
    guard let annealing = Schedule.Annealing(rawValue: Int(o.anneal_strategy.rawValue)) else {
        throw .init(.invalidArgument, "anneal_strategy has no such value: \(Int32(bitPattern: o.anneal_strategy.rawValue)) (MB_ANNEAL_COS or MB_ANNEAL_LINEAR)")
    }
    guard let thresholdMode = Schedule.ThresholdMode(rawValue: Int(o.plateau_threshold_mode.rawValue)) else {
        throw .init(.invalidArgument, "plateau_threshold_mode has no such value: \(Int32(bitPattern: o.plateau_threshold_mode.rawValue)) (MB_THRESHOLD_REL or MB_THRESHOLD_ABS)")
    }
    guard let cyclicMode = Schedule.CyclicMode(rawValue: Int(o.cyclic_mode.rawValue)) else {
        throw .init(.invalidArgument, "cyclic_mode has no such value: \(Int32(bitPattern: o.cyclic_mode.rawValue)) (MB_CYCLIC_TRIANGULAR, MB_CYCLIC_TRIANGULAR2 or MB_CYCLIC_EXP_RANGE)")
    }
    switch o.schedule {
    case MB_SCHEDULE_CONSTANT: return .constant
    case MB_SCHEDULE_STEP: return .step(every: Int(o.step_epochs), gamma: o.gamma == 0 ? 0.1 : o.gamma)
    case MB_SCHEDULE_EXPONENTIAL: return .exponential(gamma: o.gamma == 0 ? 0.9 : o.gamma)
    case MB_SCHEDULE_INVERSE_TIME: return .inverseTime(power: o.power_t)
    case MB_SCHEDULE_COSINE: return .cosine(period: Int(o.cosine_epochs), minimum: o.min_learning_rate)
    case MB_SCHEDULE_ADAPTIVE: return .adaptive
    case MB_SCHEDULE_MULTI_STEP:
        guard (o.milestones == nil) == (o.milestone_count == 0), o.milestone_count >= 0, o.milestone_count <= 1 << 20 else {
            throw .init(.invalidArgument, "milestones and milestone_count must both be set, with 1...2^20 entries (or NULL and 0), got \(o.milestones == nil ? "NULL" : "a pointer") and \(o.milestone_count)")
        }
        let milestones = o.milestones.map { Array(UnsafeBufferPointer(start: $0, count: Int(o.milestone_count))) } ?? []
        return .multiStep(milestones: milestones.map { Int($0) }, gamma: o.gamma == 0 ? 0.1 : o.gamma)
    case MB_SCHEDULE_COSINE_RESTARTS:
        return .cosineRestarts(period: Int(o.cosine_epochs), multiplier: Int(o.restart_multiplier), minimum: o.min_learning_rate)
    case MB_SCHEDULE_ONE_CYCLE:
        return .oneCycle(period: Int(o.cosine_epochs), pctStart: o.pct_start, divFactor: o.div_factor,
                         finalDivFactor: o.final_div_factor, cycleMomentum: o.cycle_momentum == 1,
                         baseMomentum: o.base_momentum, maxMomentum: o.max_momentum, threePhase: o.three_phase == 1,
                         annealing: annealing)
    case MB_SCHEDULE_CYCLIC:
        // (-1: as up; below, refused by Validate with the others)
        return .cyclic(minimum: o.min_learning_rate, stepsUp: Int(o.cyclic_step_size_up),
                       stepsDown: o.cyclic_step_size_down == -1 ? nil : Int(o.cyclic_step_size_down), mode: cyclicMode,
                       gamma: o.gamma == 0 ? 1 : o.gamma, cycleMomentum: o.cycle_momentum == 1,
                       baseMomentum: o.base_momentum, maxMomentum: o.max_momentum)
    case MB_SCHEDULE_PLATEAU:
        return .plateau(factor: o.gamma == 0 ? 0.1 : o.gamma, patience: Int(o.plateau_patience),
                        threshold: o.plateau_threshold, thresholdMode: thresholdMode,
                        cooldown: Int(o.plateau_cooldown), minimum: o.min_learning_rate, eps: o.plateau_eps)
    default:
        throw .init(.invalidArgument, "schedule has no such value: \(Int32(bitPattern: o.schedule.rawValue))")
    }
}

@c @implementation
public func mb_train(
    _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafeRawPointer?, _ y_type: mb_targets,
    _ m: Int64, _ n_features: Int64, _ options: UnsafePointer<mb_train_options>?, _ history: OpaquePointer?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network: Network, data: DataView, a: TrainingArguments
        do throws(MiniBatchError) {
            network = try MiniBatchExports.network(model)
            data = try dataView(x, y, y_type, m, n_features)
            a = try trainingArguments(options, history, features: data.features, for: network)
        } catch {
            throw beforeTraining(options, error)
        }
        var weighted = data
        weighted.weights = a.sampleWeight
        try network.train(weighted, validation: a.validation, validationDataset: a.validationDataset, options: a.options,
                          history: a.history, progress: a.progress)
    }
}
