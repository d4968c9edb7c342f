/// The two cost curves of training: the cost of every mini-batch and of every epoch.
///
/// Batch gradient descent's epoch cost falls monotonically with a small enough learning
/// rate; mini-batch costs oscillate from batch to batch while falling overall.
public final class History: @unchecked Sendable {
    /// The mean cost of each mini-batch, computed in its forward pass (before its update).
    public private(set) var batchCosts: [Double] = []
    /// The size-weighted mean of each epoch's batch costs.
    public private(set) var epochCosts: [Double] = []
    /// Per epoch, like `epochCosts`: the cost of the validation set after the epoch's
    /// updates (NaN for an epoch trained without one).
    public private(set) var validationCosts: [Double] = []
    /// Per epoch: the validation score after the epoch, the accuracy for the cross-entropy
    /// losses, R^2 for mean squared error (1 - residual sum of squares / total sum of squares
    /// about each output's mean, the outputs pooled); NaN without a validation set.
    public private(set) var validationScores: [Double] = []
    /// Per epoch: the learning rate the epoch trained with (after the schedule).
    public private(set) var learningRates: [Double] = []

    /// Held by a training call that records into it (`Access`).
    let access = Access("the history")

    public init() {}

    /// Forgets every cost. Throws `.busy` while a training call records into the history.
    public func removeAll() throws(MiniBatchError) {
        try access.modify { () throws(MiniBatchError) in
            batchCosts.removeAll()
            epochCosts.removeAll()
            validationCosts.removeAll()
            validationScores.removeAll()
            learningRates.removeAll()
        }
    }

    /// The batch and epoch costs, read under `access` (for callers that may run while a
    /// training call records: the C and Python entry points).
    public func costs() throws(MiniBatchError) -> (batches: [Double], epochs: [Double]) {
        try access.read { () throws(MiniBatchError) in (batchCosts, epochCosts) }
    }

    /// The per-epoch validation costs, validation scores and learning rates, read under
    /// `access` (see `costs`).
    public func epochRecords() throws(MiniBatchError) -> (validationCosts: [Double], validationScores: [Double], learningRates: [Double]) {
        try access.read { () throws(MiniBatchError) in (validationCosts, validationScores, learningRates) }
    }

    /// Costs reserved ahead at most: 2^20 (8 MiB of batch costs).
    static let maxReserved = 1 << 20

    /// Makes room for the costs of a training call of `epochs` epochs of `batches` batches,
    /// so that no batch allocates: for the whole call when its costs number at most
    /// `maxReserved`, else for as many whole epochs as fit (at least one); a longer call's
    /// costs then grow by doubling, a few allocations over the call, never one per batch.
    /// (Reserving for `epochs = 10^9` up front would ask for gigabytes that a callback
    /// stopping after one epoch never uses.)
    func reserve(batches: Int, epochs: Int) {
        let ahead = max(1, min(epochs, History.maxReserved / max(batches, 1)))
        batchCosts.reserveCapacity(batchCosts.count + min(batches, History.maxReserved) * ahead)
        epochCosts.reserveCapacity(epochCosts.count + ahead)
        validationCosts.reserveCapacity(validationCosts.count + ahead)
        validationScores.reserveCapacity(validationScores.count + ahead)
        learningRates.reserveCapacity(learningRates.count + ahead)
    }

    func recordBatch(_ cost: Double) { batchCosts.append(cost) }
    /// Drops the costs after the first `batches` and `epochs`.
    func truncate(batches: Int, epochs: Int) {
        batchCosts.removeSubrange(batches...)
        epochCosts.removeSubrange(epochs...)
        validationCosts.removeSubrange(epochs...)
        validationScores.removeSubrange(epochs...)
        learningRates.removeSubrange(epochs...)
    }
    func recordEpoch(_ cost: Double, learningRate: Double, validationCost: Double = .nan, validationScore: Double = .nan) {
        epochCosts.append(cost)
        learningRates.append(learningRate)
        validationCosts.append(validationCost)
        validationScores.append(validationScore)
    }
}
