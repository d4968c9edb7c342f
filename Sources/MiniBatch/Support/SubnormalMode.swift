import CIntrinsics

/// Subnormal (denormal) floats on the calling thread: flushed to zero as results and read as
/// zero as operands, or kept (x86-64's MXCSR FTZ and DAZ bits, `minibatch_set_subnormals` in
/// CIntrinsics). Training's members set the mode a call asks for around each phase
/// (`TrainingStep.work`, `TrainingOptions.flushesDenormals`). Elsewhere than x86-64 nothing
/// changes and subnormals are kept.
enum SubnormalMode {
    /// `body` with this thread's subnormals flushed (`flushing`) or kept, whatever the thread
    /// had; its own control bits are back after (the exception flags raised meanwhile stay).
    static func with<T>(flushing: Bool, _ body: () -> T) -> T {
        let saved = minibatch_set_subnormals(flushing ? 1 : 0)
        defer { minibatch_restore_fp(saved) }
        return body()
    }

    /// This thread's FTZ and DAZ bits (MXCSR & 0x8040 on x86-64, 0 elsewhere), for tests.
    static var bits: Int32 { Int32(minibatch_subnormal_bits()) }

    /// Whether this thread flushes subnormals now (both bits set).
    static var flushing: Bool { bits == 0x8040 }

    /// Sets this thread's mode and leaves it so (for tests: a thread in a given mode).
    static func set(flushing: Bool) { _ = minibatch_set_subnormals(flushing ? 1 : 0) }
}
