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
/// object from its progress callback: training is between two epochs then, and the object
/// is as the epoch left it.
final class Access: Sendable {
    /// 0: unused; n > 0: n calls read; -1: one call modifies.
    private let state = Atomic<Int>(0)
    /// The thread of the call that modifies (pthread_self), 0 when none does.
    private let writer = Atomic<UInt>(0)
    /// "the model", "the history": for messages.
    let name: String

    init(_ name: String) { self.name = name }

    private static var thread: UInt { UInt(pthread_self()) }

    private var busy: MiniBatchError {
        MiniBatchError(.busy, "\(name) is in use by a training call: while it trains it may only be read, and only from its progress callback (it was trained, changed or cleared from the callback, or used from another thread)")
    }

    /// Runs `body` as the one call that modifies the object.
    func modify<T>(_ body: () throws(MiniBatchError) -> T) throws(MiniBatchError) -> T {
        guard state.compareExchange(expected: 0, desired: -1, ordering: .acquiring).exchanged else { throw busy }
        writer.store(Access.thread, ordering: .relaxed)
        defer {
            writer.store(0, ordering: .relaxed)
            state.store(0, ordering: .releasing)
        }
        return try body()
    }

    /// Runs `body` as a call that reads the object.
    func read<T>(_ body: () throws(MiniBatchError) -> T) throws(MiniBatchError) -> T {
        var current = state.load(ordering: .relaxed)
        while true {
            if current < 0 {
                // The modifying call's own thread: its progress callback.
                guard writer.load(ordering: .relaxed) == Access.thread else { throw busy }
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
