import CIntrinsics
import CMatrix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Adamax (Kingma and Ba, section 7.1: Adam with the infinity norm, as PyTorch's `Adamax`
/// computes it): m = beta1 * m + (1 - beta1) * g; u = max(beta2 * u, |g| + epsilon);
/// w -= (rate / (1 - beta1^t)) * m / u, t the step (from 1), the bias correction computed in
/// Double once per step. Epsilon is added to |g| inside the maximum (PyTorch's place; Keras
/// adds it to u in the quotient), so u > 0 from the first step on.
struct AdamaxRule: UpdateRule {
    static var slots: Int { 2 }
    var beta1: Float
    var beta2: Float
    var epsilon: Float

    func coefficients(rate: Float, step: Int) -> Float {
        Float(Double(rate) / (1 - pow(Double(beta1), Double(step))))
    }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ m: inout Lanes, _ u: inout Lanes, _ unused: inout Lanes, _ stepSize: Float) -> Lanes {
        m = beta1 * m + (1 - beta1) * g
        // |g| as g with its sign bit cleared; the larger as `decayed < candidate ? candidate
        // : decayed`, lane by lane (the C loop's form, so that both pick the same lane).
        let magnitude = unsafeBitCast(unsafeBitCast(g, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: Lanes.self)
        let decayed = beta2 * u, candidate = magnitude + epsilon
        u = decayed.replacing(with: candidate, where: decayed .< candidate)
        return w - stepSize * (m / u)
    }
}

extension AdamaxRule {
    /// `apply` through `mbm_adamax` (Sources/CMatrix/update.c): the same operations in the
    /// same order at the CPU's vector width, so bit-identical (OptimizerTests), as Adam's.
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let stepSize = coefficients(rate: rate, step: step)
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_adamax(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1,
                b.state.0 + lower, b.state.1 + lower, b.stateOut.0 + lower, b.stateOut.1 + lower,
                l2, terms.scale, terms.clip, terms.decay, beta1, beta2, epsilon, stepSize)
        }
    }
}
