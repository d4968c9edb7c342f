import CMiniBatch
import MiniBatch

// MARK: - Datasets in files; predicting and shuffling .npy files

func handle(_ dataset: FileDataset) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(dataset).toOpaque())
}

func dataset(_ pointer: OpaquePointer?) throws(MiniBatchError) -> FileDataset {
    Unmanaged<FileDataset>.fromOpaque(UnsafeRawPointer(try required(pointer, "dataset"))).takeUnretainedValue()
}

@c @implementation
public func mb_dataset_options_init(_ options: UnsafeMutablePointer<mb_dataset_options>?) {
    guard let options else { return }
    options.pointee = mb_dataset_options(
        shuffle: MB_FILE_SHUFFLE_EXACT, block_bytes: 1 << 20, memory_budget: 0, page_cache: MB_PAGE_CACHE_AUTO)
}

@c @implementation
public func mb_dataset_open_npy(
    _ x_path: UnsafePointer<CChar>?, _ y_path: UnsafePointer<CChar>?,
    _ options: UnsafePointer<mb_dataset_options>?, _ dataset: UnsafeMutablePointer<OpaquePointer?>?
) -> mb_status {
    dataset?.pointee = nil
    return run { () throws(MiniBatchError) in
        let out = try required(dataset, "dataset")
        let xPath = try string(x_path, "x_path"), yPath = try string(y_path, "y_path")
        var defaults = mb_dataset_options()
        mb_dataset_options_init(&defaults)
        let o = options?.pointee ?? defaults
        // size_t values arrive as Int: one of 2^63 or more is negative here.
        guard o.block_bytes != 0 else { throw .init(.invalidArgument, "block_bytes must be positive, got 0") }
        guard o.block_bytes > 0, o.block_bytes <= 1 << 40 else {
            throw .init(.invalidArgument, "block_bytes is too large: \(UInt(bitPattern: o.block_bytes)) (at most 2^40)")
        }
        // From 2^62 up (SIZE_MAX included): no limit.
        let memoryBudget = o.memory_budget < 0 || o.memory_budget >= 1 << 62 ? 1 << 62 : o.memory_budget
        let readOptions = FileReadOptions(
            shuffle: try convert(o.shuffle.rawValue, "shuffle", to: FileShuffle.self),
            blockBytes: o.block_bytes, memoryBudget: memoryBudget,
            pageCache: try convert(o.page_cache.rawValue, "page_cache", to: FilePageCache.self))
        out.pointee = handle(try FileDataset(x: xPath, y: yPath, options: readOptions))
    }
}

@c @implementation
public func mb_dataset_free(_ dataset: OpaquePointer?) {
    release(dataset, as: FileDataset.self)
}

@c @implementation
public func mb_dataset_get_info(_ pointer: OpaquePointer?, _ info: UnsafeMutablePointer<mb_dataset_info>?) -> mb_status {
    run { () throws(MiniBatchError) in
        let data = try dataset(pointer)
        try required(info, "info").pointee = mb_dataset_info(
            m: Int64(data.count), n_features: Int64(data.features), y_columns: Int64(data.y.columns),
            y_type: data.hasClassLabels ? MB_TARGETS_CLASS_INDEX : MB_TARGETS_FLOAT32,
            x_version: Int32(data.x.version), y_version: Int32(data.y.version))
    }
}

@c @implementation
public func mb_train_dataset(
    _ model: OpaquePointer?, _ pointer: OpaquePointer?, _ options: UnsafePointer<mb_train_options>?,
    _ history: OpaquePointer?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network: Network, data: FileDataset, a: TrainingArguments
        do throws(MiniBatchError) {
            network = try MiniBatchExports.network(model)
            data = try dataset(pointer)
            a = try trainingArguments(options, history, features: data.features, for: network, fileDataset: true)
            guard a.sampleWeight == nil else {
                throw MiniBatchError(.invalidArgument, "sample_weight applies to mb_train (rows in memory), not to a file dataset")
            }
        } catch {
            throw beforeTraining(options, error)
        }
        try network.train(data, validation: a.validation, validationDataset: a.validationDataset, options: a.options,
                          history: a.history, progress: a.progress)
    }
}

@c @implementation
public func mb_evaluate_dataset(
    _ model: OpaquePointer?, _ pointer: OpaquePointer?, _ cost: UnsafeMutablePointer<Double>?,
    _ accuracy: UnsafeMutablePointer<Double>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let result = try network.evaluate(try dataset(pointer))
        cost?.pointee = result.cost
        accuracy?.pointee = result.accuracy
    }
}

@c @implementation
public func mb_predict_dataset(
    _ model: OpaquePointer?, _ pointer: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int64
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let data = try dataset(pointer)
        let out = try required(out, "out")
        guard capacity >= 0 else { throw .init(.invalidArgument, "capacity must not be negative, got \(capacity)") }
        try network.predict(data, into: UnsafeMutableBufferPointer(start: out, count: Int(capacity)))
    }
}

@c @implementation
public func mb_predict_classes_dataset(
    _ model: OpaquePointer?, _ pointer: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?, _ capacity: Int64
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let data = try dataset(pointer)
        let out = try required(out, "out")
        guard capacity >= 0 else { throw .init(.invalidArgument, "capacity must not be negative, got \(capacity)") }
        try network.predictClasses(data, into: UnsafeMutableBufferPointer(start: out, count: Int(capacity)))
    }
}

/// A C memory budget: 0 (the default), or bytes; from 2^62 up (SIZE_MAX included, which
/// arrives as a negative Int), no limit.
func memoryBudget(_ value: Int) -> Int {
    value < 0 || value >= 1 << 62 ? 1 << 62 : value
}

@c @implementation
public func mb_predict_npy(
    _ model: OpaquePointer?, _ x_path: UnsafePointer<CChar>?, _ out_path: UnsafePointer<CChar>?, _ classes: Int32,
    _ memory_budget: Int
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        try network.predict(npy: try string(x_path, "x_path"), to: try string(out_path, "out_path"), classes: classes != 0,
                            memoryBudget: memoryBudget(memory_budget))
    }
}

@c @implementation
public func mb_shuffle_npy(
    _ x_in: UnsafePointer<CChar>?, _ y_in: UnsafePointer<CChar>?, _ x_out: UnsafePointer<CChar>?,
    _ y_out: UnsafePointer<CChar>?, _ seed: UInt64, _ memory_budget: Int, _ temp_dir: UnsafePointer<CChar>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let xIn = try string(x_in, "x_in"), xOut = try string(x_out, "x_out")
        guard (y_in == nil) == (y_out == nil) else {
            throw .init(.invalidArgument, y_in == nil ? "y_in is NULL but y_out is not" : "y_out is NULL but y_in is not")
        }
        try NpyShuffle.shuffle(
            x: xIn, y: try optionalString(y_in, "y_in"), outX: xOut, outY: try optionalString(y_out, "y_out"), seed: seed,
            memoryBudget: memoryBudget(memory_budget), temporaryDirectory: try optionalString(temp_dir, "temp_dir"))
    }
}
