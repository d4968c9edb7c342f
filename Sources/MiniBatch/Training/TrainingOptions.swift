/// The batch size of training: a fixed size, or the automatic rule.
public enum BatchSize: Sendable, Equatable {
    /// m < 2000: m (batch gradient descent); otherwise the largest of 512, 256, 128, 64
    /// whose working memory fits the memory budget.
    case automatic
    /// 1...m: 1 is stochastic gradient descent, m is batch gradient descent.
    case fixed(Int)
}

/// How `Network.train` runs.
public struct TrainingOptions: Sendable {
    /// Passes over the data (>= 1).
    public var epochs: Int = 10
    public var batchSize: BatchSize = .automatic
    /// The plain gradient descent step (finite, > 0).
    public var learningRate: Float = 0.01
    /// Epoch e visits rows in `Permutation.make(count: m, seed: seed, epoch: e)`.
    public var seed: UInt64 = 0
    /// Shuffle every epoch (true) or keep the rows' order.
    public var shuffle: Bool = true
    public var lastBatch: LastBatch = .keep
    /// Bytes of working memory the automatic batch size may use; 0 means no limit.
    public var memoryBudget: Int = 0
    /// Threads that share each mini-batch: its rows are split into that many contiguous
    /// shards (at least 16 rows each), each shard's gradient is computed on its own thread
    /// and the shards' gradients are summed in order. 0 (the default) uses as many as
    /// OpenBLAS would (`OPENBLAS_NUM_THREADS`, else the CPUs). With more than one, the
    /// process's OpenBLAS runs single-threaded while training runs. The same seed gives
    /// bit-identical weights for the same thread count; other counts differ by rounding.
    public var threads: Int = 0

    public init(
        epochs: Int = 10, batchSize: BatchSize = .automatic, learningRate: Float = 0.01,
        seed: UInt64 = 0, shuffle: Bool = true, lastBatch: LastBatch = .keep, memoryBudget: Int = 0,
        threads: Int = 0
    ) {
        self.threads = threads
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.shuffle = shuffle
        self.lastBatch = lastBatch
        self.memoryBudget = memoryBudget
    }
}

/// What the progress callback is told after every epoch.
public struct Progress: Sendable {
    /// Epochs completed in this call, 1...epochs.
    public var epoch: Int
    /// Epochs asked for in this call.
    public var epochs: Int
    /// Epochs over the network's life, this one included.
    public var epochsTrained: Int
    public var batchSize: Int
    public var batches: Int
    /// The size-weighted mean cost of this epoch's batches.
    public var epochCost: Double
    public var lastBatchCost: Double
}

/// The progress callback's answer.
public enum ProgressAction: Sendable {
    case proceed
    case stop
}
