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
    /// The base learning rate (finite, > 0): the step of the update rule, changed from
    /// epoch to epoch by `schedule`.
    public var learningRate: Float = 0.01
    /// The update rule (default: plain gradient descent, W -= learningRate * dW).
    public var optimizer: Optimizer = .gradientDescent
    /// How the learning rate changes from epoch to epoch (default: constant).
    public var schedule: Schedule = .constant
    /// A linear warm-up of the schedule's rate over the network's first epochs (default:
    /// none). Since 0.6.0.
    public var warmup = Warmup()
    /// Whether the schedule and the warm-up are evaluated at every mini-batch (true), at the
    /// fractional epoch e + b / B of batch b of the epoch's B (one-cycle and cyclic: their
    /// steps become the mini-batches), or once an epoch (false, the default):
    /// `Schedule.rate(base:epoch:batch:of:...)`. PyTorch's schedulers stepped every
    /// iteration. Since 0.9.0.
    public var schedulePerBatch = false
    /// scikit-learn's L2 penalty `alpha` (>= 0): a batch of n rows adds
    /// 0.5 * l2 * sum(W^2) / n to its cost and l2 * W / n to the weights' gradient (weights
    /// only, not biases). Default 0.
    public var l2: Float = 0
    /// Clip the gradient by its global norm (PyTorch's `clip_grad_norm_`): when the norm of
    /// the whole gradient (the L2 term included) exceeds clipNorm, it is scaled by
    /// clipNorm / (norm + 1e-6). 0 (the default): no clipping.
    public var clipNorm: Float = 0
    /// PyTorch's `weight_decay` of its rules other than AdamW (coupled: an L2 penalty in the
    /// gradient), >= 0: the rule sees g + coupledWeightDecay * w, on every parameter (biases
    /// too), added after clipping (PyTorch adds it inside `optimizer.step()`, after the
    /// caller's `clip_grad_norm_`; `clipNorm` and `clipValue` measure and clip the gradient
    /// without it). Unlike `l2` (scikit-learn's alpha, divided by the batch's rows, weights
    /// only) it adds nothing to the cost. It applies to every rule, AdamW's decoupled
    /// `weightDecay` beside it. 0 (the default): none. Since 0.10.0.
    public var coupledWeightDecay: Float = 0
    /// Clip every element of the gradient to [-clipValue, clipValue] (PyTorch's
    /// `clip_grad_value_`, Keras's `clipvalue`), after the L2 term and the norm clipping's
    /// scaling (`clipNorm` measures the unclipped gradient). 0 (the default): no clipping.
    /// Since 0.6.0.
    public var clipValue: Float = 0
    /// Inverted dropout of every hidden layer's output while training, in [0, 1) (PyTorch's
    /// `nn.Dropout(p)` after each hidden layer): each unit of each row of a mini-batch is
    /// zeroed with this probability and the others are scaled by 1 / (1 - dropout);
    /// predictions, evaluation and validation use the whole network. Which units are dropped
    /// follows from `seed`, the epoch, the batch, the layer, the row's position in its batch
    /// and the unit (`Dropout`), whatever the threads or ranks. Needs a hidden layer. 0 (the
    /// default): none.
    public var dropout: Double = 0
    /// Weights of the classes (nil, the default: none), for class-index targets with the
    /// cross-entropy (one per output) or binary cross-entropy with one output (two: labels 0
    /// and 1): row r weighs classWeight[y_r], times its sample weight when given (the product
    /// in float), and a batch's cost is sum(w * loss) / sum(w) (PyTorch's
    /// `CrossEntropyLoss(weight:)`, scikit-learn's `class_weight`). Arrays in memory only,
    /// as sample weights; the validation cost is not weighted.
    public var classWeight: [Float]? = nil
    /// Label smoothing e in [0, 1) for the cross-entropy losses (0, the default: none): the
    /// training targets become (1 - e) t + e / n_outputs for the cross-entropy (PyTorch's
    /// `CrossEntropyLoss(label_smoothing:)`) and (1 - e) t + e / 2 for binary cross-entropy
    /// (Keras's); the history's costs are the smoothed ones, the validation cost, evaluation
    /// and `gradient` the model's own.
    public var labelSmoothing: Double = 0
    /// When to stop before `epochs` (default: never).
    public var earlyStopping = EarlyStopping()
    /// A fraction of the rows held out as the validation set (0, the default: none), in
    /// [0, 1): a seeded, stratified split (`ValidationSplit`); not with a validation set given.
    public var validationFraction: Double = 0
    /// Tests set this to make plain gradient descent take the general update path
    /// (`UpdateRule`) instead of its fast path, to compare the two.
    var generalPath = false
    /// Epoch e visits rows in `Permutation.make(count: m, seed: seed, epoch: e)`.
    public var seed: UInt64 = 0
    /// Shuffle every epoch (true) or keep the rows' order.
    public var shuffle: Bool = true
    public var lastBatch: LastBatch = .keep
    /// Bytes of working memory the automatic batch size may use; 0 means no limit.
    public var memoryBudget: Int = 0
    /// Threads that share each mini-batch: its rows are split into that many contiguous
    /// shards (at least 4 rows each, 64 for a first layer of 2^18 weights or more, and at
    /// least 32,768 + 3 × parameters of work, rows × (parameters + inputs): the header's
    /// "The layout"), each shard's gradient is computed on its own thread
    /// and the shards' gradients are summed in order. 0 (the default) uses as many as
    /// OpenBLAS would (`OPENBLAS_NUM_THREADS`, else the CPUs). With more than one, the
    /// process's OpenBLAS runs single-threaded while training runs. The same seed gives
    /// bit-identical weights for the same thread count; other counts differ by rounding,
    /// unless `shards` fixes the layout.
    public var threads: Int = 0
    /// The layout of each mini-batch: at most this many shards (0 ... `maxShards`). The
    /// weights depend on shards, not threads: threads only say how many of them run at
    /// once. 0 (the default): the resolved threads times the ranks.
    public var shards: Int = 0
    /// Whether training's arithmetic flushes subnormal (denormal) floats to zero (true, the
    /// default), as results and as operands: the threads that run the mini-batches set
    /// x86-64's flush-to-zero and denormals-are-zero bits while they work on them, and put
    /// back their own setting after. TensorFlow's and XLA's threads run so; PyTorch offers
    /// it (`torch.set_flush_denormal(True)`). It changes only values below 2^-126
    /// (about 1.2e-38), which then read as 0: a rule's state that decays with a gradient of
    /// exactly 0 (a dead ReLU unit's momentum, Adam's moments) stops there instead of
    /// sitting at a few subnormal steps forever, and an input feature below 2^-126 reads as 0.
    /// Intel's cores take a microcode assist of about a hundred cycles on each subnormal
    /// operand or result: on a Xeon (Emerald Rapids, 2 threads), W1's epoch with momentum or
    /// Adam at batch 64 took 2.3 and 3.9 times as long with them kept as flushed (README,
    /// "Subnormal numbers"). false keeps IEEE arithmetic's subnormals, as PyTorch's default.
    /// While flushing, rows' weights with a positive one below 2^-126 are scaled into the
    /// normal range by a power of two (exact; the L2 term keeps the caller's total weight as
    /// its divisor: the same training), and weights spanning more than Float's normal range
    /// are refused.
    /// Elsewhere than x86-64 subnormals are kept either way. The setting is part of a
    /// distributed run's options (every rank must give the same). Since 0.12.0.
    public var flushesDenormals: Bool = true
    /// Train together with the other ranks of a communicator (nil: this process alone).
    public var distribution: Distribution? = nil
    /// Stops training from another thread or a signal handler after the current
    /// mini-batch, and counts the mini-batches done (nil: none). See `TrainingInterrupt`
    /// for what an interrupted epoch leaves and what a resume then does.
    public var interrupt: TrainingInterrupt? = nil
    /// For tests: whether the batches keep the first layer's W transposed (nil: the
    /// backend's rule, `TrainingStep.transposesFirstWeights`), as a rank whose libxsmm
    /// kernels differ would.
    var transposingFirstWeights: Bool? = nil

    /// The update rule training runs: `optimizer`, but with a schedule that cycles the
    /// momentum (`Schedule.oneCycle`'s or, since 0.11.0, `Schedule.cyclic`'s
    /// `cycleMomentum`), its momentum or beta1 at the cycle's maxMomentum (where PyTorch's
    /// `OneCycleLR` and `CyclicLR` put it when they are made; plain SGD and RMSprop become
    /// their momentum forms, whose state the network then keeps). Each step then sets the
    /// momentum of its own step (`Schedule.momentum`). Since 0.10.0.
    public var updateRule: Optimizer {
        guard let cycle = schedule.momentumCycle else { return optimizer }
        return optimizer.withMomentum(Float(cycle.max))
    }

    /// The most shards a layout may have.
    public static let maxShards = 1 << 16

    public init(
        epochs: Int = 10, batchSize: BatchSize = .automatic, learningRate: Float = 0.01,
        seed: UInt64 = 0, shuffle: Bool = true, lastBatch: LastBatch = .keep, memoryBudget: Int = 0,
        threads: Int = 0, optimizer: Optimizer = .gradientDescent, schedule: Schedule = .constant,
        l2: Float = 0, clipNorm: Float = 0, earlyStopping: EarlyStopping = EarlyStopping()
    ) {
        self.optimizer = optimizer
        self.schedule = schedule
        self.l2 = l2
        self.clipNorm = clipNorm
        self.earlyStopping = earlyStopping
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
    /// The learning rate of this epoch (after the schedule; its first batch's with
    /// `TrainingOptions.schedulePerBatch`).
    public var learningRate: Double = 0
    /// The validation cost and score after this epoch (NaN without a validation set).
    public var validationCost: Double = .nan
    public var validationScore: Double = .nan

    /// A report as training makes one (public so that a caller can test its own callback).
    public init(
        epoch: Int, epochs: Int, epochsTrained: Int, batchSize: Int, batches: Int, epochCost: Double,
        lastBatchCost: Double, learningRate: Double = 0, validationCost: Double = .nan, validationScore: Double = .nan
    ) {
        self.epoch = epoch
        self.epochs = epochs
        self.epochsTrained = epochsTrained
        self.batchSize = batchSize
        self.batches = batches
        self.epochCost = epochCost
        self.lastBatchCost = lastBatchCost
        self.learningRate = learningRate
        self.validationCost = validationCost
        self.validationScore = validationScore
    }
}

/// The progress callback's answer.
public enum ProgressAction: Sendable {
    case proceed
    case stop
}
