/// A stack of fully connected layers trained by mini-batch gradient descent.
///
/// Parameters live in one flat buffer (after llm.c's `malloc_and_point_parameters`): for
/// each layer in order, W (nOut, nIn) row-major then b (nOut). `layers[l].weightOffset` and
/// `.biasOffset` index it, the gradients use the same layout, and the update rule is one
/// loop over the buffer.
///
/// A network is not safe to train from two threads at once; separate networks are
/// independent.
public final class Network: @unchecked Sendable {
    /// The layers, input to output.
    public let layers: [Dense]
    /// The output layer's activation and cost.
    public let loss: Loss
    /// The length of the flat parameter buffer.
    public let parameterCount: Int
    /// Epochs completed over the network's life; epoch e of training uses permutation
    /// (seed, e), so training continues the same sequence of orders.
    public internal(set) var epochsTrained: Int = 0

    /// (parameterCount): W then b for each layer. Training moves it between this network's
    /// own buffer and a second one (each update writes the other), and leaves it in `storage`.
    @usableFromInline var parameters: UnsafeMutablePointer<Float>
    /// The network's own parameter buffer.
    let storage: UnsafeMutablePointer<Float>
    /// Held by a training call, and by calls that read the parameters (`Access`).
    let access = Access("the model")
    /// The update rule's, the schedule's and early stopping's state between training calls.
    let trainingState: TrainingState

    /// A new network with initial weights drawn from `seed`.
    /// - Parameters:
    ///   - layerSizes: inputs, the hidden layers' widths, outputs (at least 2 sizes).
    ///   - hiddenActivations: one per hidden layer (`layerSizes.count - 2`).
    ///   - loss: the output layer and its cost.
    ///   - initialization: how the weights are drawn.
    ///   - seed: the seed of the weights.
    public init(
        layerSizes: [Int], hiddenActivations: [Activation], loss: Loss,
        initialization: Initialization = .automatic, seed: UInt64 = 0
    ) throws(MiniBatchError) {
        try Validate.architecture(layerSizes: layerSizes, hiddenActivations: hiddenActivations, loss: loss)
        // Up to 2^20 layers: 48 MiB of them, checked first (Swift's allocator ends the
        // process where it fails).
        try Validate.fitsMemory(layerSizes.count - 1, elementBytes: MemoryLayout<Dense>.stride, "the model's \(layerSizes.count - 1) layers")
        var layers: [Dense] = []
        layers.reserveCapacity(layerSizes.count - 1)
        var offset = 0
        for l in 1..<layerSizes.count {
            let nIn = layerSizes[l - 1], nOut = layerSizes[l]
            let activation = l < layerSizes.count - 1 ? hiddenActivations[l - 1] : .linear
            layers.append(Dense(nIn: nIn, nOut: nOut, activation: activation,
                                weightOffset: offset, biasOffset: offset + nOut * nIn))
            offset += nOut * nIn + nOut
        }
        self.layers = layers
        self.loss = loss
        self.parameterCount = offset
        self.storage = try allocate(Float.self, count: offset, for: "the parameters")
        self.parameters = storage
        self.trainingState = TrainingState(parameterCount: offset)
        initialization.initialize(parameters, layers: layers, seed: seed)
    }

    /// A network whose hidden layers all use `hiddenActivation`.
    public convenience init(
        layerSizes: [Int], hiddenActivation: Activation = .relu, loss: Loss = .crossEntropy,
        initialization: Initialization = .automatic, seed: UInt64 = 0
    ) throws(MiniBatchError) {
        try self.init(
            layerSizes: layerSizes,
            hiddenActivations: Array(repeating: hiddenActivation, count: max(layerSizes.count - 2, 0)),
            loss: loss, initialization: initialization, seed: seed)
    }

    deinit { deallocate(storage) }

    public var inputCount: Int { layers[0].nIn }
    public var outputCount: Int { layers[layers.count - 1].nOut }
    public var layerSizes: [Int] { [layers[0].nIn] + layers.map(\.nOut) }
    public var hiddenActivations: [Activation] { layers.dropLast().map(\.activation) }
    /// The widest layer after the input.
    var maxWidth: Int { layers.map(\.nOut).max()! }
    /// The units of the hidden layers whose z a backward pass keeps (GELU, SiLU).
    var preactivationUnits: Int {
        layers.dropLast().reduce(0) { $0 + ($1.activation.needsPreactivation ? $1.nOut : 0) }
    }

    // MARK: - Parameters

    /// A copy of the flat parameters, read without the checks of `copyParameters(to:)`:
    /// while a training call may run on another thread, use that (it is `.busy` then;
    /// this property reads training's own layout, or an update half applied).
    public var parameterArray: [Float] {
        Array(UnsafeBufferPointer(start: parameters, count: parameterCount))
    }

    /// Copies the flat parameters into `out` (exactly `parameterCount` elements).
    public func copyParameters(to out: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) {
        guard out.count == parameterCount else {
            throw .invalid("count is \(out.count) but the model has \(parameterCount) parameters")
        }
        try access.read { () throws(MiniBatchError) in out.baseAddress!.update(from: parameters, count: parameterCount) }
    }

    /// Replaces the flat parameters (exactly `parameterCount` finite values).
    public func setParameters(_ values: UnsafeBufferPointer<Float>) throws(MiniBatchError) {
        guard values.count == parameterCount else {
            throw .invalid("count is \(values.count) but the model has \(parameterCount) parameters")
        }
        if let bad = Validate.firstNonFinite(values.baseAddress!, count: parameterCount) {
            throw .invalid("params[\(bad)] is not finite (\(values[bad]))")
        }
        try access.modify { () throws(MiniBatchError) in parameters.update(from: values.baseAddress!, count: parameterCount) }
    }

    /// Forgets the training state (the update rule's moments and step count, the schedule's
    /// and early stopping's state), so that the next training call starts as on a new
    /// network; the weights and `epochsTrained` stay. Throws `.busy` while a training call
    /// runs.
    public func resetTrainingState() throws(MiniBatchError) {
        try access.modify { () throws(MiniBatchError) in trainingState.reset() }
    }

    /// Sets the parameters to the best epoch's, kept by early stopping with a validation set
    /// and `restoreBest` (a call that runs all its epochs keeps its last weights, so that a
    /// next call continues the run; this restores the best on request, as scikit-learn's
    /// estimators do at the end of `fit`). Returns the epoch (over the network's life) whose
    /// weights these are. Throws `.invalidArgument` when none were kept, `.busy` during
    /// training.
    @discardableResult
    public func restoreBestWeights() throws(MiniBatchError) -> Int {
        try access.modify { () throws(MiniBatchError) in
            guard let best = trainingState.bestParameters, trainingState.bestEpoch > 0 else {
                throw .invalid("no best weights were kept: they are kept by early stopping (patience > 0) with a validation set and restore_best")
            }
            parameters.update(from: best, count: parameterCount)
            return trainingState.bestEpoch
        }
    }

    /// `epochsTrained`, read as every call that reads the network is: `.busy` from another
    /// thread while a training call runs (which changes it after every epoch); its progress
    /// callback may read it. (`mb_model_get_info`.)
    public func readEpochsTrained() throws(MiniBatchError) -> Int {
        try access.read { () throws(MiniBatchError) in epochsTrained }
    }

    /// Replaces the flat parameters from an array.
    public func setParameters(_ values: [Float]) throws(MiniBatchError) {
        try values.withUnsafeBufferPointer { (buffer) throws(MiniBatchError) in try setParameters(buffer) }
    }
}
