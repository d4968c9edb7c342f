import Synchronization

/// A way to stop training from outside the training loop, and to watch it between epochs.
///
/// Give one to `TrainingOptions.interrupt`. Any thread may call `requestStop()` at any time
/// (it is one atomic store, so a signal handler may call it too); the training loop checks
/// the request after each mini-batch's update and throws `.cancelled`:
///
/// - after a batch that is not its epoch's last: the model keeps that batch's weights and the
///   update rule's state after it (Adam's step count included). The interrupted epoch is
///   **not** counted in `Network.epochsTrained`, nor its rows in the schedule's count of
///   examples seen, and the history has its batch costs but no epoch cost. A training call
///   that resumes from there (in this process, or from a saved file) runs that epoch again
///   from its first batch, in the same order: its first batches are trained on twice, so
///   the run is not the one an uninterrupted call would have made (close to it, not equal);
/// - after an epoch's last batch, or during the epoch's validation or progress callback: the
///   epoch ends as usual (counted, validated, recorded, early stopping told) and training
///   stops after it, with `.cancelled` unless that epoch ended the call anyway (its last,
///   or early stopping's): then the call returns normally. Resuming from there continues
///   the run exactly, as after any call.
///
/// With a `Distribution`, ranks must stop together: the request is checked after each
/// epoch only, like the progress callback's `.stop`, and any rank's request stops every rank.
///
/// The request stays set until `clear()`: a training call started while it is set stops
/// after its first mini-batch.
///
/// `batchesDone` and `examplesDone` count every update applied by calls that were given this
/// interrupt; another thread may read them while training runs (a progress display between
/// epochs).
public final class TrainingInterrupt: Sendable {
    private let stop = Atomic<Bool>(false)
    private let batches = Atomic<Int>(0)
    private let examples = Atomic<Int>(0)
    private let perEpoch = Atomic<Int>(0)

    public init() {}

    /// Asks training to stop after the current mini-batch. Async-signal-safe.
    public func requestStop() { stop.store(true, ordering: .releasing) }

    /// Withdraws a request (the next training call runs normally).
    public func clear() { stop.store(false, ordering: .releasing) }

    /// Whether a stop has been requested and not cleared.
    public var isStopRequested: Bool { stop.load(ordering: .acquiring) }

    /// Mini-batches whose update has been applied, over every call given this interrupt.
    public var batchesDone: Int { batches.load(ordering: .relaxed) }

    /// The rows of those mini-batches.
    public var examplesDone: Int { examples.load(ordering: .relaxed) }

    /// The mini-batches in an epoch of the call running (or the last one to run); 0 before
    /// any call has started its first epoch.
    public var batchesPerEpoch: Int { perEpoch.load(ordering: .relaxed) }

    /// Called by the training loop before its first epoch.
    func started(batchesPerEpoch: Int) { perEpoch.store(batchesPerEpoch, ordering: .relaxed) }

    /// Called by the training loop after each update.
    func batchDone(rows: Int) {
        batches.add(1, ordering: .relaxed)
        examples.add(rows, ordering: .relaxed)
    }
}
