/// The update rule of training and its hyperparameters: how the parameters move, given the
/// gradient g of a batch's mean cost and the learning rate of the epoch (`Schedule`).
///
/// The formulas are PyTorch's `torch.optim` (momentum outside the learning rate, epsilon
/// added to the bias-corrected square root), element by element, with w a parameter and
/// t the number of updates this rule has applied, this one included (from 1):
///
/// - `sgd(momentum: 0)`: w -= rate * g (plain gradient descent).
/// - `sgd(momentum: mu)`: b = mu * b + g (b = g at t = 1); w -= rate * b;
///   Nesterov: w -= rate * (g + mu * b).
/// - `rmsprop`: v = rho * v + (1 - rho) * g^2; w -= rate * g / (sqrt(v) + epsilon).
/// - `adam`: m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
///   w -= (rate / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon).
/// - `adamW`: w -= rate * weightDecay * w (decoupled weight decay, on every parameter),
///   then the Adam step.
///
/// Momentum, RMSprop and Adam keep one or two floats per parameter (`slots`), held by the
/// network between training calls and saved in its model file.
public enum Optimizer: Sendable, Equatable {
    case sgd(momentum: Float = 0, nesterov: Bool = false)
    case rmsprop(rho: Float = 0.99, epsilon: Float = 1e-8)
    case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8)
    case adamW(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01)

    /// Plain gradient descent.
    public static let gradientDescent = Optimizer.sgd()

    /// Which rule, without its hyperparameters: the state kept by the network belongs to a
    /// kind, and a training call with another kind starts from fresh state.
    public enum Kind: Int, Sendable {
        case gradientDescent = 0, momentum = 1, rmsprop = 2, adam = 3, adamW = 4
    }

    public var kind: Kind {
        switch self {
        case .sgd(let momentum, _): momentum == 0 ? .gradientDescent : .momentum
        case .rmsprop: .rmsprop
        case .adam: .adam
        case .adamW: .adamW
        }
    }

    /// Floats of state per parameter.
    var slots: Int { Optimizer.slots(kind) }

    static func slots(_ kind: Kind) -> Int {
        switch kind {
        case .gradientDescent: 0
        case .momentum, .rmsprop: 1
        case .adam, .adamW: 2
        }
    }
}

// MARK: - The rule, element by element

/// One update rule as a function of one parameter, its gradient and its state: the
/// general update (`UpdateRule.apply`) runs it over a range of parameters.
protocol UpdateRule {
    /// What a step computes once for all parameters (the rate, bias corrections).
    associatedtype Coefficients
    /// Floats of state per parameter, 0 to 2 (`Optimizer.slots`).
    static var slots: Int { get }
    func coefficients(rate: Float, step: Int) -> Coefficients
    /// The new value of parameter `w` with gradient `g`; `s0` and `s1` are its state (the
    /// rule's `slots` of them), updated in place.
    func next(_ w: Float, _ g: Float, _ s0: inout Float, _ s1: inout Float, _ c: Coefficients) -> Float
}

/// Where one update reads and writes. Parameters, and each slot of state, are written into
/// a second buffer, so that an update that would give a NaN or an Inf is not applied.
struct UpdateBuffers {
    var parameters: UnsafePointer<Float>
    var out: UnsafeMutablePointer<Float>
    /// The training team's gradient buffers; the gradient is their sum, in member order.
    var gradients: UnsafePointer<UnsafeMutablePointer<Float>>
    var shards: Int
    /// Each slot's state now, and where its next state goes (slots the rule does not have:
    /// any pointer, neither read nor written).
    var state: (UnsafePointer<Float>, UnsafePointer<Float>)
    var stateOut: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
}

/// How the gradient is formed before the rule sees it:
/// g = scale * (sum of the shards' gradients + l2 * w), l2 only on weights.
struct GradientTerms {
    /// alpha / rows of the batch (scikit-learn's L2 penalty), for weights; 0 for none.
    var l2: Float = 0
    /// The global-norm clipping factor, 1 for none.
    var scale: Float = 1
}

extension UpdateRule {
    /// Updates parameters `range` from `b` (`b.out` and the state outputs), with `terms`
    /// applied to the gradient and weights marked by `weights` (the layout's weight ranges):
    /// whether every new parameter is finite.
    func apply(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let c = coefficients(rate: rate, step: step)
        var flags = NonFiniteFlags()
        for segment in segments {
            let lower = max(segment.range.lowerBound, range.lowerBound)
            let upper = min(segment.range.upperBound, range.upperBound)
            guard lower < upper else { continue }
            let l2 = segment.isWeight ? terms.l2 : 0
            let scale = terms.scale
            let p = b.parameters, out = b.out, g = b.gradients, shards = b.shards
            let (s0, s1) = b.state, (o0, o1) = b.stateOut
            // One pass: the shards' gradients are summed in member order as they are read.
            switch shards {
            case 1:
                let g0 = g[0]
                for i in lower..<upper {
                    var a: Float = Self.slots > 0 ? s0[i] : 0, v: Float = Self.slots > 1 ? s1[i] : 0
                    let w = p[i]
                    let new = next(w, scale * (g0[i] + l2 * w), &a, &v, c)
                    if Self.slots > 0 { o0[i] = a }
                    if Self.slots > 1 { o1[i] = v }
                    out[i] = new
                    flags.add(new)
                }
            default:
                for i in lower..<upper {
                    var sum = g[0][i]
                    for t in 1..<shards { sum += g[t][i] }
                    var a: Float = Self.slots > 0 ? s0[i] : 0, v: Float = Self.slots > 1 ? s1[i] : 0
                    let w = p[i]
                    let new = next(w, scale * (sum + l2 * w), &a, &v, c)
                    if Self.slots > 0 { o0[i] = a }
                    if Self.slots > 1 { o1[i] = v }
                    out[i] = new
                    flags.add(new)
                }
            }
        }
        return flags.allFinite
    }
}

/// The sum of squares of the gradient of `range` as `apply` forms it before scaling (the
/// shards' sum, plus the L2 term on weights), for clipping by the global norm.
func gradientSquares(
    _ b: UpdateBuffers, _ range: Range<Int>, l2: Float, segments: [(range: Range<Int>, isWeight: Bool)]
) -> Double {
    var total = 0.0
    for segment in segments {
        let lower = max(segment.range.lowerBound, range.lowerBound)
        let upper = min(segment.range.upperBound, range.upperBound)
        guard lower < upper else { continue }
        let l2 = segment.isWeight ? l2 : 0
        var partial: Float = 0
        var run = 0
        for i in lower..<upper {
            var sum = b.gradients[0][i]
            for t in 1..<b.shards { sum += b.gradients[t][i] }
            let g = sum + l2 * b.parameters[i]
            partial += g * g
            run += 1
            // Floats summed in runs of 4096, the runs in Double: rounding stays small.
            if run == 4096 {
                total += Double(partial)
                partial = 0
                run = 0
            }
        }
        total += Double(partial)
    }
    return total
}
