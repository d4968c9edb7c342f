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
            throw .init(.invalidArgument, "communicator->struct_size is \(Validate.asSize(given)): set it to sizeof(mb_communicator)")
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

@c @implementation
public func mb_train_fail(
    _ communicator: UnsafePointer<mb_communicator>?, _ status: mb_status, _ message: UnsafePointer<CChar>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let c = try CCommunicator(required(communicator, "communicator"))
        guard status != MB_OK, let kind = MiniBatchError.Kind(rawValue: Int(status.rawValue)) else {
            throw .init(.invalidArgument, "status must be an error status (1...9), got \(Int32(bitPattern: status.rawValue))")
        }
        try Distribution(c).failTraining(MiniBatchError(kind, message.map(failureText) ?? "the training call was not made"))
    }
}

/// The first bytes of a failure's message that the ranks' exchange carries (1,016), read
/// without looking past them for the terminating NUL.
private func failureText(_ message: UnsafePointer<CChar>) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(64)
    var p = message
    while p.pointee != 0 && bytes.count < 1016 {
        bytes.append(UInt8(bitPattern: p.pointee))
        p += 1
    }
    return String(decoding: bytes, as: UTF8.self)
}
