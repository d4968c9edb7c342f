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
    /// g(z) = z for z > 0, else 0.01 z (PyTorch's `LeakyReLU()`, Keras's `leaky_relu` with
    /// that slope); g'(0) = 0.01. Since 0.5.0
    case leakyRelu = 4
    /// g(z) = z for z > 0, else e^z - 1 (PyTorch's `ELU()`, alpha = 1). Since 0.5.0
    case elu = 5
    /// g(z) = lambda z for z > 0, else lambda alpha (e^z - 1), with PyTorch's `SELU`
    /// constants (`seluLambda`, `seluAlpha`; Klambauer et al., 2017). Since 0.5.0
    case selu = 6

    /// Leaky ReLU's slope below 0.
    static let leakySlope: Float = 0.01
    /// SELU's scale and alpha (PyTorch's and the paper's), rounded to float.
    static let seluLambda: Float = 1.0507009873554804934193349852946
    static let seluAlpha: Float = 1.6732632423543772848170429916717
    /// lambda alpha, rounded to float once.
    static let seluLambdaAlpha = Float(1.0507009873554804934193349852946 * 1.6732632423543772848170429916717)
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
        case .tanh, .sigmoid, .leakyRelu, .elu, .selu: forwardPlain(za, bias: bias, rows: rows, width: width)
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
            case .leakyRelu:
                for j in 0..<width {
                    let z = row[j] + bias[j]
                    row[j] = z > 0 ? z : Activation.leakySlope * z
                }
            case .elu:
                for j in 0..<width {
                    let z = row[j] + bias[j]
                    row[j] = z > 0 ? z : _expm1(z)
                }
            case .selu:
                for j in 0..<width {
                    let z = row[j] + bias[j]
                    row[j] = z > 0 ? Activation.seluLambda * z : Activation.seluLambdaAlpha * _expm1(z)
                }
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
        case .leakyRelu:
            // a > 0 exactly where z > 0 (the slope keeps the sign).
            for i in 0..<count { dza[i] = dza[i] * (a[i] > 0 ? 1 : Activation.leakySlope) }
        case .elu:
            // Below 0, g'(z) = e^z = a + 1.
            for i in 0..<count { dza[i] = dza[i] * (a[i] > 0 ? 1 : a[i] + 1) }
        case .selu:
            // Below 0, g'(z) = lambda alpha e^z = a + lambda alpha.
            for i in 0..<count { dza[i] = dza[i] * (a[i] > 0 ? Activation.seluLambda : a[i] + Activation.seluLambdaAlpha) }
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
