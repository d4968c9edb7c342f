import CIntrinsics
import CMatrix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Adam (Kingma and Ba, Algorithm 1, as PyTorch's `Adam` computes it):
/// m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
/// w -= (rate / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon),
/// t the step (from 1), the bias corrections computed in Double once per step. Epsilon is
/// added to the bias-corrected square root (the paper's form; Keras and scikit-learn add
/// it before the correction, which makes it larger in early steps).
///
/// With `weightDecay` > 0 it is AdamW (Loshchilov and Hutter, as PyTorch's `AdamW`):
/// w -= rate * weightDecay * w first, on every parameter, decoupled from the gradient.
struct AdamRule: UpdateRule {
    static var slots: Int { 2 }
    var beta1: Float
    var beta2: Float
    var epsilon: Float
    var weightDecay: Float = 0

    struct Coefficients {
        var stepSize: Float
        /// 1 / sqrt(1 - beta2^t): a product per parameter instead of a quotient (PyTorch
        /// divides; the results differ in the last bit at most).
        var inverseCorrection2Root: Float
        var decay: Float
    }

    func coefficients(rate: Float, step: Int) -> Coefficients {
        let t = Double(step)
        let correction1 = 1 - pow(Double(beta1), t)
        let correction2 = 1 - pow(Double(beta2), t)
        return Coefficients(
            stepSize: Float(Double(rate) / correction1),
            inverseCorrection2Root: Float(1 / correction2.squareRoot()),
            decay: 1 - rate * weightDecay)
    }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ m: inout Lanes, _ v: inout Lanes, _ unused: inout Lanes, _ c: Coefficients) -> Lanes {
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        let decayed = weightDecay == 0 ? w : w * c.decay
        return decayed - c.stepSize * (m / (minibatch_sqrt16(v) * c.inverseCorrection2Root + epsilon))
    }
}

/// AMSGrad (Reddi, Kale and Kumar, 2018, as PyTorch's `Adam(amsgrad=True)` and
/// `AdamW(amsgrad=True)` compute it): Adam's m and v, and their running maximum
/// vmax = max(vmax, v) in the denominator, w -= (rate / (1 - beta1^t)) * m /
/// (sqrt(vmax) / sqrt(1 - beta2^t) + epsilon), so that no parameter's step grows because its
/// recent gradients were smaller than its earlier ones. Adam's coefficients, decay included.
struct AMSGradRule: UpdateRule {
    static var slots: Int { 3 }
    var adam: AdamRule

    func coefficients(rate: Float, step: Int) -> AdamRule.Coefficients { adam.coefficients(rate: rate, step: step) }

    @inline(__always)
    func next(
        _ w: Lanes, _ g: Lanes, _ m: inout Lanes, _ v: inout Lanes, _ vmax: inout Lanes, _ c: AdamRule.Coefficients
    ) -> Lanes {
        m = adam.beta1 * m + (1 - adam.beta1) * g
        v = adam.beta2 * v + (1 - adam.beta2) * g * g
        // `vmax < v ? v : vmax`, lane by lane (the C loop's form).
        vmax = vmax.replacing(with: v, where: vmax .< v)
        let decayed = adam.weightDecay == 0 ? w : w * c.decay
        return decayed - c.stepSize * (m / (minibatch_sqrt16(vmax) * c.inverseCorrection2Root + adam.epsilon))
    }
}

extension AdamRule {
    /// `apply` through `mbm_adam` (Sources/CMatrix/update.c): the same operations in the
    /// same order, compiled for the CPU's vector width (AVX-512 here, where the Swift loop
    /// gets SSE's four lanes), so bit-identical (OptimizerTests). Adam's square root and
    /// quotient per parameter made its epoch 1.4x plain gradient descent's through the
    /// Swift loop; see bench/rules.py for the figures with this path.
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let c = coefficients(rate: rate, step: step)
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_adam(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1,
                b.state.0 + lower, b.state.1 + lower, b.stateOut.0 + lower, b.stateOut.1 + lower,
                l2, terms.scale, terms.clip, terms.decay, beta1, beta2, epsilon, c.stepSize, c.inverseCorrection2Root, c.decay,
                weightDecay == 0 ? 0 : 1)
        }
    }
}

extension AMSGradRule {
    /// `apply` through `mbm_amsgrad` (Sources/CMatrix/update.c): the same operations in the
    /// same order at the CPU's vector width, so bit-identical (OptimizerTests), as Adam's.
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let c = coefficients(rate: rate, step: step), a = adam
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_amsgrad(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1,
                b.state.0 + lower, b.state.1 + lower, b.state.2 + lower,
                b.stateOut.0 + lower, b.stateOut.1 + lower, b.stateOut.2 + lower,
                l2, terms.scale, terms.clip, terms.decay, a.beta1, a.beta2, a.epsilon, c.stepSize, c.inverseCorrection2Root, c.decay,
                a.weightDecay == 0 ? 0 : 1)
        }
    }
}
