import CIntrinsics
import CMatrix

/// RMSprop (PyTorch's `RMSprop` without momentum or centring): v = rho * v + (1 - rho) * g^2;
/// w -= rate * g / (sqrt(v) + epsilon). Epsilon is added outside the square root (as
/// PyTorch; TensorFlow adds it inside).
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
                b.stateOut.0 + lower, l2, terms.scale, terms.clip, rho, epsilon, rate)
        }
    }
}
