import CMiniBatch
import MiniBatch

// MARK: - Opaque handles: a retained Swift object behind each C pointer

/// The C handle of a new network: one retain, released by `mb_model_free`.
func handle(_ network: Network) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(network).toOpaque())
}

/// The network behind a model handle, or an error naming the argument.
func network(_ model: OpaquePointer?, _ name: String = "model") throws(MiniBatchError) -> Network {
    Unmanaged<Network>.fromOpaque(UnsafeRawPointer(try required(model, name))).takeUnretainedValue()
}

func handle(_ history: History) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(history).toOpaque())
}

func history(_ pointer: OpaquePointer?, _ name: String = "history") throws(MiniBatchError) -> History {
    Unmanaged<History>.fromOpaque(UnsafeRawPointer(try required(pointer, name))).takeUnretainedValue()
}

func handle(_ interrupt: TrainingInterrupt) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(interrupt).toOpaque())
}

func interrupt(_ pointer: OpaquePointer?, _ name: String = "interrupt") throws(MiniBatchError) -> TrainingInterrupt {
    Unmanaged<TrainingInterrupt>.fromOpaque(UnsafeRawPointer(try required(pointer, name))).takeUnretainedValue()
}

func release<T: AnyObject>(_ pointer: OpaquePointer?, as type: T.Type) {
    guard let pointer else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(pointer)).release()
}
