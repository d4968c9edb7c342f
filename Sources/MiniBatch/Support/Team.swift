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
///
/// A training call borrows its team (`borrow`) and gives it back when it ends (`giveBack`), as
/// `Shuffle.into` does for a large copy (`borrowKept`, any size):
/// the last team given back is kept, its members asleep, for the next call that asks for
/// the same size, as OpenBLAS and OpenMP runtimes keep their threads. A thread made for
/// each call started on its maker's core: Linux places a new thread by the cores' recent
/// load, and after a pause (a process that trains one epoch per call, as the benchmark
/// does, or between `partial_fit` calls) the caller's core looks as idle as the others, so
/// the two shared it until the load balancer moved one, about 10 ms later. Measured on
/// 784-128-10, 2 threads, batch 256, one epoch per call 0.1 s apart (2 vCPUs, Zen 5, with
/// `perf sched`): a new member and the caller took turns on one core for 4-5 ms of every
/// 0.06 s epoch. A member woken from sleep is placed by the same rule but seldom on its
/// waker's core (2 calls in 9), and the kept team's median epochs were 0.059-0.063 s
/// against 0.063-0.066 s, in alternating runs.
///
/// A team made before a `fork` is not used in the child (its threads are not there, and a
/// lock of theirs may be held): the child makes its own, and leaves that one as it is.
final class Team: @unchecked Sendable {
    /// Members, the calling thread included (>= 1).
    let size: Int
    /// The process that made the members' threads.
    private let process = getpid()
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

    /// The team kept for the next call (`giveBack`): the address of an `Unmanaged<Team>`
    /// holding one reference, or 0. Exchanged atomically, without a lock a fork could leave
    /// held.
    private static let kept = Atomic<Int>(0)

    /// A team of `size` members: the kept one if it has that size and this process made
    /// it, else a new one (the kept one is then stopped).
    static func borrow(size: Int) throws(MiniBatchError) -> Team {
        if size > 1, let team = take() {
            if team.size == size { return team }
            team.stop()
        }
        return try Team(size: size)
    }

    /// The kept team, whatever its size (nil if none, or if it was made before a fork), for
    /// work whose result does not depend on how many members share it (`Shuffle.into`):
    /// taking it leaves a training call's team kept for the next one, where asking for another
    /// size would stop it. Give it back after (`giveBack`).
    static func borrowKept() -> Team? { take() }

    /// Ends a call's use of this team: it is kept for the next call (the team kept before
    /// is stopped), or, without members of its own, left to end.
    func giveBack() {
        guard !threads.isEmpty else { return }
        guard process == getpid() else { return Team.abandon(self) }
        let previous = Team.kept.exchange(
            Int(bitPattern: Unmanaged.passRetained(self).toOpaque()), ordering: .acquiringAndReleasing)
        Team.adopt(previous)?.stop()
    }

    /// The kept team, if any and this process made it, now no longer kept.
    private static func take() -> Team? {
        adopt(kept.exchange(0, ordering: .acquiringAndReleasing))
    }

    /// The team whose reference `address` holds, if this process made it; one made before a
    /// fork is abandoned.
    private static func adopt(_ address: Int) -> Team? {
        guard let raw = UnsafeMutableRawPointer(bitPattern: address) else { return nil }
        let team = Unmanaged<Team>.fromOpaque(raw).takeRetainedValue()
        guard team.process == getpid() else {
            abandon(team)
            return nil
        }
        return team
    }

    /// Leaves a team made by the process this one was forked from as it is: its threads are
    /// not in this process, so they cannot be joined, and its condition variables may have
    /// waiters there, so it is never deinitialised (glibc's pthread_cond_destroy would wait
    /// for them). A few hundred bytes, once per fork.
    private static func abandon(_ team: Team) {
        _ = Unmanaged.passRetained(team)
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
