#if canImport(Glibc)
import Glibc
#endif
import MiniBatch

/// Ctrl-C during training: the first SIGINT asks training to stop after the current
/// mini-batch (`TrainingInterrupt`), so that the model can be saved; the handler then makes a
/// second Ctrl-C kill the process, after removing the temporary files of the writes in
/// progress (`TemporaryFiles.removeOnSignal`: the model file is then the previous file, or
/// none, and no temporary file is left). SIGTERM kills the same way at any time. The
/// handlers stay until the model and the history are written (`uninstall`).
///
/// The handler does only async-signal-safe things: an atomic store, `write` of a constant
/// message, and `signal`.
enum SignalStop {
    static let interrupt = TrainingInterrupt()

    /// Installs the handlers and returns the interrupt Ctrl-C sets. A signal that this
    /// process was started ignoring (a background job of a shell script) stays ignored.
    static func install() -> TrainingInterrupt {
        // Initialised here, so that the handler only reads it.
        let interrupt = SignalStop.interrupt
        if !isIgnored(SIGTERM) { TemporaryFiles.removeOnSignal(SIGTERM) }
        guard !isIgnored(SIGINT) else { return interrupt }
        signal(SIGINT) { _ in
            SignalStop.interrupt.requestStop()
            let note: StaticString = "\nminibatch-cli: stopping after this mini-batch to save the model (Ctrl-C again to kill)\n"
            _ = write(STDERR_FILENO, note.utf8Start, note.utf8CodeUnitCount)
            TemporaryFiles.removeOnSignal(SIGINT)
        }
        return interrupt
    }

    /// Puts the default actions back (the files are written), unless a signal is ignored.
    static func uninstall() {
        for signalNumber in [SIGINT, SIGTERM] where !isIgnored(signalNumber) { signal(signalNumber, SIG_DFL) }
    }

    /// While `body` writes files (a prediction, a shuffle): Ctrl-C and SIGTERM remove their
    /// temporary files before the process dies of them.
    static func removingTemporaryFiles<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let signals = [SIGINT, SIGTERM].filter { !isIgnored($0) }
        for signalNumber in signals { TemporaryFiles.removeOnSignal(signalNumber) }
        defer { for signalNumber in signals { signal(signalNumber, SIG_DFL) } }
        return try body()
    }

    /// Whether `signalNumber`'s action is SIG_IGN (read with sigaction: setting it to SIG_IGN
    /// and back could drop a signal that came in between).
    private static func isIgnored(_ signalNumber: Int32) -> Bool {
        var action = sigaction()
        guard sigaction(signalNumber, nil, &action) == 0 else { return false }
        return unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self) == 1  // SIG_IGN
    }
}
