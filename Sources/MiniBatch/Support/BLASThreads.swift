import CMatrix
import Synchronization

/// The matrix backend's threads (OpenBLAS's pool; libxsmm's kernels always run on their
/// caller's thread). Training with a team of threads splits each batch itself, so while any
/// team trains, OpenBLAS runs every product on its caller's thread (one thread); the setting
/// it had comes back when the last team finishes. It is minibatch's own OpenBLAS: numpy's
/// and the system's keep their settings.
enum BLASThreads {
    /// The largest team a training call may ask for.
    static let maxTeam = 256

    private struct State {
        var teams = 0
        var saved = 1
    }

    private static let state = Mutex(State())

    /// The threads OpenBLAS uses when no team holds it: the automatic team size.
    static var available: Int {
        state.withLock { s in s.teams > 0 ? s.saved : Int(mbm_get_threads()) }
    }

    /// Turns OpenBLAS down to one thread until the matching `release` (counted).
    static func acquire() {
        state.withLock { s in
            if s.teams == 0 {
                s.saved = Int(mbm_get_threads())
                mbm_set_threads(1)
            }
            s.teams += 1
        }
    }

    static func release() {
        state.withLock { s in
            s.teams -= 1
            if s.teams == 0 { mbm_set_threads(Int32(s.saved)) }
        }
    }
}
