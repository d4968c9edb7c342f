import CIntrinsics
import CMatrix

/// Adagrad (Duchi, Hazan and Singer, 2011, as PyTorch's `Adagrad` computes it): s = s + g^2;
/// w -= clr * g / (sqrt(s) + epsilon), clr = rate / (1 + (t - 1) * lrDecay) in Double, t the
/// step (from 1), s starting at the initial accumulator (`TrainingState.prepare`). The sum
/// of squares only grows, so each parameter's step shrinks with the gradients it has seen;
/// epsilon is added outside the square root (as PyTorch; Keras adds it inside the root, to
/// an accumulator starting at 0.1).
struct AdagradRule: UpdateRule {
    static var slots: Int { 1 }
    var epsilon: Float
    var lrDecay: Float = 0

    func coefficients(rate: Float, step: Int) -> Float {
        lrDecay == 0 ? rate : Float(Double(rate) / (1 + Double(step - 1) * Double(lrDecay)))
    }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ s: inout Lanes, _ unused: inout Lanes, _ unused2: inout Lanes, _ rate: Float) -> Lanes {
        s = s + g * g
        return w - rate * g / (minibatch_sqrt16(s) + epsilon)
    }
}

extension AdagradRule {
    /// `apply` through `mbm_adagrad` (Sources/CMatrix/update.c): the same operations in the
    /// same order at the CPU's vector width, so bit-identical (OptimizerTests), as RMSprop's.
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let rate = coefficients(rate: rate, step: step)
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_adagrad(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1, b.state.0 + lower,
                b.stateOut.0 + lower, l2, terms.scale, terms.clip, terms.decay, epsilon, rate)
        }
    }
}
