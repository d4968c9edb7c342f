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
    /// g(z) = z Phi(z), Phi the standard normal distribution function (PyTorch's `GELU()`,
    /// the exact form; Phi from erfc since 0.9.0, accurate in the lower tail where
    /// PyTorch's 1 + erf cancels: `normalDistribution`). Since 0.5.0
    case gelu = 7
    /// g(z) = z sigma(z) (PyTorch's `SiLU()`, Keras's `swish`). Since 0.5.0
    case silu = 8

    /// Whether the derivative needs z, which training then keeps beside a (GELU, SiLU);
    /// the others' derivatives are functions of a.
    var needsPreactivation: Bool { self == .gelu || self == .silu }

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
    /// the C loops of `layers.h` (the CPU's vector width), bit-identical to `forwardPlain`;
    /// tanh, sigmoid and GELU its vector math (`mbm_bias_tanh`, `mbm_bias_sigmoid`,
    /// `mbm_bias_gelu`: glibc's vector tanhf, expf and erfcf where it has them: tanh within 3
    /// ulp of `forwardPlain`, the logistic and GELU within 4, measured with glibc 2.36 and
    /// tested on sweeps; measured on an AMD Zen 4, a tanh network's epoch was 1.49 x
    /// scikit-learn's with scalar tanhf, a GELU one 2.4 x its vector form's); since 0.10.0
    /// SiLU, ELU and SELU too (`mbm_bias_silu`, `mbm_bias_elu`: expf and expm1f; SiLU within
    /// 5 ulp, ELU and SELU 2; their epochs 1.7-2.0 x faster on the Zen 4, README "Hidden
    /// activations").
    /// - Parameters:
    ///   - za: (rows, width), row-major.
    ///   - bias: (width).
    ///   - keeping: where z (bias added) is written for the backward pass of an activation
    ///     that `needsPreactivation` (training), (rows, width); nil: not kept.
    func forward(
        _ za: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, width: Int,
        keeping: UnsafeMutablePointer<Float>? = nil
    ) {
        switch self {
        case .relu: mbm_bias_relu(za, bias, rows, width)
        case .linear: mbm_bias_add(za, bias, rows, width)
        case .tanh: mbm_bias_tanh(za, bias, rows, width)
        case .sigmoid: mbm_bias_sigmoid(za, bias, rows, width)
        case .gelu: mbm_bias_gelu(za, bias, rows, width, keeping)
        case .silu: mbm_bias_silu(za, bias, rows, width, keeping)
        case .elu: mbm_bias_elu(za, bias, rows, width, 1, 1)
        case .selu: mbm_bias_elu(za, bias, rows, width, Activation.seluLambda, Activation.seluLambdaAlpha)
        case .leakyRelu:
            forwardPlain(za, bias: bias, rows: rows, width: width, keeping: keeping)
        }
    }

    /// `forward`, the readable form.
    func forwardPlain(
        _ za: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, width: Int,
        keeping: UnsafeMutablePointer<Float>? = nil
    ) {
        for r in 0..<rows {
            let row = za + r * width
            if needsPreactivation {
                let kept = keeping.map { $0 + r * width }
                for j in 0..<width {
                    let z = row[j] + bias[j]
                    kept?[j] = z
                    row[j] = self == .gelu ? z * normalDistribution(z) : z * logistic(z)
                }
                continue
            }
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
            case .gelu, .silu:
                break  // (above)
            }
        }
    }

    /// dz = da * g'(z), in place: `dza` holds da on entry and dz on return. The derivative
    /// is computed from the activation's output a, or from z for those that
    /// `needsPreactivation` (GELU, SiLU), which training keeps for them.
    /// - Parameters:
    ///   - dza: (count) gradients with respect to the activation's output.
    ///   - a: (count) the activation's output from the forward pass.
    ///   - z: (count) its input (bias added), kept by `forward(keeping:)`; needed (only) where
    ///     `needsPreactivation`.
    /// ReLU runs the C loop of `layers.h`, bit-identical to `backwardPlain`; GELU and SiLU
    /// its vector math (`mbm_gelu_backward`, `mbm_silu_backward`: within about 7.5 and 22 x
    /// 2^-24 of their terms' size, measured).
    func backward(
        _ dza: UnsafeMutablePointer<Float>, output a: UnsafePointer<Float>, preactivation z: UnsafePointer<Float>? = nil,
        count: Int
    ) {
        if self == .relu {
            mbm_relu_backward(dza, a, count)
        } else if self == .gelu, let z {
            mbm_gelu_backward(dza, z, count)
        } else if self == .silu, let z {
            mbm_silu_backward(dza, z, count)
        } else {
            backwardPlain(dza, output: a, preactivation: z, count: count)
        }
    }

    /// `backward`, the readable form.
    func backwardPlain(
        _ dza: UnsafeMutablePointer<Float>, output a: UnsafePointer<Float>, preactivation z: UnsafePointer<Float>? = nil,
        count: Int
    ) {
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
        case .gelu:
            // g'(z) = Phi(z) + z phi(z) (PyTorch's GELU backward)
            guard let z else { preconditionFailure("GELU's backward needs z (forward(keeping:))") }
            for i in 0..<count { dza[i] = dza[i] * (normalDistribution(z[i]) + z[i] * normalDensity(z[i])) }
        case .silu:
            // g'(z) = sigma(z) (1 + z (1 - sigma(z))) (PyTorch's SiLU backward)
            guard let z else { preconditionFailure("SiLU's backward needs z (forward(keeping:))") }
            for i in 0..<count {
                let s = logistic(z[i])
                dza[i] = dza[i] * (s * (1 + z[i] * (1 - s)))
            }
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

/// Phi(z) = erfc(-z / sqrt 2) / 2, the standard normal distribution function. PyTorch's
/// GELU writes it (1 + erf(z / sqrt 2)) / 2, equal in exact arithmetic, but in float 1 + erf
/// loses Phi's digits as z falls below -3 (at z = -5.5 one ulp of 1 is left, 57 % above
/// Phi; below -5.6 nothing: GELU(z) = -0, its derivative z phi alone, 3 % off at -6). erfc
/// keeps Phi's relative accuracy in the lower tail; there (z < -3) its argument is formed
/// in double, since erfc's slope magnifies the float rounding of z / sqrt 2 by about z^2
/// (1e-5 at z = -12 in float). GELU's value follows a double-precision reference to 2e-6
/// and its derivative to 1e-5 from z = -12 to 12 (`GELUTailTests`).
@inline(__always)
func normalDistribution(_ z: Float) -> Float {
    if z < -3 { return Float(0.5 * _erfc(-Double(z) * 0.5.squareRoot())) }
    return 0.5 * _erfc(-z * Float(0.5.squareRoot()))
}

/// phi(z) = e^(-z^2 / 2) / sqrt(2 pi), the standard normal density.
@inline(__always)
func normalDensity(_ z: Float) -> Float { _exp(-0.5 * z * z) * Float(1 / (2 * Double.pi).squareRoot()) }
