import CIntrinsics
/// RMSprop (PyTorch's `RMSprop` without momentum or centring): v = rho * v + (1 - rho) * g^2;
/// w -= rate * g / (sqrt(v) + epsilon). Epsilon is added outside the square root (as
/// PyTorch; TensorFlow adds it inside).
struct RMSpropRule: UpdateRule {
    static var slots: Int { 1 }
    var rho: Float
    var epsilon: Float

    func coefficients(rate: Float, step: Int) -> Float { rate }

    @inline(__always)
    func next(_ w: Lanes, _ g: Lanes, _ v: inout Lanes, _ unused: inout Lanes, _ rate: Float) -> Lanes {
        v = rho * v + (1 - rho) * g * g
        return w - rate * g / (minibatch_sqrt16(v) + epsilon)
    }
}
