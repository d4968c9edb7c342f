import CMiniBatch
import MiniBatch

// MARK: - Training options, batch size, history, training

@c @implementation
public func mb_train_options_init(_ options: UnsafeMutablePointer<mb_train_options>?) {
    guard let options else { return }
    options.pointee = mb_train_options(
        epochs: 10, batch_size: Int64(MB_BATCH_AUTO), learning_rate: 0.01, seed: 0, shuffle: 1,
        last_batch: MB_LAST_BATCH_KEEP, memory_budget: 0, progress: nil, user_data: nil, threads: 0)
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

/// The options, history and progress callback of a training call, converted and checked.
func trainingArguments(
    _ options: UnsafePointer<mb_train_options>?, _ history: OpaquePointer?
) throws(MiniBatchError) -> (TrainingOptions, History?, ((Progress) -> ProgressAction)?) {
    var defaults = mb_train_options()
    mb_train_options_init(&defaults)
    let o = options?.pointee ?? defaults
    guard o.batch_size == Int64(MB_BATCH_AUTO) || o.batch_size >= 1 else {
        throw .init(.invalidArgument, "batch_size must be at least 1 or MB_BATCH_AUTO (-1), got \(o.batch_size)")
    }
    let trainingOptions = TrainingOptions(
        epochs: Int(o.epochs),
        batchSize: o.batch_size == Int64(MB_BATCH_AUTO) ? .automatic : .fixed(Int(o.batch_size)),
        learningRate: o.learning_rate, seed: o.seed, shuffle: o.shuffle != 0,
        lastBatch: try convert(o.last_batch), memoryBudget: try budget(o.memory_budget),
        threads: Int(o.threads))
    let recorder = history == nil ? nil : try MiniBatchExports.history(history)
    var callback: ((Progress) -> ProgressAction)? = nil
    if let progress = o.progress {
        let userData = o.user_data
        callback = { report in
            var info = mb_progress(
                epoch: Int64(report.epoch), epochs: Int64(report.epochs),
                epochs_trained: Int64(report.epochsTrained), batch_size: Int64(report.batchSize),
                batches: Int64(report.batches), epoch_cost: report.epochCost,
                last_batch_cost: report.lastBatchCost)
            return progress(&info, userData) == 0 ? .proceed : .stop
        }
    }
    return (trainingOptions, recorder, callback)
}

@c @implementation
public func mb_train(
    _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafeRawPointer?, _ y_type: mb_targets,
    _ m: Int64, _ n_features: Int64, _ options: UnsafePointer<mb_train_options>?, _ history: OpaquePointer?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let data = try dataView(x, y, y_type, m, n_features)
        let (trainingOptions, recorder, callback) = try trainingArguments(options, history)
        try network.train(data, options: trainingOptions, history: recorder, progress: callback)
    }
}
