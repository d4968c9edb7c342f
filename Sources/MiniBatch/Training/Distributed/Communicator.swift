/// What distributed training needs of a transport: this process's rank among `size`, and
/// three collectives. Every rank calls each with the same sizes, in the same order, on its
/// training thread. `MiniBatchMPI.MPICommunicator` is one over MPI; the C API takes an
/// `mb_communicator` of function pointers.
public protocol Communicator: AnyObject, Sendable {
    /// This process, 0 ..< size.
    var rank: Int { get }
    /// The processes training together (1 ... 2^20).
    var size: Int { get }
    /// `data` becomes its element-wise sum over the ranks, the same on every rank
    /// (MPI_Allreduce, in place).
    func allreduceSum(_ data: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError)
    /// `receive` (size * send.count bytes) gets rank k's `send` at k * send.count
    /// (MPI_Allgather).
    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws(MiniBatchError)
    /// `data` becomes rank `root`'s (MPI_Bcast).
    func broadcast(_ data: UnsafeMutableRawBufferPointer, root: Int) throws(MiniBatchError)
}

/// Data-parallel training over the ranks of a communicator (see the C header's
/// `mb_communicator` for the layout and each mode's contract).
public struct Distribution: Sendable {
    public enum Mode: Int, Sendable {
        /// Every shard's gradient reaches every rank (one allgather per mini-batch) and is
        /// summed in shard order: bit-identical to one process with the same shards.
        case deterministic = 0
        /// Each rank sums its own shards; one allreduce adds the ranks' sums: equal to one
        /// process to rounding.
        case fast = 1
    }

    public var communicator: any Communicator {
        didSet { (rank, size) = (communicator.rank, communicator.size) }
    }
    public var mode: Mode
    /// The communicator's rank and size, read once, when it was set: training uses these,
    /// so that a communicator whose answers change cannot disagree with itself within a call.
    public private(set) var rank: Int
    public private(set) var size: Int

    public init(_ communicator: any Communicator, mode: Mode = .deterministic) {
        self.communicator = communicator
        self.mode = mode
        (rank, size) = (communicator.rank, communicator.size)
    }

    /// The most ranks a communicator may have.
    public static let maxRanks = 1 << 20
}
