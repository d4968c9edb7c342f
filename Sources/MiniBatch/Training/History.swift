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
    /// losses, R^2 for mean squared error and Poisson (each output's 1 - residual sum of
    /// squares / total sum of squares about its mean, averaged over the outputs, as
    /// scikit-learn's `r2_score`); NaN without a validation set.
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

    /// Costs reserved ahead at most: 2^20 (8 MiB of batch costs), or one epoch's if more.
    static let maxReserved = 1 << 20
    /// `maxReserved` for this history (tests set less).
    var reserveLimit = History.maxReserved
    /// Room made by `reserve` (a training call makes it before an epoch's first batch) and
    /// room the records had to make themselves (none in a training call: for tests).
    private(set) var reservations = 0, growthsWhileRecording = 0
    /// Tests: the reservation from which `reserve` fails as if out of memory.
    var failingReservation = Int.max

    /// Makes room for the costs of the next epochs of a training call, `epochs` epochs of
    /// `batches` batches: for all of them when their costs number at most `reserveLimit`,
    /// else for as many whole epochs as fit, at least one, however many batches it has (an
    /// epoch records them all). Returns the epochs it made room for. The training loop
    /// calls it before the first batch of an epoch without room, so that no batch
    /// allocates, and a failure comes before the epoch changes anything: distributed ranks
    /// learn of it at the epoch's first exchange, and every rank's history stays the same.
    /// (Reserving for `epochs = 10^9` up front would ask for gigabytes that a callback
    /// stopping after one epoch never uses.)
    func reserve(batches: Int, epochs: Int) throws(MiniBatchError) -> Int {
        reservations += 1
        if reservations >= failingReservation {
            throw MiniBatchError(.outOfMemory, "out of memory: the history's batch costs (a test's failure)")
        }
        let batches = max(batches, 1)
        let ahead = max(1, min(epochs, reserveLimit / batches))
        try History.makeRoom(&batchCosts, for: batches * ahead, "batch costs")
        try makeRoomForEpochs(ahead)
        return ahead
    }

    /// `makeRoom` for `extra` more epochs in each per-epoch array.
    private func makeRoomForEpochs(_ extra: Int) throws(MiniBatchError) {
        try History.makeRoom(&epochCosts, for: extra, "epoch costs")
        try History.makeRoom(&validationCosts, for: extra, "validation costs")
        try History.makeRoom(&validationScores, for: extra, "validation scores")
        try History.makeRoom(&learningRates, for: extra, "learning rates")
    }

    /// Gives `array` room for `extra` more values: at least doubling its capacity, so that a
    /// long call grows it a few times, never once per batch. A large one is checked first
    /// against the memory the process may use (`Validate.fitsMemory`, the new buffer and
    /// the old one it is copied from): Swift's allocator ends the process where it fails
    /// (a history of 70 million batch costs under `ulimit -v` did).
    private static func makeRoom(_ array: inout [Double], for extra: Int, _ what: String) throws(MiniBatchError) {
        let (needed, overflow) = array.count.addingReportingOverflow(extra)
        guard overflow || needed > array.capacity else { return }
        let target = overflow ? Int.max : max(needed, 2 * array.capacity)
        if target >= 1 << 16 {
            try Validate.fitsMemory(target.addingSaturated(array.capacity), elementBytes: MemoryLayout<Double>.stride,
                                    "the history's \(what) (\(target) values)")
        }
        array.reserveCapacity(target)
    }

    func recordBatch(_ cost: Double) throws(MiniBatchError) {
        if batchCosts.count == batchCosts.capacity {
            growthsWhileRecording += 1
            try History.makeRoom(&batchCosts, for: 1, "batch costs")
        }
        batchCosts.append(cost)
    }
    /// Drops the costs after the first `batches` and `epochs`.
    func truncate(batches: Int, epochs: Int) {
        batchCosts.removeSubrange(batches...)
        epochCosts.removeSubrange(epochs...)
        validationCosts.removeSubrange(epochs...)
        validationScores.removeSubrange(epochs...)
        learningRates.removeSubrange(epochs...)
    }
    func recordEpoch(_ cost: Double, learningRate: Double, validationCost: Double = .nan, validationScore: Double = .nan) throws(MiniBatchError) {
        if epochCosts.count == epochCosts.capacity { growthsWhileRecording += 1 }
        try makeRoomForEpochs(1)
        epochCosts.append(cost)
        learningRates.append(learningRate)
        validationCosts.append(validationCost)
        validationScores.append(validationScore)
    }
}
