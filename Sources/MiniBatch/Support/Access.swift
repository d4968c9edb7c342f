#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Who is using an object that callers hand around (a model, a history): any number of
/// calls that read it, or one call that modifies it (a training call), never both.
///
/// A call that would break that rule gets `.busy` instead of running: training a model
/// from its own progress callback, setting its parameters or clearing its history there,
/// or using it from another thread while it trains. The thread that trains may read the
/// object from its progress callback (`readable`): training is between two epochs then, and
/// the object is as the epoch left it. Anywhere else on that thread, in a communicator's
/// collective in the middle of a step, say, a read is `.busy` too: the model is in
/// training's own layout there (its first layer's W transposed, an update half applied).
final class Access: Sendable {
    /// 0: unused; n > 0: n calls read; -1: one call modifies.
    private let state = Atomic<Int>(0)
    /// The thread of the call that modifies (pthread_self), 0 when none does.
    private let writer = Atomic<UInt>(0)
    /// Whether that call lets its own thread read now (`readable`).
    private let readsOpen = Atomic<Bool>(false)
    /// "the model", "the history": for messages.
    let name: String

    init(_ name: String) { self.name = name }

    private static var thread: UInt { UInt(pthread_self()) }

    private var busy: MiniBatchError {
        MiniBatchError(.busy, "\(name) is in use by a training call: while it trains it may only be read, and only from its progress callback (it was trained, changed or cleared from the callback, used from another thread, or read from a communicator's collective in the middle of a step)")
    }

    /// The error of a call that would modify the object while others read it.
    private var beingRead: MiniBatchError {
        MiniBatchError(.busy, "\(name) is being read by another call (a prediction, an evaluation, a save or a copy, on another thread): it cannot be trained, changed or cleared until that call returns")
    }

    /// Runs `body` as the one call that modifies the object.
    func modify<T>(_ body: () throws(MiniBatchError) -> T) throws(MiniBatchError) -> T {
        let (exchanged, original) = state.compareExchange(expected: 0, desired: -1, ordering: .acquiring)
        guard exchanged else { throw original > 0 ? beingRead : busy }
        writer.store(Access.thread, ordering: .relaxed)
        defer {
            writer.store(0, ordering: .relaxed)
            state.store(0, ordering: .releasing)
        }
        return try body()
    }

    /// Runs `body` (the modifying call's progress callback) with reads from the modifying
    /// call's own thread allowed.
    func readable<T>(_ body: () -> T) -> T {
        readsOpen.store(true, ordering: .relaxed)
        defer { readsOpen.store(false, ordering: .relaxed) }
        return body()
    }

    /// Runs `body` as a call that reads the object.
    func read<T>(_ body: () throws(MiniBatchError) -> T) throws(MiniBatchError) -> T {
        var current = state.load(ordering: .relaxed)
        while true {
            if current < 0 {
                // The modifying call's own thread, in its progress callback.
                guard writer.load(ordering: .relaxed) == Access.thread, readsOpen.load(ordering: .relaxed) else {
                    throw busy
                }
                return try body()
            }
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiring)
            if exchanged { break }
            current = original
        }
        defer { state.subtract(1, ordering: .releasing) }
        return try body()
    }
}
