import ArgumentParser
import MiniBatch

/// X and y: two `.npy` files read in mini-batches without loading them (`FileDataset`), or
/// the built-in dataset in memory.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("x"), help: ArgumentHelp(
        "X: a .npy file of (m, n_features) float32, C order.", valueName: "x.npy"))
    var x: String?

    @Option(name: .customLong("y"), help: ArgumentHelp(
        "y: a .npy file of m integer class labels, or float32 or float64 targets (m) or (m, k) (an integer y is values for mse, poisson and a 2-D binary-cross-entropy target).", valueName: "y.npy"))
    var y: String?

    @Option(help: ArgumentHelp(
        "Train on a built-in dataset, in memory, instead of --x and --y: two interleaving moons (2 features, 2 classes).",
        valueName: "name"))
    var builtin: BuiltinName?

    @Option(name: .customLong("m"), parsing: .unconditional, help: ArgumentHelp(
        "Points of the built-in dataset (default: 4000).", valueName: "n"))
    var count: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Standard deviation of the built-in dataset's noise (default: 0.2); its points are drawn with --seed.",
        valueName: "x"))
    var noise: Float?

    @OptionGroup(title: "Reading the files")
    var reading: ReadOptions

    func validate() throws {
        if builtin != nil {
            guard x == nil, y == nil else { throw ValidationError("give --builtin or --x and --y, not both") }
            guard reading.shuffle != .block else {
                throw ValidationError("--shuffle block reads files in blocks: with --builtin use exact or none")
            }
            guard reading.memoryBudget.bytes == 0, reading.blockBytes.bytes == 1 << 20, reading.pageCache == .auto else {
                throw ValidationError("--memory-budget, --block-bytes and --page-cache say how files are read: not for --builtin")
            }
        } else {
            guard x != nil, y != nil else {
                throw ValidationError(x == nil && y == nil ? "give --x and --y (.npy files), or --builtin moons"
                                      : "give both --x and --y (missing \(x == nil ? "--x" : "--y"))")
            }
            guard count == nil else { throw ValidationError("--m is the size of a --builtin dataset") }
            guard noise == nil else { throw ValidationError("--noise is the noise of a --builtin dataset") }
        }
    }

    /// The data, opened or made (the built-in points drawn with `seed`).
    func open(seed: UInt64) throws -> TrainingData {
        if builtin != nil {
            let m = count ?? 4000
            let moons = try library { () throws(MiniBatchError) in
                try Moons.make(count: m, noise: noise ?? 0.2, seed: seed)
            }
            return .memory(x: moons.x, classes: moons.y, features: 2, name: "moons (m = \(m), noise \(noise ?? 0.2))")
        }
        let dataset = try library { () throws(MiniBatchError) in
            try FileDataset(x: x!, y: y!, options: reading.fileOptions)
        }
        return .files(dataset)
    }
}

/// How `.npy` files are read.
struct ReadOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How rows are shuffled each epoch: exact (a uniform permutation, the order of in-memory training), block (~1 MiB blocks in shuffled order, rows shuffled within a pool: sequential reads, for files much larger than memory), none (the stored order).",
        valueName: "mode"))
    var shuffle: ShuffleName = .exact

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Bytes the file reader may hold (suffix K, M or G); 0: a quarter of the memory this process may use, at most 256M.",
        valueName: "bytes"))
    var memoryBudget = ByteCount(0)

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The size of a block of contiguous rows the block shuffle reads at once (suffix K, M or G).", valueName: "bytes"))
    var blockBytes = ByteCount(1 << 20)

    @Option(help: ArgumentHelp(
        "Whether the block shuffle releases the pages it has read: auto (when the files are larger than half the usable memory), keep, release.",
        valueName: "policy"))
    var pageCache: PageCacheName = .auto

    var fileOptions: FileReadOptions {
        FileReadOptions(
            shuffle: shuffle == .block ? .block : .exact, blockBytes: blockBytes.bytes,
            memoryBudget: memoryBudget.bytes, pageCache: pageCache.pageCache)
    }
}

/// A validation set evaluated after every epoch.
struct ValidationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Validation X (.npy), with --validation-y.", valueName: "x.npy"))
    var validationX: String?

    @Option(help: ArgumentHelp("Validation y (.npy), with --validation-x.", valueName: "y.npy"))
    var validationY: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Hold out this fraction of the rows as the validation set, in [0, 1): seeded by --seed, stratified by class. In-memory data only (--builtin); for files give --validation-x and --validation-y.",
        valueName: "f"))
    var validationFraction: Double = 0

    func validate() throws {
        guard (validationX == nil) == (validationY == nil) else {
            throw ValidationError("give both --validation-x and --validation-y (missing \(validationX == nil ? "--validation-x" : "--validation-y"))")
        }
    }

    func open(_ reading: ReadOptions) throws -> FileDataset? {
        guard let validationX, let validationY else { return nil }
        var options = reading.fileOptions
        options.shuffle = .exact
        do {
            return try FileDataset(x: validationX, y: validationY, options: options)
        } catch {
            // (its messages name X and y as the training data's are named: here they are the
            // validation files)
            throw Failure(error, options: Failure.validationSetNames)
        }
    }
}

/// The training data of a run.
enum TrainingData {
    case memory(x: [Float], classes: [Int32], features: Int, name: String)
    case files(FileDataset)

    var count: Int {
        switch self {
        case .memory(_, let classes, _, _): classes.count
        case .files(let dataset): dataset.count
        }
    }

    var features: Int {
        switch self {
        case .memory(_, _, let features, _): features
        case .files(let dataset): dataset.features
        }
    }

    var description: String {
        switch self {
        case .memory(_, _, _, let name): name
        case .files(let dataset): "\(dataset.x.path) (\(dataset.count) x \(dataset.features) \(dataset.x.type.rawValue)), \(dataset.y.path) (\(dataset.y.shape) \(dataset.y.type.rawValue))"
        }
    }
}
