/// The buffers one forward and backward pass needs for up to `capacity` rows, allocated
/// once per training (or predict) call, so that no mini-batch allocates.
final class Workspace {
    let capacity: Int
    /// Each layer's output, (capacity, layer.nOut), all in one allocation.
    let activations: UnsafeMutablePointer<Float>
    let activationOffsets: [Int]
    /// Two gradient buffers of (capacity, maxWidth): dz of a layer and d input of the layer
    /// below, swapped as backward moves down.
    var delta: UnsafeMutablePointer<Float>
    var deltaOther: UnsafeMutablePointer<Float>
    /// (parameterCount), or nil when only forward passes run.
    let gradients: UnsafeMutablePointer<Float>?
    /// Whether the first layer's W is read as W^T, the layout training keeps it in
    /// (`TrainingStep.arrangeFirstWeights`).
    let firstWeightsTransposed: Bool
    /// The parameters passes through this workspace read where they are not the network's:
    /// a copy in training's layout (`Network.gradient`). Not owned.
    var parameters: UnsafePointer<Float>?
    /// Training with dropout: each hidden layer's dropped output (what the layer above
    /// reads) and mask (0 or the scale, per unit), (capacity, nOut) each, in one allocation
    /// (`dropoutBuffers`: the dropped outputs of every hidden layer, then their masks, at the
    /// hidden layers' `activationOffsets`); nil without dropout.
    let dropoutBuffers: UnsafeMutablePointer<Float>?
    /// The floats of hidden layers' outputs, the offset of the masks in `dropoutBuffers`.
    let hiddenFloats: Int
    /// The current mini-batch's dropout (set by training for each pass); nil: none.
    var dropout: DropoutPass?
    /// Training's label smoothing (`TrainingOptions.labelSmoothing`); 0 elsewhere.
    var labelSmoothing: Float = 0
    /// With a backward pass: z of each hidden layer whose activation needs it for its
    /// derivative (GELU, SiLU: `Activation.needsPreactivation`), (capacity, nOut) each, one
    /// after the other (`preactivationOffsets`); nil when no layer does.
    let preactivations: UnsafeMutablePointer<Float>?
    /// Where layer l's z starts in `preactivations`, or nil where it is not kept; empty when
    /// no layer's is.
    let preactivationOffsets: [Int?]

    /// The floats a workspace for `capacity` rows of `network` holds (see `workingMemory`).
    static func floatCount(for network: Network, capacity: Int, backward: Bool) -> Int {
        let activations = network.layers.reduce(0) { $0 + $1.nOut } * capacity
        let deltas = backward ? 2 * capacity * network.maxWidth + network.parameterCount : 0
        return activations + deltas + (backward ? capacity * network.preactivationUnits : 0)
    }

    /// The floats dropout adds to a workspace for `capacity` rows of `network`: each hidden
    /// layer's dropped output and mask (saturating at Int.max).
    static func dropoutFloatCount(for network: Network, capacity: Int) -> Int {
        network.layers.dropLast().reduce(0) { $0 + $1.nOut }.multipliedSaturated(capacity).multipliedSaturated(2)
    }

    init(
        for network: Network, capacity: Int, backward: Bool, firstWeightsTransposed: Bool = false, dropout: Bool = false
    ) throws(MiniBatchError) {
        self.capacity = capacity
        self.firstWeightsTransposed = firstWeightsTransposed
        // Capacities first: an array grown by appending reallocates when the allocator's
        // block is full, which depends on the allocator's state (see `TrainingStep.init`).
        var offsets: [Int] = []
        offsets.reserveCapacity(network.layers.count)
        var total = 0
        for layer in network.layers {
            offsets.append(total)
            let (size, overflow) = capacity.multipliedReportingOverflow(by: layer.nOut)
            let (sum, sumOverflow) = total.addingReportingOverflow(size)
            guard !overflow, !sumOverflow else {
                throw MiniBatchError(.outOfMemory, "out of memory: \(capacity) rows of activations cannot be addressed")
            }
            total = sum
        }
        activationOffsets = offsets
        // The hidden layers' outputs end where the output layer's begin.
        hiddenFloats = offsets.last ?? 0
        // (capacity x the kept layers' units fits: at most the activations' total, checked above)
        // (empty, allocating nothing, where no layer keeps z: the common case)
        var kept = 0
        preactivationOffsets = !backward || network.preactivationUnits == 0 ? [] : network.layers.indices.map { l in
            guard l + 1 < network.layers.count && network.layers[l].activation.needsPreactivation else { return nil }
            defer { kept += capacity * network.layers[l].nOut }
            return kept
        }
        let activations = try allocate(Float.self, count: total, for: "the activations")
        self.activations = activations
        guard backward else {
            delta = activations
            deltaOther = activations
            gradients = nil
            dropoutBuffers = nil
            preactivations = nil
            return
        }
        // The other buffers, in one list: a failure frees what was allocated before it.
        var owned: [UnsafeMutablePointer<Float>] = []
        owned.reserveCapacity(5)
        do throws(MiniBatchError) {
            let (width, overflow) = capacity.multipliedReportingOverflow(by: network.maxWidth)
            guard !overflow else {
                throw MiniBatchError(.outOfMemory, "out of memory: \(capacity) rows of gradients cannot be addressed")
            }
            preactivations = kept > 0 ? try Workspace.take(kept, "the hidden layers' z", into: &owned) : nil
            if dropout && hiddenFloats > 0 {
                let (count, overflow) = hiddenFloats.multipliedReportingOverflow(by: 2)
                guard !overflow else {
                    throw MiniBatchError(.outOfMemory, "out of memory: \(capacity) rows of dropout masks cannot be addressed")
                }
                dropoutBuffers = try Workspace.take(count, "dropout's outputs and masks", into: &owned)
            } else {
                dropoutBuffers = nil
            }
            delta = try Workspace.take(width, "the layer gradients", into: &owned)
            deltaOther = try Workspace.take(width, "the layer gradients", into: &owned)
            gradients = try Workspace.take(network.parameterCount, "the parameter gradients", into: &owned)
        } catch {
            owned.forEach { deallocate($0) }
            deallocate(activations)
            throw error
        }
    }

    /// Allocates `count` floats and adds them to `owned` (no closure: a captured list would
    /// be one more allocation per call).
    private static func take(
        _ count: Int, _ what: String, into owned: inout [UnsafeMutablePointer<Float>]
    ) throws(MiniBatchError) -> UnsafeMutablePointer<Float> {
        let buffer = try allocate(Float.self, count: count, for: what)
        owned.append(buffer)
        return buffer
    }

    deinit {
        if gradients != nil {
            deallocate(delta)
            deallocate(deltaOther)
            deallocate(gradients)
        }
        if let dropoutBuffers { deallocate(dropoutBuffers) }
        if let preactivations { deallocate(preactivations) }
        deallocate(activations)
    }

    /// Layer `l`'s output buffer, (capacity, nOut).
    @inline(__always)
    func output(_ l: Int) -> UnsafeMutablePointer<Float> { activations + activationOffsets[l] }

    /// Layer `l`'s z, where training keeps it (`preactivationOffsets`); else nil.
    @inline(__always)
    func preactivation(_ l: Int) -> UnsafeMutablePointer<Float>? {
        preactivationOffsets.isEmpty ? nil : preactivationOffsets[l].map { preactivations! + $0 }
    }

    /// Hidden layer `l`'s output after dropout, (capacity, nOut): needs `dropoutBuffers`.
    @inline(__always)
    func dropped(_ l: Int) -> UnsafeMutablePointer<Float> { dropoutBuffers! + activationOffsets[l] }

    /// Hidden layer `l`'s dropout mask, (capacity, nOut): needs `dropoutBuffers`.
    @inline(__always)
    func mask(_ l: Int) -> UnsafeMutablePointer<Float> { dropoutBuffers! + hiddenFloats + activationOffsets[l] }
}
