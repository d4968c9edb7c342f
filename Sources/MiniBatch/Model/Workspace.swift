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

    /// The floats a workspace for `capacity` rows of `network` holds (see `workingMemory`).
    static func floatCount(for network: Network, capacity: Int, backward: Bool) -> Int {
        let activations = network.layers.reduce(0) { $0 + $1.nOut } * capacity
        let deltas = backward ? 2 * capacity * network.maxWidth + network.parameterCount : 0
        return activations + deltas
    }

    init(for network: Network, capacity: Int, backward: Bool, firstWeightsTransposed: Bool = false) throws(MiniBatchError) {
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
        let activations = try allocate(Float.self, count: total, for: "the activations")
        self.activations = activations
        guard backward else {
            delta = activations
            deltaOther = activations
            gradients = nil
            return
        }
        let (width, overflow) = capacity.multipliedReportingOverflow(by: network.maxWidth)
        guard !overflow else { throw MiniBatchError(.outOfMemory, "out of memory: \(capacity) rows of gradients cannot be addressed") }
        var buffers: [UnsafeMutablePointer<Float>] = []
        buffers.reserveCapacity(3)
        do {
            for (count, what) in [(width, "the layer gradients"), (width, "the layer gradients"),
                                  (network.parameterCount, "the parameter gradients")] {
                buffers.append(try allocate(Float.self, count: count, for: what))
            }
        } catch {
            buffers.forEach { deallocate($0) }
            deallocate(activations)
            throw error
        }
        delta = buffers[0]
        deltaOther = buffers[1]
        gradients = buffers[2]
    }

    deinit {
        if gradients != nil {
            deallocate(delta)
            deallocate(deltaOther)
            deallocate(gradients)
        }
        deallocate(activations)
    }

    /// Layer `l`'s output buffer, (capacity, nOut).
    @inline(__always)
    func output(_ l: Int) -> UnsafeMutablePointer<Float> { activations + activationOffsets[l] }
}
