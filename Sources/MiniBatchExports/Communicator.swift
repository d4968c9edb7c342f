import CMiniBatch
import MiniBatch

/// An `mb_communicator` of the C API as the engine's `Communicator`: its function
/// pointers, called with its user data; a nonzero return is `.communication`.
final class CCommunicator: Communicator, @unchecked Sendable {
    let rank: Int
    let size: Int
    private let c: mb_communicator

    /// Copies `pointer`'s fields (the caller's struct_size of them), checked.
    init(_ pointer: UnsafePointer<mb_communicator>) throws(MiniBatchError) {
        let given = pointer.pointee.struct_size
        guard given >= MemoryLayout<mb_communicator>.size else {
            throw .init(.invalidArgument, "communicator->struct_size is \(given): set it to sizeof(mb_communicator)")
        }
        c = pointer.pointee
        guard c.allreduce_sum != nil, c.allgather != nil, c.broadcast != nil else {
            throw .init(.invalidArgument, "communicator: allreduce_sum, allgather and broadcast must all be set")
        }
        rank = Int(c.rank)
        size = Int(c.size)
    }

    private func check(_ result: Int32, _ name: String) throws(MiniBatchError) {
        guard result == 0 else {
            throw .init(.communication, "the communicator's \(name) failed on rank \(rank) (it returned \(result))")
        }
    }

    func allreduceSum(_ data: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) {
        try check(c.allreduce_sum(data.baseAddress, Int64(data.count), c.user_data), "allreduce_sum")
    }

    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws(MiniBatchError) {
        try check(c.allgather(send.baseAddress, receive.baseAddress, Int64(send.count), c.user_data), "allgather")
    }

    func broadcast(_ data: UnsafeMutableRawBufferPointer, root: Int) throws(MiniBatchError) {
        try check(c.broadcast(data.baseAddress, Int64(data.count), Int32(root), c.user_data), "broadcast")
    }
}
