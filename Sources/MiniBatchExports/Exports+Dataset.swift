import CMiniBatch
import MiniBatch

// MARK: - Datasets in files

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
        let network = try network(model)
        let data = try dataset(pointer)
        let a = try trainingArguments(options, history, features: data.features)
        guard a.sampleWeight == nil else {
            throw .init(.invalidArgument, "sample_weight applies to mb_train (rows in memory), not to a file dataset")
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
