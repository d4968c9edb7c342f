import CMatrix

/// The matrix backend's threads (OpenBLAS's pool; libxsmm's kernels always run on their
/// caller's thread). Training with a team of threads splits each batch itself, so while any
/// team trains, OpenBLAS runs every product on its caller's thread (one thread); the setting
/// it had comes back when the last team finishes. It is minibatch's own OpenBLAS: numpy's
/// and the system's keep their settings.
enum BLASThreads {
    /// The largest team a training call may ask for.
    static let maxTeam = 256

    /// The threads OpenBLAS uses when no team holds it: the automatic team size (1 once the
    /// process exits). The count and its lock are C's (`mbm_teams_available`, matrix.c),
    /// which a fork leaves usable in the child and the process's exit does not wait on.
    static var available: Int { Int(mbm_teams_available()) }

    /// Turns OpenBLAS down to one thread until the matching `release` (counted).
    static func acquire() { mbm_teams_acquire() }

    static func release() { mbm_teams_release() }
}
