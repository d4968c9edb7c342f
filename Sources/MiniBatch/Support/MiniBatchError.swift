/// An error from the engine: what kind of failure, and a message that names the argument.
///
/// The C layer turns `kind` into an `mb_status` and `message` into `mb_last_error()`.
public struct MiniBatchError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Int, Sendable {
        /// A bad argument: a size, a shape, a value out of range, NaN or Inf in the data.
        case invalidArgument = 1
        /// An allocation failed; nothing was changed.
        case outOfMemory = 2
        /// A file could not be opened, read, written, synced or renamed.
        case io = 3
        /// A model file is truncated, corrupted or of another format.
        case format = 4
        /// The cost or an update became NaN or Inf; the model keeps the last weights that gave
        /// a finite cost (see `Network.train`). From a prediction: an output is NaN or Inf.
        case diverged = 5
        /// The progress callback asked training to stop.
        case cancelled = 6
        /// A bug in minibatch.
        case `internal` = 7
        /// The object is in use by a training call (`Access`).
        case busy = 8
        /// Distributed training: a communicator's collective failed.
        case communication = 9
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ message: String) -> MiniBatchError {
        MiniBatchError(.invalidArgument, message)
    }
}
