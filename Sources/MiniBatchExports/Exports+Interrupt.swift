import CMiniBatch
import MiniBatch

// MARK: - Stopping a training from outside (TrainingInterrupt)

@c @implementation
public func mb_interrupt_create(_ interrupt: UnsafeMutablePointer<OpaquePointer?>?) -> mb_status {
    run { () throws(MiniBatchError) in
        try required(interrupt, "interrupt").pointee = handle(TrainingInterrupt())
    }
}

@c @implementation
public func mb_interrupt_free(_ interrupt: OpaquePointer?) {
    release(interrupt, as: TrainingInterrupt.self)
}

/// Async-signal-safe: no allocation, no lock, no retain (the object is not retained or
/// released here), one atomic store.
@c @implementation
public func mb_interrupt_request_stop(_ interrupt: OpaquePointer?) {
    guard let interrupt else { return }
    Unmanaged<TrainingInterrupt>.fromOpaque(UnsafeRawPointer(interrupt))._withUnsafeGuaranteedRef { $0.requestStop() }
}

@c @implementation
public func mb_interrupt_clear(_ interrupt: OpaquePointer?) {
    guard let interrupt else { return }
    Unmanaged<TrainingInterrupt>.fromOpaque(UnsafeRawPointer(interrupt))._withUnsafeGuaranteedRef { $0.clear() }
}

@c @implementation
public func mb_interrupt_is_requested(_ interrupt: OpaquePointer?) -> Int32 {
    guard let interrupt else { return 0 }
    return Unmanaged<TrainingInterrupt>.fromOpaque(UnsafeRawPointer(interrupt))._withUnsafeGuaranteedRef {
        $0.isStopRequested ? 1 : 0
    }
}

@c @implementation
public func mb_interrupt_counts(
    _ pointer: OpaquePointer?, _ batches_done: UnsafeMutablePointer<Int64>?,
    _ examples_done: UnsafeMutablePointer<Int64>?, _ batches_per_epoch: UnsafeMutablePointer<Int64>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let interrupt = try interrupt(pointer)
        batches_done?.pointee = Int64(interrupt.batchesDone)
        examples_done?.pointee = Int64(interrupt.examplesDone)
        batches_per_epoch?.pointee = Int64(interrupt.batchesPerEpoch)
    }
}
