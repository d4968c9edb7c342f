import CMatrix

/// The matrix backend's threads (OpenBLAS's pool; libxsmm's kernels always run on their
/// caller's thread). Training with a team of threads splits each batch itself, so while any
/// team trains, OpenBLAS runs every product on its caller's thread (one thread); the setting
/// it had comes back when the last team finishes. It is minibatch's own OpenBLAS: numpy's
/// and the system's keep their settings.
enum BLASThreads {
    /// The largest team a training call may ask for.
    static let maxTeam = 256

    /// The teams training now, and OpenBLAS's threads before the first: guarded by `lock`
    /// (a pthread mutex, which ThreadSanitizer sees; it does not see Synchronization's
    /// Mutex on Linux, and reported two trainings' releases as a race).
    nonisolated(unsafe) private static var teams = 0
    nonisolated(unsafe) private static var saved = 1
    private static let lock = Monitor()

    /// The threads OpenBLAS uses when no team holds it: the automatic team size.
    static var available: Int {
        lock.locked { teams > 0 ? saved : Int(mbm_get_threads()) }
    }

    /// Turns OpenBLAS down to one thread until the matching `release` (counted).
    static func acquire() {
        lock.locked {
            if teams == 0 {
                saved = Int(mbm_get_threads())
                mbm_set_threads(1)
            }
            teams += 1
        }
    }

    static func release() {
        lock.locked {
            teams -= 1
            if teams == 0 { mbm_set_threads(Int32(saved)) }
        }
    }
}
