import CMiniBatch
import MiniBatch

// MARK: - C values to engine values, each checked

func convert(_ value: mb_activation, _ name: String) throws(MiniBatchError) -> Activation {
    guard let activation = Activation(rawValue: Int(value.rawValue)) else {
        throw MiniBatchError(.invalidArgument, "\(name) has no such activation: \(value.rawValue)")
    }
    return activation
}

func convert(_ value: mb_loss) throws(MiniBatchError) -> Loss {
    guard let loss = Loss(rawValue: Int(value.rawValue)) else {
        throw MiniBatchError(.invalidArgument, "loss has no such value: \(value.rawValue)")
    }
    return loss
}

func convert(_ value: mb_init) throws(MiniBatchError) -> Initialization {
    guard let initialization = Initialization(rawValue: Int(value.rawValue)) else {
        throw MiniBatchError(.invalidArgument, "init has no such value: \(value.rawValue)")
    }
    return initialization
}

func convert(_ value: mb_last_batch) throws(MiniBatchError) -> LastBatch {
    guard let policy = LastBatch(rawValue: Int(value.rawValue)) else {
        throw MiniBatchError(.invalidArgument, "last_batch has no such value: \(value.rawValue)")
    }
    return policy
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
    default: throw MiniBatchError(.invalidArgument, "y_type has no such value: \(yType.rawValue)")
    }
    return DataView(x: x, targets: targets, count: Int(m), features: Int(nFeatures))
}
