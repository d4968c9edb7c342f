#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A fixed group of threads that run one job together: `run` hands the same job to every
/// member (the calling thread is member 0) and returns when all of them have finished it.
/// Training splits each mini-batch across a team.
///
/// A hand-over costs about a microsecond while the members are busy: a waiting member
/// spins on an atomic counter for a few tens of microseconds before it sleeps on a
/// condition variable, so a team between two training steps does not pay for a wake-up,
/// and an idle team does not burn a core.
final class Team: @unchecked Sendable {
    /// Members, the calling thread included (>= 1).
    let size: Int
    private let started = Signal()
    private let finished = Signal()
    /// The job of the current round; set before `started` moves and read after it has.
    private var job: ((Int) -> Void)?
    private var rounds = 0
    private var stopping = false
    private var threads: [Thread] = []

    init(size: Int) throws(MiniBatchError) {
        self.size = size
        do {
            for member in 1..<max(size, 1) {
                threads.append(try Thread { [unowned self] in self.serve(member) })
            }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Runs `job(member)` on every member, `job(0)` on the calling thread, and returns when
    /// all have returned. The members' writes are visible to the caller afterwards. (The
    /// job is escaping so that a caller can make it once: handing a team a non-escaping
    /// closure would allocate on every call.)
    func run(_ job: @escaping (Int) -> Void) {
        guard !threads.isEmpty else { return job(0) }
        self.job = job
        rounds += 1
        started.add()
        job(0)
        finished.wait(untilAtLeast: rounds * threads.count)
        self.job = nil
    }

    /// Ends the members' threads (idempotent).
    func stop() {
        guard !threads.isEmpty else { return }
        stopping = true
        started.add()
        threads.forEach { $0.join() }
        threads = []
    }

    private func serve(_ member: Int) {
        var round = 0
        while true {
            round += 1
            started.wait(untilAtLeast: round)
            if stopping { return }
            job!(member)
            finished.add()
        }
    }
}

/// A counter that threads wait on until it reaches a value: spinning first, then asleep.
final class Signal: @unchecked Sendable {
    /// Loads of the counter before a waiter starts yielding: a few microseconds.
    private static let spins = 4_000
    /// Yields of the processor before a waiter sleeps: up to about a hundred microseconds,
    /// during which another thread that is ready (a file reader) can run.
    private static let yields = 200
    private let value = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let monitor = Monitor()

    /// Adds one and wakes the waiters that sleep.
    func add() {
        value.add(1, ordering: .sequentiallyConsistent)
        // A waiter counts itself as a sleeper before it last checks the value (both
        // sequentially consistent), so either it sees the new value or this sees it.
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            monitor.locked { monitor.broadcast() }
        }
    }

    /// Returns once the counter is at least `target`; what was written before the `add`s
    /// that got it there is visible afterwards.
    func wait(untilAtLeast target: Int) {
        for _ in 0..<Signal.spins where value.load(ordering: .acquiring) >= target { return }
        for _ in 0..<Signal.yields {
            sched_yield()
            if value.load(ordering: .acquiring) >= target { return }
        }
        monitor.locked {
            sleepers.add(1, ordering: .sequentiallyConsistent)
            monitor.wait { value.load(ordering: .sequentiallyConsistent) >= target }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
        }
    }
}
