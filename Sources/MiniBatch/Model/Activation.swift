import CMatrix

/// A hidden layer's activation g, applied element-wise.
public enum Activation: Int, Sendable, CaseIterable {
    /// g(z) = z
    case linear = 0
    /// g(z) = max(z, 0); g'(0) = 0
    case relu = 1
    /// g(z) = tanh z
    case tanh = 2
    /// g(z) = 1 / (1 + e^-z)
    case sigmoid = 3
}

// MARK: - Forward and backward

extension Activation {
    /// a = g(z + bias), in place: `za` holds z on entry and a on return. ReLU and linear run
    /// the C loops of `layers.h` (the CPU's vector width), bit-identical to `forwardPlain`.
    /// - Parameters:
    ///   - za: (rows, width), row-major.
    ///   - bias: (width).
    func forward(_ za: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, width: Int) {
        switch self {
        case .relu: mbm_bias_relu(za, bias, rows, width)
        case .linear: mbm_bias_add(za, bias, rows, width)
        case .tanh, .sigmoid: forwardPlain(za, bias: bias, rows: rows, width: width)
        }
    }

    /// `forward`, the readable form.
    func forwardPlain(_ za: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, width: Int) {
        for r in 0..<rows {
            let row = za + r * width
            switch self {
            case .linear:
                for j in 0..<width { row[j] = row[j] + bias[j] }
            case .relu:
                for j in 0..<width { row[j] = max(row[j] + bias[j], 0) }
            case .tanh:
                for j in 0..<width { row[j] = _tanh(row[j] + bias[j]) }
            case .sigmoid:
                for j in 0..<width { row[j] = logistic(row[j] + bias[j]) }
            }
        }
    }

    /// dz = da * g'(z), in place: `dza` holds da on entry and dz on return. The derivative
    /// is computed from the activation's output a, which is all the forward pass keeps.
    /// - Parameters:
    ///   - dza: (count) gradients with respect to the activation's output.
    ///   - a: (count) the activation's output from the forward pass.
    /// ReLU runs the C loop of `layers.h`, bit-identical to `backwardPlain`.
    func backward(_ dza: UnsafeMutablePointer<Float>, output a: UnsafePointer<Float>, count: Int) {
        if self == .relu {
            mbm_relu_backward(dza, a, count)
        } else {
            backwardPlain(dza, output: a, count: count)
        }
    }

    /// `backward`, the readable form.
    func backwardPlain(_ dza: UnsafeMutablePointer<Float>, output a: UnsafePointer<Float>, count: Int) {
        switch self {
        case .linear:
            return
        case .relu:
            // Both values loaded before the choice: a select that vectorises, where a load
            // under the condition compiles to a branch mispredicted for half the units.
            for i in 0..<count {
                let d = dza[i]
                dza[i] = a[i] > 0 ? d : 0
            }
        case .tanh:
            for i in 0..<count { dza[i] = dza[i] * (1 - a[i] * a[i]) }
        case .sigmoid:
            for i in 0..<count { dza[i] = dza[i] * (a[i] * (1 - a[i])) }
        }
    }
}

/// The logistic function, without overflow for large |z|.
@inline(__always)
func logistic(_ z: Float) -> Float {
    if z >= 0 { return 1 / (1 + _exp(-z)) }
    let e = _exp(z)
    return e / (1 + e)
}
