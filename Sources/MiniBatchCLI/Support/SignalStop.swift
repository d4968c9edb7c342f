#if canImport(Glibc)
import Glibc
#endif
import MiniBatch

/// Ctrl-C during training: the first SIGINT asks training to stop after the current
/// mini-batch (`TrainingInterrupt`), so that the model can be saved; the handler then
/// restores the default action, so a second Ctrl-C kills the process (the model file is
/// written atomically: it is then the previous file, or none).
///
/// The handler does only async-signal-safe things: an atomic store, `write` of a constant
/// message, and `signal`.
enum SignalStop {
    static let interrupt = TrainingInterrupt()

    /// Installs the handler and returns the interrupt it sets. A SIGINT that this process
    /// was started ignoring (a background job of a shell script) stays ignored.
    static func install() -> TrainingInterrupt {
        // Initialised here, so that the handler only reads it.
        let interrupt = SignalStop.interrupt
        let previous = signal(SIGINT, SIG_IGN)
        if let previous, unsafeBitCast(previous, to: Int.self) == 1 { return interrupt }  // SIG_IGN
        signal(SIGINT) { _ in
            SignalStop.interrupt.requestStop()
            let note: StaticString = "\nminibatch-cli: stopping after this mini-batch to save the model (Ctrl-C again to kill)\n"
            _ = write(STDERR_FILENO, note.utf8Start, note.utf8CodeUnitCount)
            signal(SIGINT, SIG_DFL)
        }
        return interrupt
    }

    /// Puts the default action back (training is over), unless SIGINT is ignored.
    static func uninstall() {
        let previous = signal(SIGINT, SIG_DFL)
        if let previous, unsafeBitCast(previous, to: Int.self) == 1 { signal(SIGINT, SIG_IGN) }
    }
}
