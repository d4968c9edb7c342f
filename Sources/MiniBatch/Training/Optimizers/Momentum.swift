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
    func next(_ w: Lanes, _ g: Lanes, _ b: inout Lanes, _ unused: inout Lanes, _ rate: Float) -> Lanes {
        b = momentum * b + g
        return nesterov ? w - rate * (g + momentum * b) : w - rate * b
    }
}

/// Plain gradient descent as an `UpdateRule`, w -= rate * g: the general update's form of
/// the rule `GradientDescent` runs on its fast path (tested equal).
struct PlainRule: UpdateRule {
    static var slots: Int { 0 }

    func coefficients(rate: Float, step: Int) -> Float { rate }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ unused0: inout Lanes, _ unused1: inout Lanes, _ rate: Float) -> Lanes {
        w - rate * g
    }
}
