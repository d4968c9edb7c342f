import CMiniBatch
import MiniBatch

// MARK: - C values to engine values, each checked

/// The engine enum whose raw value is a C enum's value, or an error naming the argument.
func convert<T: RawRepresentable>(_ raw: UInt32, _ name: String, to type: T.Type) throws(MiniBatchError) -> T
where T.RawValue == Int {
    guard let value = T(rawValue: Int(raw)) else {
        // C enums are signed ints: -1 arrives as 4294967295.
        throw MiniBatchError(.invalidArgument, "\(name) has no such value: \(Int32(bitPattern: raw))")
    }
    return value
}

func convert(_ value: mb_activation, _ name: String) throws(MiniBatchError) -> Activation {
    try convert(value.rawValue, name, to: Activation.self)
}

func convert(_ value: mb_loss) throws(MiniBatchError) -> Loss { try convert(value.rawValue, "loss", to: Loss.self) }

func convert(_ value: mb_init) throws(MiniBatchError) -> Initialization {
    try convert(value.rawValue, "init", to: Initialization.self)
}

func convert(_ value: mb_last_batch) throws(MiniBatchError) -> LastBatch {
    try convert(value.rawValue, "last_batch", to: LastBatch.self)
}

func cValue(_ loss: Loss) -> mb_loss { mb_loss(rawValue: UInt32(loss.rawValue)) }
func cValue(_ activation: Activation) -> mb_activation { mb_activation(rawValue: UInt32(activation.rawValue)) }

/// The training data of an entry point: X, y and its type, m and n_features.
func dataView(
    _ x: UnsafePointer<Float>?, _ y: UnsafeRawPointer?, _ yType: mb_targets,
    _ m: Int64, _ nFeatures: Int64
) throws(MiniBatchError) -> DataView {
    let x = try required(x, "x")
    let y = try required(y, "y")
    let targets: Targets
    switch yType {
    case MB_TARGETS_FLOAT32: targets = .values(y.assumingMemoryBound(to: Float.self))
    case MB_TARGETS_CLASS_INDEX: targets = .classes(y.assumingMemoryBound(to: Int32.self))
    default: throw MiniBatchError(.invalidArgument, "y_type has no such value: \(Int32(bitPattern: yType.rawValue))")
    }
    return DataView(x: x, targets: targets, count: Int(m), features: Int(nFeatures))
}
