/// The two cost curves of training: the cost of every mini-batch and of every epoch.
///
/// Batch gradient descent's epoch cost falls monotonically with a small enough learning
/// rate; mini-batch costs oscillate from batch to batch while falling overall.
public final class History: @unchecked Sendable {
    /// The mean cost of each mini-batch, computed in its forward pass (before its update).
    public private(set) var batchCosts: [Double] = []
    /// The size-weighted mean of each epoch's batch costs.
    public private(set) var epochCosts: [Double] = []

    public init() {}

    public func removeAll() {
        batchCosts.removeAll()
        epochCosts.removeAll()
    }

    /// Makes room for the costs of a training call, so that no batch allocates.
    func reserve(batches: Int, epochs: Int) {
        batchCosts.reserveCapacity(batchCosts.count + batches)
        epochCosts.reserveCapacity(epochCosts.count + epochs)
    }

    func recordBatch(_ cost: Double) { batchCosts.append(cost) }
    /// Drops the costs after the first `batches` and `epochs`.
    func truncate(batches: Int, epochs: Int) {
        batchCosts.removeSubrange(batches...)
        epochCosts.removeSubrange(epochs...)
    }
    func recordEpoch(_ cost: Double) { epochCosts.append(cost) }
}
