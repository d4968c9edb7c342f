import CIntrinsics
import CMatrix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// NAdam (Dozat, 2016: Adam with Nesterov momentum, as PyTorch's `NAdam` computes it):
/// Adam's m and v; with mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentumDecay)) and
/// P_t = mu_1 * ... * mu_t (`momentumProduct`), d = sqrt(v) / sqrt(1 - beta2^t) + epsilon,
///   w -= rate * (1 - mu_t) / (1 - P_t) * g / d,  then  w -= rate * mu_(t+1) / (1 - P_t * mu_(t+1)) * m / d,
/// the coefficients in Double once per step. Epsilon is added to the bias-corrected root,
/// as Adam's (and PyTorch's NAdam).
struct NAdamRule: UpdateRule {
    static var slots: Int { 2 }
    var beta1: Float
    var beta2: Float
    var epsilon: Float
    var momentumDecay: Double
    /// P_t of the step being applied: `momentumProduct(through: step)`, computed by the
    /// caller (the training step keeps it from one step to the next, `MomentumProducts`).
    var product: Double
    /// PyTorch's decoupled weight decay (`decoupled_weight_decay=True`): w -= rate *
    /// weightDecay * w first, as AdamW's; 0: none. Since 0.10.0.
    var weightDecay: Float = 0

    struct Coefficients {
        /// 1 / sqrt(1 - beta2^t), as Adam's.
        var inverseCorrection2Root: Float
        /// rate * (1 - mu_t) / (1 - P_t): the gradient's part.
        var gradient: Float
        /// rate * mu_(t+1) / (1 - P_t * mu_(t+1)): the momentum's part.
        var momentum: Float
        /// 1 - rate * weightDecay, as AdamW's.
        var decay: Float
    }

    /// mu_t, in Double.
    static func mu(_ t: Int, beta1: Float, momentumDecay: Double) -> Double {
        Double(beta1) * (1 - 0.5 * pow(0.96, Double(t) * momentumDecay))
    }

    func coefficients(rate: Float, step: Int) -> Coefficients {
        let mu = Self.mu(step, beta1: beta1, momentumDecay: momentumDecay)
        let next = Self.mu(step.addingSaturated(1), beta1: beta1, momentumDecay: momentumDecay)
        let r = Double(rate)
        return Coefficients(
            inverseCorrection2Root: Float(1 / (1 - pow(Double(beta2), Double(step))).squareRoot()),
            gradient: Float(r * (1 - mu) / (1 - product)),
            momentum: Float(r * next / (1 - product * next)),
            decay: 1 - rate * weightDecay)
    }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ m: inout Lanes, _ v: inout Lanes, _ unused: inout Lanes, _ c: Coefficients) -> Lanes {
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        let d = minibatch_sqrt16(v) * c.inverseCorrection2Root + epsilon
        let decayed = weightDecay == 0 ? w : w * c.decay
        return (decayed - c.gradient * (g / d)) - c.momentum * (m / d)
    }

    /// P_t = mu_1 * ... * mu_t as training computes it, a function of t, beta1 and the
    /// momentum decay alone (so that a model resumed from its file, which keeps t only, takes
    /// the same steps): the product in Double, factor after factor, until a factor equals
    /// beta1 exactly (mu_t rises to beta1 and stays: 0.96^(t * decay) has become too small to
    /// change it), then P_t = P_(K-1) * beta1^(t - K + 1), K that factor's step; or until
    /// the product falls below the smallest normal Double, then 0 (a subnormal product times
    /// a factor above 0.5 can round back to itself and never reach 0: 3e7 factors at beta1
    /// 0.999, decay 3e-5). PyTorch keeps the product in float32 as it goes; the two agree to
    /// float's rounding. Either end comes within about 45,000 factors for any beta1 < 1 and
    /// decay >= 0 (the most a scan found: 44,717 at beta1 just below 1 and a decay of
    /// 0.0201; a small decay underflows the product within a few thousand factors, a large
    /// one reaches beta1 within 917 / decay), 976 at the defaults, however large t.
    struct MomentumProducts {
        private var beta1: Float = .nan
        private var momentumDecay: Double = .nan
        /// P_i of the sequence so far, i <= t: the first factors, never the closed form.
        private(set) var i = 0
        private var value = 1.0
        /// Whether mu_(i+1) == beta1 or P_i == 0: the factors after i are beta1 alone.
        private var converged = false

        mutating func product(through t: Int, beta1: Float, momentumDecay: Double) -> Double {
            if beta1.bitPattern != self.beta1.bitPattern || momentumDecay.bitPattern != self.momentumDecay.bitPattern || t < i {
                self = MomentumProducts()
                self.beta1 = beta1
                self.momentumDecay = momentumDecay
            }
            while !converged && i < t {
                let mu = NAdamRule.mu(i + 1, beta1: beta1, momentumDecay: momentumDecay)
                if mu == Double(beta1) || value == 0 {
                    converged = true
                } else {
                    value *= mu
                    if value < Double.leastNormalMagnitude { value = 0 }
                    i += 1
                }
            }
            return i == t ? value : value * pow(Double(beta1), Double(t - i))
        }
    }

    /// P_t computed afresh (`MomentumProducts`).
    static func momentumProduct(through t: Int, beta1: Float, momentumDecay: Double) -> Double {
        var products = MomentumProducts()
        return products.product(through: t, beta1: beta1, momentumDecay: momentumDecay)
    }
}

extension NAdamRule {
    /// `apply` through `mbm_nadam` (Sources/CMatrix/update.c): the same operations in the
    /// same order at the CPU's vector width, so bit-identical (OptimizerTests), as Adam's.
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let c = coefficients(rate: rate, step: step)
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_nadam(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1,
                b.state.0 + lower, b.state.1 + lower, b.stateOut.0 + lower, b.stateOut.1 + lower,
                l2, terms.scale, terms.clip, terms.decay, beta1, beta2, epsilon, c.inverseCorrection2Root, c.gradient, c.momentum,
                c.decay, weightDecay == 0 ? 0 : 1)
        }
    }
}
