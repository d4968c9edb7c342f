#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a file dataset is shuffled each epoch; both are seeded and visit every row once.
public enum FileShuffle: Int, Sendable {
    /// A uniform permutation of all rows: the same order as in-memory training with the same
    /// seed, each row read where it is (fast when the file is in the page cache or on SSD).
    /// Keeps the permutation and the targets in memory: 8 + 4 x targets bytes per row.
    case exact = 0
    /// The order of contiguous blocks (about `blockBytes` each) is shuffled, and rows are
    /// shuffled within a pool of blocks, so the disk is read sequentially; the pool size
    /// bounds memory, which does not grow with the file.
    case block = 1
}

/// What the block shuffle does with the pages of X and y it has read.
public enum FilePageCache: Int, Sendable {
    /// `release` when X and y together are larger than half the memory this process may use (physical
    /// memory, or its control group's memory limit when lower), `keep` otherwise.
    case auto = 0
    /// Pages stay in the page cache, so the next epoch reads them from memory.
    case keep = 1
    /// Pages are released (`posix_fadvise(POSIX_FADV_DONTNEED)`) as soon as their block is in
    /// the pool: a file much larger than memory does not push everything else out of the
    /// page cache, and its pages are not charged to the process's control group.
    case release = 2

    /// Whether pages of a file of `fileBytes` bytes are released, with `usableMemory` bytes.
    func releases(fileBytes: Int, usableMemory: Int) -> Bool {
        switch self {
        case .auto: return fileBytes > usableMemory / 2
        case .keep: return false
        case .release: return true
        }
    }
}

/// How a file dataset is read.
public struct FileReadOptions: Sendable {
    public var shuffle: FileShuffle = .exact
    /// The size of a block of contiguous rows read at once (at least one row).
    public var blockBytes: Int = 1 << 20
    /// Bytes the reader may hold: batch buffers, read-ahead, the pool of blocks, and for the
    /// exact shuffle the permutation and the targets. 0 (the default): `automaticBudget`.
    public var memoryBudget: Int = 0
    /// Whether the block shuffle releases the pages it has read. (The exact shuffle always
    /// keeps them: each page holds rows the epoch reads at other, random times.)
    public var pageCache: FilePageCache = .auto
    /// Whether a shuffled training may hold X, or its first rows, in memory where they fit
    /// the budget (`FileDataset.heldRows`); false reads every batch's rows from the file
    /// (tests): the exact shuffle's from its mapping (or with `pread`: `mapsX`), the block
    /// shuffle's from its pools.
    var holdsX = true
    /// Whether the rows not held are copied from a mapping of the X file (`FileMapping`):
    /// always by the exact shuffle, and by the block shuffle where the file is in the page
    /// cache (`FileBatches.blockMapping`); false reads them with `pread` (tests).
    var mapsX = true
    /// Whether `memoryBudget` was chosen by the library (`automaticBudget`, from a budget of
    /// 0): X may then be held up to `automaticHoldingBudget` instead.
    var budgetIsAutomatic = false

    public init(
        shuffle: FileShuffle = .exact, blockBytes: Int = 1 << 20, memoryBudget: Int = 0,
        pageCache: FilePageCache = .auto
    ) {
        self.shuffle = shuffle
        self.blockBytes = blockBytes
        self.memoryBudget = memoryBudget
        self.pageCache = pageCache
    }

    /// The budget a reader takes when none is given: a quarter of the memory this process
    /// may use (physical memory, or its cgroup v1 or v2 limit: `SystemMemory`), at least
    /// 4 MiB and at most 256 MiB, so that the defaults fit a small machine or container.
    public static func automaticBudget() -> Int {
        min(256 << 20, max(4 << 20, SystemMemory.usable() / 4))
    }

    /// What a reader given no budget may hold when it holds X whole for training (X and the
    /// exact shuffle's buffers): a quarter of the memory this process may use, without
    /// `automaticBudget`'s 256 MiB cap, which bounds the buffers of a file read in batches.
    /// A file in the page cache is then trained on at in-memory speed up to that size.
    public static func automaticHoldingBudget() -> Int {
        max(automaticBudget(), SystemMemory.usable() / 4)
    }
}

/// A training set in two `.npy` files, read in mini-batches without loading it whole:
/// X (m, n_features) little-endian float32 in C order, and y with m rows: float32 targets
/// (m) or (m, k), or integer class labels (m) of any integer dtype; since 0.10.0 also
/// float64 targets (numpy's default dtype) and, for the regression losses, integer values
/// (m) or (m, k) (counts for Poisson), converted to float32 as they are read
/// (`readsLabels(for:)`).
public final class FileDataset: @unchecked Sendable {
    public let x: NpyFile
    public let y: NpyFile
    public let options: FileReadOptions

    /// What the dataset keeps between trainings, at most one buffer within the budget:
    /// - the block shuffle's pools of X from the last training that used them: a pool of a
    ///   large budget costs its first touch on every call otherwise (on the Zen 5, W1 from a 179 MiB
    ///   file in the page cache, 256 MiB budget, one epoch per call: 0.13 s with the pools
    ///   reused, 0.19 s with new ones, 0.13-0.34 s with new ones on transparent huge pages,
    ///   which stall while the kernel compacts memory);
    /// - or X held (`heldRows`: whole, or its first rows), with the file's identity, size and
    ///   modification time when it was read: it is used again only while they are unchanged.
    /// Another kind of read of the dataset frees it first, and so does deinit.
    private let keptLock = Monitor()
    private var kept: Kept?
    private enum Kept {
        case pools(UnsafeMutableRawPointer, bytes: Int)
        case x(UnsafeMutablePointer<Float>, FileStamp, rows: Int)

        var pointer: UnsafeMutableRawPointer {
            switch self {
            case .pools(let pointer, _): return pointer
            case .x(let pointer, _, _): return UnsafeMutableRawPointer(pointer)
            }
        }
    }

    public var count: Int { x.rows }
    public var features: Int { x.columns }
    /// Whether y holds integers (an integer dtype), class labels for the cross-entropy
    /// losses (`readsLabels(for:)`), rather than floats.
    public var hasClassLabels: Bool { y.type.isInteger }

    /// Whether training `network` reads y as class labels: integers, 1-D, with the
    /// cross-entropy or the binary cross-entropy loss. Otherwise y's values are targets,
    /// integers and float64 converted to float32 (the regression losses' counts and values,
    /// or a 0/1 matrix for binary cross-entropy with several outputs). Since 0.10.0.
    public func readsLabels(for network: Network) -> Bool {
        hasClassLabels && y.shape.count == 1 && (network.loss == .crossEntropy || network.loss == .binaryCrossEntropy)
    }

    public init(x xPath: String, y yPath: String, options given: FileReadOptions = FileReadOptions()) throws(MiniBatchError) {
        guard !xPath.isEmpty else { throw .invalid("x_path is empty") }
        guard !yPath.isEmpty else { throw .invalid("y_path is empty") }
        guard given.blockBytes >= 1 else { throw .invalid("block_bytes must be positive, got \(given.blockBytes)") }
        guard given.memoryBudget >= 0 else { throw .invalid("memory_budget must be 0 (automatic) or positive, got \(given.memoryBudget)") }
        var options = given
        if options.memoryBudget == 0 {
            options.memoryBudget = FileReadOptions.automaticBudget()
            options.budgetIsAutomatic = true
        }
        x = try NpyFile(path: xPath, role: "X")
        y = try NpyFile(path: yPath, role: "y")
        self.options = options
        guard x.type == .float32 else {
            throw .invalid("X file '\(xPath)' has dtype '\(x.type.rawValue)', which is not supported for X: features must be '<f4' (float32) (np.save(path, X.astype(np.float32)))")
        }
        guard x.shape.count == 2 else { throw .invalid("X file '\(xPath)' has shape \(x.shape); X must be 2-D (m, n_features)") }
        try Validate.size(x.columns, "n_features")
        if y.shape.count == 2 { try Validate.size(y.columns, "y's columns (n_outputs)") }
        guard y.rows == x.rows else {
            throw .invalid("X has \(x.rows) rows but y has \(y.rows): X and y must have the same number of rows")
        }
        _ = try readerLayout(batchSize: 1)  // the budget holds at least the smallest batch
    }

    /// The fewest blocks the block shuffle cuts a file into, where it has that many rows.
    static let minimumBlocks = 1024

    deinit { releaseKept() }

    /// The kept pools if they are `bytes` long (the caller then owns them), else nil.
    func takeCachedPools(bytes: Int) -> UnsafeMutableRawPointer? {
        keptLock.locked {
            guard case .pools(let pointer, bytes)? = kept else { return nil }
            kept = nil
            return pointer
        }
    }

    /// Keeps `pointer` (`bytes` of pools from `allocate`) for the next training, freeing
    /// what was kept before.
    func keepPools(_ pointer: UnsafeMutableRawPointer, bytes: Int) { replaceKept(with: .pools(pointer, bytes: bytes)) }

    /// Frees what is kept (pools or X), so that another use of the dataset has its budget
    /// to itself.
    func releaseKept() { replaceKept(with: nil) }

    /// The bytes of pools kept (0: none).
    var keptPoolBytes: Int {
        keptLock.locked {
            guard case .pools(_, let bytes)? = kept else { return 0 }
            return bytes
        }
    }

    /// How many of X's rows are kept in memory (0: none).
    var keptXRows: Int {
        keptLock.locked {
            guard case .x(_, _, let rows)? = kept else { return 0 }
            return rows
        }
    }

    /// Puts `buffer` (or nothing) in the cache and frees what it held.
    private func replaceKept(with buffer: Kept?) {
        let older = keptLock.locked { () -> UnsafeMutableRawPointer? in
            defer { kept = buffer }
            return kept?.pointer
        }
        free(older)
    }

    // MARK: X held in memory

    /// How many of X's rows a shuffled training with `batchSize` holds in memory (0: none):
    /// - all of them where X whole, beside the exact shuffle's buffers (and for the block
    ///   shuffle its order computed as file rows), fits the budget (the one given, else
    ///   `automaticHoldingBudget`), and X is at most half the memory this process may use (a
    ///   budget without limit does not load a file larger than memory);
    /// - else, with the exact shuffle, its first rows (`heldRowsInPart`). Those rows are
    ///   gathered from memory, the others read from the file.
    func heldRows(batchSize: Int, layout: (rowsPerBlock: Int, blockCount: Int, poolBlocks: Int)) -> Int {
        guard options.holdsX else { return 0 }
        let xBytes = count * x.rowBytes  // (no overflow: the file holds them)
        let budget = options.budgetIsAutomatic ? FileReadOptions.automaticHoldingBudget() : options.memoryBudget
        if FileDataset.holdsX(xBytes: xBytes, readerBytes: rowReaderBytes(batchSize: batchSize, layout: layout),
                              budget: budget, usableMemory: SystemMemory.usable()) { return count }
        guard options.shuffle == .exact else { return 0 }
        return heldRowsInPart(batchSize: batchSize, layout: layout)
    }

    /// X's first rows held where the budget does not hold X whole: as many as the budget
    /// (the one given, else `automaticBudget`'s) holds beside the reader's buffers
    /// (`rowReaderBytes`), within half the memory this process may use. By the exact
    /// shuffle, and by the block shuffle where it copies its rows from the file's mapping
    /// (`FileBatches.blockMapping`, no pools).
    func heldRowsInPart(batchSize: Int, layout: (rowsPerBlock: Int, blockCount: Int, poolBlocks: Int)) -> Int {
        guard options.holdsX else { return 0 }
        return FileDataset.heldRows(
            count: count, rowBytes: x.rowBytes, readerBytes: rowReaderBytes(batchSize: batchSize, layout: layout),
            budget: options.memoryBudget, usableMemory: SystemMemory.usable())
    }

    /// What a reader that visits X's rows in an order of file rows holds beside X: the exact
    /// shuffle's buffers (`exactReaderBytes`), and for the block shuffle its order computed
    /// as file rows (`blockOrderAsRowsBytes`).
    func rowReaderBytes(batchSize: Int, layout: (rowsPerBlock: Int, blockCount: Int, poolBlocks: Int)) -> Int {
        exactReaderBytes(batchSize: batchSize).addingSaturated(options.shuffle == .block ? FileDataset.blockOrderAsRowsBytes(layout) : 0)
    }

    /// What the block shuffle's order computed as file rows takes beside the exact shuffle's
    /// buffers (`FileBatches.blockOrderAsRows`): the block order, and a pool's rows and their
    /// order.
    static func blockOrderAsRowsBytes(_ layout: (rowsPerBlock: Int, blockCount: Int, poolBlocks: Int)) -> Int {
        (layout.blockCount * 8).addingSaturated((16 * layout.poolBlocks).multipliedSaturated(layout.rowsPerBlock))
    }

    /// The rule of `holdsX` in numbers: X (`xBytes`) beside the reader's buffers fits
    /// `budget`, and X is at most half of `usableMemory`.
    static func holdsX(xBytes: Int, readerBytes: Int, budget: Int, usableMemory: Int) -> Bool {
        let (total, overflow) = readerBytes.addingReportingOverflow(xBytes)
        return !overflow && total <= budget && xBytes <= usableMemory / 2
    }

    /// The rule of `heldRows` for X held in part, in numbers: the rows of `rowBytes` bytes,
    /// at most `count`, that `budget` holds beside the reader's buffers, within half of
    /// `usableMemory`.
    static func heldRows(count: Int, rowBytes: Int, readerBytes: Int, budget: Int, usableMemory: Int) -> Int {
        guard budget > readerBytes else { return 0 }
        return min(count, (budget - readerBytes) / rowBytes, usableMemory / 2 / rowBytes)
    }

    /// X's first `rows` rows (`heldRows`), read into memory for a training that holds them:
    /// the kept copy where it has those rows and the file is unchanged since it was read,
    /// else a new one (what was kept is freed first). The caller owns it until `keepX`.
    /// Throws `.outOfMemory` or a read error.
    func takeX(rows: Int) throws(MiniBatchError) -> (pointer: UnsafeMutablePointer<Float>, stamp: FileStamp?) {
        let stamp = x.stamp()
        let reused = keptLock.locked { () -> UnsafeMutablePointer<Float>? in
            guard case .x(let pointer, let keptStamp, rows)? = kept, stamp != nil, keptStamp == stamp else { return nil }
            kept = nil
            return pointer
        }
        if let reused { return (reused, stamp) }
        releaseKept()  // the budget is this reader's
        let buffer = try allocate(Float.self, count: rows * features, for: "X held in memory", hugePages: true)
        do throws(MiniBatchError) {
            // The kernel is asked for all of them at once, so that a file not in the page cache
            // is read with the disk's whole queue rather than one readahead window at a time.
            x.prefetch(0, count: rows)
            let chunk = max(1, (16 << 20) / x.rowBytes)
            for first in stride(from: 0, to: rows, by: chunk) {
                try x.readRows(first, count: min(chunk, rows - first), into: buffer + first * features)
            }
        } catch {
            free(buffer)
            throw error
        }
        return (buffer, stamp)
    }

    /// Keeps X's first `rows` rows (from `takeX`) for the next training, freeing what was
    /// kept before; without a stamp (fstat failed) they are freed.
    func keepX(_ pointer: UnsafeMutablePointer<Float>, stamp: FileStamp?, rows: Int) {
        guard let stamp else { return free(pointer) }
        replaceKept(with: .x(pointer, stamp, rows: rows))
    }

    /// Floats per row of targets in a batch (a class label takes one int32; labels are 1-D).
    var targetWidth: Int { y.columns }

    /// How the reader lays out its memory for `batchSize`: blocks of contiguous rows, how many
    /// of them the pool holds, and the bytes needed; throws if the budget cannot hold it.
    /// Three batches of read-ahead (inputs, targets, file rows), then the exact shuffle's
    /// permutation and targets, or the block order and two pools of blocks.
    /// - Parameter evaluating: the reader reads in order for an evaluation (which the message
    ///   of a budget too small then says), not for training.
    func readerLayout(batchSize: Int, evaluating: Bool = false) throws(MiniBatchError) -> (rowsPerBlock: Int, blockCount: Int, poolBlocks: Int) {
        let m = count, budget = options.memoryBudget
        // At least `minimumBlocks` blocks where the rows allow: a pool mixes as many blocks as
        // it holds, so a small file is cut finer than block_bytes.
        let rowsPerBlock = min(m, max(1, options.blockBytes / x.rowBytes), max(1, (m + FileDataset.minimumBlocks - 1) / FileDataset.minimumBlocks))
        let blockCount = (m + rowsPerBlock - 1) / rowsPerBlock
        var needed = 0, pool = 0
        switch options.shuffle {
        case .exact:
            needed = exactReaderBytes(batchSize: batchSize)
        case .block:
            // Per row of a batch: inputs, targets, the file row and where the row is in the pool.
            // (Sizes saturate: a valid shape near the limits needs more than any budget.)
            let slotBytes = (FileBatches.depth * batchSize).multipliedSaturated(rowSlotBytes(extra: 16))
            // Two pools (one consumed, the next read ahead), as large as the budget holds, each
            // of at most half the blocks (two then hold the whole file). An epoch's first
            // group is smaller (`FileBatches.firstGroupBlocks`): its read cannot be hidden.
            let perBlock = (2 * rowsPerBlock).multipliedSaturated(x.rowBytes.addingSaturated(y.rowBytes).addingSaturated(16))
            needed = slotBytes.addingSaturated(blockCount * 8).addingSaturated(perBlock)
            let fits = budget >= needed ? (budget - slotBytes - blockCount * 8) / perBlock : 1
            pool = max(1, min((blockCount + 1) / 2, fits))
        }
        guard needed <= budget else {
            if evaluating {
                throw .invalid("memory_budget \(budget) bytes is too small to evaluate this dataset (read in order, \(batchSize) rows at a time): its reader (file_shuffle \(options.shuffle == .exact ? "exact" : "block")) needs \(needed == Int.max ? "more bytes than 64 bits count" : "at least \(needed) bytes")")
            }
            throw .invalid("memory_budget \(budget) bytes is too small for this dataset\(batchSize > 1 ? " and batch size \(batchSize)" : ""): the reader of file_shuffle \(options.shuffle == .exact ? "exact" : "block") needs \(needed == Int.max ? "more bytes than 64 bits count" : "at least \(needed) bytes") (a dataset is opened for training, whatever else it is used for)")
        }
        return (rowsPerBlock, blockCount, pool)
    }

    /// Bytes the exact shuffle's reader holds for `batchSize`: three batches of read-ahead
    /// (inputs, targets, file rows), and the permutation and targets of every row.
    func exactReaderBytes(batchSize: Int) -> Int {
        (FileBatches.depth * batchSize).multipliedSaturated(rowSlotBytes(extra: 8))
            .addingSaturated(count.multipliedSaturated(8 + 4 * targetWidth))
    }

    /// A batch row's bytes in the reader's slots: its inputs and targets as floats, and
    /// `extra`. (Features and target columns are at most 2^31 - 1 each: no overflow.)
    private func rowSlotBytes(extra: Int) -> Int { 4 * (features + targetWidth) + extra }

    /// Checks that `network` can train on this data: inputs, and targets of a matching kind.
    func check(for network: Network) throws(MiniBatchError) {
        guard features == network.inputCount else {
            throw .invalid("the dataset has \(features) features but the model has \(network.inputCount) inputs")
        }
        if hasClassLabels, network.loss == .crossEntropy, y.shape.count != 1 {
            throw .invalid("y file '\(y.path)' has shape \(y.shape); integer class labels must be 1-D (m)")
        }
        if readsLabels(for: network) {
            guard network.loss == .crossEntropy || network.outputCount == 1 else {
                throw .invalid("y holds integer class labels (m), which need MB_LOSS_CROSS_ENTROPY or MB_LOSS_BINARY_CROSS_ENTROPY with one output (with several outputs, give y as an (m, n_outputs) 0/1 matrix)")
            }
        } else {
            guard y.columns == network.outputCount else {
                throw .invalid("y has \(y.columns) columns but the model has \(network.outputCount) outputs")
            }
        }
    }
}

// MARK: - Training and evaluating from files

extension Network {
    /// Trains on a file dataset exactly as on in-memory arrays: same options, same cost
    /// history. Rows are read ahead while the current batch computes (see the header: with
    /// several training threads, each puts its own rows of a batch in place).
    /// Values are checked as they are read: NaN or Inf, or a label out of range, stops
    /// training with `.invalidArgument` before that batch is used; a read error or a file
    /// that changed size stops it with `.io`. Either way the model keeps the weights of the
    /// last batch trained.
    /// `validation`, in memory, is evaluated after every epoch as in `train(_:validation:...)`.
    public func train(
        _ dataset: FileDataset, validation: DataView? = nil, validationDataset: FileDataset? = nil,
        options: TrainingOptions, history: History? = nil, progress: ((Progress) -> ProgressAction)? = nil
    ) throws(MiniBatchError) {
        try training(history) { () throws(MiniBatchError) in
            try trainUnguarded(dataset, validation: validation, validationDataset: validationDataset, options: options,
                               history: history, progress: progress)
        }
    }

    private func trainUnguarded(
        _ dataset: FileDataset, validation: DataView?, validationDataset: FileDataset?, options: TrainingOptions,
        history: History?, progress: ((Progress) -> ProgressAction)?
    ) throws(MiniBatchError) {
        // Distributed: a failure of this rank's setup is told to every rank (`gated`).
        let collective = try Collective.make(options)
        let (validation, partition) = try gated(collective) { () throws(MiniBatchError) -> (Validation?, Partition) in
            try Validate.training(options, count: dataset.count)
            try Validate.training(options, for: self)
            guard options.classWeight == nil else { throw .invalid(FileDataset.classWeightRefusal) }
            guard options.validationFraction == 0 else {
                throw .invalid("validation_fraction splits data in memory: for a file dataset, give a validation set")
            }
            try dataset.check(for: self)
            let validation = try validationSet(validation, validationDataset, for: options)
            let batchSize = try resolve(options.batchSize, count: dataset.count, options: options, validationRows: validation?.count ?? 0)
            return (validation, Partition(count: dataset.count, batchSize: batchSize, lastBatch: options.lastBatch))
        }
        let step = try gated(collective) { () throws(MiniBatchError) in
            try TrainingStep(for: self, partition: partition, options: options, collective: collective)
        }
        defer { step.finish() }
        let source = try gated(collective) { () throws(MiniBatchError) in
            try FileBatches(
                dataset, partition: partition, network: self, seed: options.seed, shuffle: options.shuffle,
                readers: step.team.size, distributed: collective != nil)
        }
        if collective != nil { source.ownRows = { [unowned step] rows in step.ownRows(ofBatch: rows) } }
        // Only the ranks of a distributed call compare fingerprints (as for data in memory).
        let fingerprint = collective.map { _ in
            let layout = try? dataset.readerLayout(batchSize: partition.batchSize)
            return Fingerprint(
                network: self, options: options, count: dataset.count, features: dataset.features,
                batchSize: partition.batchSize, validationRows: validation?.count ?? 0, weighted: false,
                shards: step.layout, transposed: step.transposesFirstWeights,
                fileLayout: "\(dataset.options.shuffle) \(layout?.rowsPerBlock ?? 0) \(layout?.poolBlocks ?? 0)")
        }
        try train(source, partition: partition, step: step, options: options, history: history, progress: progress,
                  validation: validation, fingerprint: fingerprint)
    }

    /// The mean cost and the accuracy (NaN for the regression losses) over every row of a
    /// file dataset, read in order. An output that is NaN or Inf throws `.diverged`, as
    /// `predict(_:)` of a dataset.
    public func evaluate(_ dataset: FileDataset) throws(MiniBatchError) -> (cost: Double, accuracy: Double) {
        try evaluate(dataset, residuals: nil)
    }

    /// `evaluate(_:)`, adding each output's residual sum of squares to `residuals`
    /// (outputCount) for the regression losses (the command line's `eval`: R^2).
    package func evaluate(
        _ dataset: FileDataset, residuals: UnsafeMutablePointer<Double>?
    ) throws(MiniBatchError) -> (cost: Double, accuracy: Double) {
        try access.read { () throws(MiniBatchError) in
            try dataset.check(for: self)
            let partition = Partition(count: dataset.count, batchSize: min(dataset.count, Network.chunkRows), lastBatch: .keep)
            let rows = try FileBatches(dataset, partition: partition, network: self, seed: 0, shuffle: false, evaluating: true)
            return try evaluate(rows, partition: partition, checksOutputs: true, file: dataset.x.path, residuals: residuals)
        }
    }
}
