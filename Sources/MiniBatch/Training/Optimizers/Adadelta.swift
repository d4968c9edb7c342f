import CIntrinsics
import CMatrix

/// Adadelta (Zeiler, 2012, as PyTorch's `Adadelta` computes it): v = rho * v + (1 - rho) *
/// g^2; d = sqrt(u + epsilon) / sqrt(v + epsilon) * g; u = rho * u + (1 - rho) * d^2 (from
/// the old u); w -= rate * d. Two floats of state per parameter (v and u), no step count.
/// PyTorch's defaults are rho 0.9, epsilon 1e-6 and a learning rate of 1 (the rate scales
/// the unit-corrected step). Since 0.11.0.
struct AdadeltaRule: UpdateRule {
    static var slots: Int { 2 }
    var rho: Float
    var epsilon: Float

    func coefficients(rate: Float, step: Int) -> Float { rate }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ v: inout Lanes, _ u: inout Lanes, _ unused: inout Lanes, _ rate: Float) -> Lanes {
        v = rho * v + (1 - rho) * g * g
        let delta = minibatch_sqrt16(u + epsilon) / minibatch_sqrt16(v + epsilon) * g
        u = rho * u + (1 - rho) * delta * delta
        return w - rate * delta
    }
}

extension AdadeltaRule {
    /// `apply` through `mbm_adadelta` (Sources/CMatrix/update.c): the same operations in
    /// the same order at the CPU's vector width, so bit-identical (OptimizerTests).
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_adadelta(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1,
                b.state.0 + lower, b.state.1 + lower, b.stateOut.0 + lower, b.stateOut.1 + lower,
                l2, terms.scale, terms.clip, terms.decay, rho, epsilon, rate)
        }
    }
}
