import CMatrix
import CIntrinsics
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// RAdam (Liu et al., 2020: Adam with its variance rectified, as PyTorch's `RAdam` computes
/// it): Adam's m and v; rho_inf = 2 / (1 - beta2) - 1 and
/// rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t), the length of the moving average's
/// approximation. While rho_t <= 5 the variance is not trusted and the step is momentum's,
/// w -= rate / (1 - beta1^t) * m; after,
/// w -= rate * r_t * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon), with
/// r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)), all in
/// Double once per step. Epsilon is added to the uncorrected root (PyTorch's place; unlike
/// Adam's). With beta2 <= 0.6, rho_inf <= 4 and every step is momentum's.
struct RAdamRule: UpdateRule {
    static var slots: Int { 2 }
    var beta1: Float
    var beta2: Float
    var epsilon: Float
    /// PyTorch's decoupled weight decay (`decoupled_weight_decay=True`): w -= rate *
    /// weightDecay * w first, as AdamW's; 0: none. Since 0.10.0.
    var weightDecay: Float = 0

    struct Coefficients {
        var stepSize: Float
        /// rho_t > 5: the adaptive step.
        var rectified: Bool
        /// 1 - rate * weightDecay, as AdamW's.
        var decay: Float
    }

    func coefficients(rate: Float, step: Int) -> Coefficients {
        let t = Double(step), b2 = Double(beta2)
        let correction1 = 1 - pow(Double(beta1), t)
        let power2 = pow(b2, t), correction2 = 1 - power2
        let rhoInfinity = 2 / (1 - b2) - 1
        let rho = rhoInfinity - 2 * t * power2 / correction2
        let decay = 1 - rate * weightDecay
        guard rho > 5 else { return Coefficients(stepSize: Float(Double(rate) / correction1), rectified: false, decay: decay) }
        let rectification = ((rho - 4) * (rho - 2) * rhoInfinity / ((rhoInfinity - 4) * (rhoInfinity - 2) * rho)).squareRoot()
        return Coefficients(
            stepSize: Float(Double(rate) * rectification * correction2.squareRoot() / correction1), rectified: true,
            decay: decay)
    }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ m: inout Lanes, _ v: inout Lanes, _ unused: inout Lanes, _ c: Coefficients) -> Lanes {
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        let direction = c.rectified ? m / (minibatch_sqrt16(v) + epsilon) : m
        let decayed = weightDecay == 0 ? w : w * c.decay
        return decayed - c.stepSize * direction
    }
}

extension RAdamRule {
    /// `apply` through `mbm_radam` (Sources/CMatrix/update.c): the same operations in the
    /// same order at the CPU's vector width, so bit-identical (OptimizerTests), as Adam's.
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let c = coefficients(rate: rate, step: step)
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_radam(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1,
                b.state.0 + lower, b.state.1 + lower, b.stateOut.0 + lower, b.stateOut.1 + lower,
                l2, terms.scale, terms.clip, terms.decay, beta1, beta2, epsilon, c.stepSize, c.rectified ? 1 : 0,
                c.decay, weightDecay == 0 ? 0 : 1)
        }
    }
}
