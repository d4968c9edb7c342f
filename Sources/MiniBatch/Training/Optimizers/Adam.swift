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
        /// sqrt(1 - beta2^t).
        var correction2Root: Float
        var decay: Float
    }

    func coefficients(rate: Float, step: Int) -> Coefficients {
        let t = Double(step)
        let correction1 = 1 - pow(Double(beta1), t)
        let correction2 = 1 - pow(Double(beta2), t)
        return Coefficients(
            stepSize: Float(Double(rate) / correction1),
            correction2Root: Float(correction2.squareRoot()),
            decay: 1 - rate * weightDecay)
    }

    @inline(__always)
    func next(_ w: Float, _ g: Float, _ m: inout Float, _ v: inout Float, _ c: Coefficients) -> Float {
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        let decayed = weightDecay == 0 ? w : w * c.decay
        return decayed - c.stepSize * (m / (v.squareRoot() / c.correction2Root + epsilon))
    }
}
