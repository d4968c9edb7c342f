import CIntrinsics
import CMatrix

/// RMSprop (PyTorch's `RMSprop` without momentum or centring; `RMSpropGeneralRule` has
/// them): v = rho * v + (1 - rho) * g^2; w -= rate * g / (sqrt(v) + epsilon). Epsilon is
/// added outside the square root (as PyTorch; TensorFlow adds it inside).
struct RMSpropRule: UpdateRule {
    static var slots: Int { 1 }
    var rho: Float
    var epsilon: Float

    func coefficients(rate: Float, step: Int) -> Float { rate }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ v: inout Lanes, _ unused: inout Lanes, _ unused2: inout Lanes, _ rate: Float) -> Lanes {
        v = rho * v + (1 - rho) * g * g
        return w - rate * g / (minibatch_sqrt16(v) + epsilon)
    }
}

extension RMSpropRule {
    /// `apply` through `mbm_rmsprop` (Sources/CMatrix/update.c): the same operations in the
    /// same order at the CPU's vector width, so bit-identical (OptimizerTests), as Adam's.
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let rate = coefficients(rate: rate, step: step)
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_rmsprop(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1, b.state.0 + lower,
                b.stateOut.0 + lower, l2, terms.scale, terms.clip, terms.decay, rho, epsilon, rate)
        }
    }
}

/// Which of RMSprop's options a `RMSpropGeneralRule` has: the slots follow (v, then g's
/// average when centred, then the momentum buffer).
protocol RMSpropVariant {
    static var centered: Bool { get }
    static var momentum: Bool { get }
}

enum RMSpropCentered: RMSpropVariant {
    static var centered: Bool { true }
    static var momentum: Bool { false }
}

enum RMSpropMomentum: RMSpropVariant {
    static var centered: Bool { false }
    static var momentum: Bool { true }
}

enum RMSpropCenteredMomentum: RMSpropVariant {
    static var centered: Bool { true }
    static var momentum: Bool { true }
}

/// RMSprop with centring and/or momentum (PyTorch's `RMSprop(centered=True, momentum=mu)`):
/// v = rho * v + (1 - rho) * g^2; centred, a = rho * a + (1 - rho) * g and the root is
/// sqrt(max(v - a^2, 0)) (an estimate of the gradient's variance rather than its second
/// moment; v >= a^2 in exact arithmetic, and rounding can take the difference below 0 when
/// a parameter's gradient barely changes, where PyTorch's root is NaN), else sqrt(v); with
/// d = root + epsilon, momentum: b = mu * b + g / d; w -= rate * b, else w -= rate * g / d.
struct RMSpropGeneralRule<Variant: RMSpropVariant>: UpdateRule {
    static var slots: Int { 1 + (Variant.centered ? 1 : 0) + (Variant.momentum ? 1 : 0) }
    var rho: Float
    var epsilon: Float
    /// mu > 0 with momentum; 0 without.
    var momentum: Float

    func coefficients(rate: Float, step: Int) -> Float { rate }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ v: inout Lanes, _ s1: inout Lanes, _ s2: inout Lanes, _ rate: Float) -> Lanes {
        v = rho * v + (1 - rho) * g * g
        var spread = v
        if Variant.centered {
            s1 = rho * s1 + (1 - rho) * g
            spread = v - s1 * s1
            spread = spread.replacing(with: 0, where: spread .< 0)
        }
        let d = minibatch_sqrt16(spread) + epsilon
        guard Variant.momentum else { return w - rate * g / d }
        if Variant.centered {
            s2 = momentum * s2 + g / d
            return w - rate * s2
        }
        s1 = momentum * s1 + g / d
        return w - rate * s1
    }
}

extension RMSpropGeneralRule {
    /// `apply` through `mbm_rmsprop_general` (Sources/CMatrix/update.c): the same operations
    /// in the same order at the CPU's vector width, so bit-identical (OptimizerTests).
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let rate = coefficients(rate: rate, step: step)
        // The slots after v: g's average (centred) and the buffer (momentum), in that order.
        let average = Variant.centered ? (b.state.1, b.stateOut.1) : (nil, nil)
        let buffer = Variant.momentum ? (Variant.centered ? (b.state.2, b.stateOut.2) : (b.state.1, b.stateOut.1)) : (nil, nil)
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_rmsprop_general(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1, b.state.0 + lower,
                average.0.map { $0 + lower }, buffer.0.map { $0 + lower }, b.stateOut.0 + lower,
                average.1.map { $0 + lower }, buffer.1.map { $0 + lower }, l2, terms.scale, terms.clip, terms.decay, rho, epsilon,
                rate, Variant.centered ? 1 : 0, Variant.momentum ? momentum : 0)
        }
    }
}
