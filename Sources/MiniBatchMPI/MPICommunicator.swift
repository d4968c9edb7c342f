import CMPI
import MiniBatch

/// A `Communicator` over MPI (the same collectives as libminibatch_mpi's
/// `mb_mpi_communicator`: MPI_Allreduce on floats with MPI_SUM in place, MPI_Allgather of
/// bytes, MPI_Bcast; counts beyond Int32.max sent in pieces), on a duplicate of the
/// communicator it is made from, so that training's messages never mix with the caller's.
///
///     try MPICommunicator.initialize()
///     let world = try MPICommunicator()
///     options.distribution = Distribution(world, mode: .deterministic)
///     try network.train(x: x, classes: y, features: n, options: options)
///     world.free()
///     MPICommunicator.finalize()
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private var comm: MPI_Comm?

    /// The largest count one MPI call takes here; larger buffers go in pieces.
    static let piece = Int(Int32.max / 2)

    /// Initialises MPI (MPI_Init_thread, funneled: training calls MPI from the thread that
    /// called `train`), unless it already is.
    public static func initialize() throws(MiniBatchError) {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        guard initialized == 0 else { return }
        var provided: Int32 = 0
        guard MPI_Init_thread(nil, nil, mbmpi_thread_funneled(), &provided) == MPI_SUCCESS else {
            throw MiniBatchError(.communication, "MPI_Init_thread failed")
        }
    }

    /// Finalises MPI (after every communicator is freed), unless it already is.
    public static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// A communicator over a duplicate of `comm` (MPI_COMM_WORLD by default): collective,
    /// after `initialize`.
    public init(duplicating comm: MPI_Comm? = nil) throws(MiniBatchError) {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        guard initialized != 0 else { throw .init(.invalidArgument, "MPI is not initialised (MPICommunicator.initialize)") }
        var duplicate: MPI_Comm? = nil
        guard MPI_Comm_dup(comm ?? mbmpi_comm_world(), &duplicate) == MPI_SUCCESS else {
            throw .init(.communication, "MPI_Comm_dup failed")
        }
        // MPI's errors on the duplicate are returned (`.communication`) instead of ending the
        // process, MPI's default; the communicator it was made from keeps its own handler.
        guard MPI_Comm_set_errhandler(duplicate, mbmpi_errors_return()) == MPI_SUCCESS else {
            MPI_Comm_free(&duplicate)
            throw .init(.communication, "MPI_Comm_set_errhandler failed")
        }
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(duplicate, &rank)
        MPI_Comm_size(duplicate, &size)
        self.comm = duplicate
        self.rank = Int(rank)
        self.size = Int(size)
    }

    /// Frees the duplicate (collective); training with it afterwards fails. Done by deinit
    /// too, when MPI is still running.
    public func free() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if comm != nil, finalized == 0 { MPI_Comm_free(&comm) }
        comm = nil
    }

    deinit { free() }

    private func check(_ result: Int32, _ name: String) throws(MiniBatchError) {
        guard result == MPI_SUCCESS else { throw .init(.communication, "\(name) failed on rank \(rank) (MPI error \(result))") }
    }

    private func communicator() throws(MiniBatchError) -> MPI_Comm {
        guard let comm else { throw .init(.communication, "the MPI communicator of rank \(rank) was freed") }
        return comm
    }

    public func allreduceSum(_ data: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) {
        let comm = try communicator()
        var done = 0
        while done < data.count {
            let n = min(data.count - done, Self.piece)
            try check(MPI_Allreduce(mbmpi_in_place(), data.baseAddress! + done, Int32(n), mbmpi_float(), mbmpi_sum(), comm),
                      "MPI_Allreduce")
            done += n
        }
    }

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws(MiniBatchError) {
        let comm = try communicator()
        let bytes = send.count
        let (needed, overflow) = bytes.multipliedReportingOverflow(by: size)
        guard !overflow, receive.count >= needed else {
            throw .init(.invalidArgument, "allgather's receive buffer holds \(receive.count) bytes, not \(size) ranks x \(bytes)")
        }
        if bytes <= Self.piece {
            try check(MPI_Allgather(send.baseAddress, Int32(bytes), mbmpi_byte(), receive.baseAddress, Int32(bytes),
                                    mbmpi_byte(), comm), "MPI_Allgather")
            return
        }
        // Blocks over a piece: each rank's block broadcast by its rank, in pieces (rare: a
        // gradient exchange of more than 1 GiB per rank).
        (receive.baseAddress! + rank * bytes).copyMemory(from: send.baseAddress!, byteCount: bytes)
        for r in 0..<size {
            try broadcast(UnsafeMutableRawBufferPointer(start: receive.baseAddress! + r * bytes, count: bytes), root: r)
        }
    }

    public func broadcast(_ data: UnsafeMutableRawBufferPointer, root: Int) throws(MiniBatchError) {
        let comm = try communicator()
        guard root >= 0 && root < size else {
            throw .init(.invalidArgument, "broadcast's root \(root) is not a rank of this communicator (0 ..< \(size))")
        }
        var done = 0
        while done < data.count {
            let n = min(data.count - done, Self.piece)
            try check(MPI_Bcast(data.baseAddress! + done, Int32(n), mbmpi_byte(), Int32(root), comm), "MPI_Bcast")
            done += n
        }
    }
}
