import CMatrix

/// Gradient descent with momentum (PyTorch's `SGD`, dampening 0): b = mu * b + g (b = g on
/// the first step: the buffer starts at 0); w -= rate * b, or with Nesterov momentum
/// w -= rate * (g + mu * b). With mu = 0 it is plain gradient descent, w -= rate * g.
///
/// The learning rate stays outside the buffer, so a schedule that changes the rate does
/// not rescale the velocity gathered so far (scikit-learn's and Keras's form,
/// v = mu * v - rate * g, does; with a constant rate the two give the same weights).
struct MomentumRule: UpdateRule {
    static var slots: Int { 1 }
    var momentum: Float
    var nesterov: Bool

    func coefficients(rate: Float, step: Int) -> Float { rate }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ b: inout Lanes, _ unused: inout Lanes, _ unused2: inout Lanes, _ rate: Float) -> Lanes {
        b = momentum * b + g
        return nesterov ? w - rate * (g + momentum * b) : w - rate * b
    }
}

extension MomentumRule {
    /// `apply` through `mbm_momentum` (Sources/CMatrix/update.c): the same operations in the
    /// same order, compiled for the CPU's vector width (AVX-512 here, where the Swift loop
    /// gets SSE's four lanes), so bit-identical (OptimizerTests). Through the Swift loop,
    /// momentum's W1 epoch at batch 64 (2 threads, Zen 5) took 1.16x plain gradient
    /// descent's; see bench/rules.py for the figures with this path.
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let rate = coefficients(rate: rate, step: step)
        return applyKernel(b, range, terms: terms, segments: segments) { lower, count, g1, l2 in
            mbm_momentum(
                count, b.parameters + lower, b.out + lower, b.gradients[0] + lower, g1, b.state.0 + lower,
                b.stateOut.0 + lower, l2, terms.scale, terms.clip, terms.decay, momentum, rate, nesterov ? 1 : 0)
        }
    }
}

/// Plain gradient descent as an `UpdateRule`, w -= rate * g: the general update's form of
/// the rule `GradientDescent` runs on its fast path (tested equal).
struct PlainRule: UpdateRule {
    static var slots: Int { 0 }

    func coefficients(rate: Float, step: Int) -> Float { rate }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ unused0: inout Lanes, _ unused1: inout Lanes, _ unused2: inout Lanes, _ rate: Float) -> Lanes {
        w - rate * g
    }
}
