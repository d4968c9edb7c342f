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
///   `centered` (since 0.7.0): a = rho * a + (1 - rho) * g and the root of v - a^2 (at
///   least 0) in place of sqrt(v); `momentum` mu > 0 (since 0.7.0):
///   b = mu * b + g / (root + epsilon); w -= rate * b (PyTorch's `RMSprop(centered=,
///   momentum=)`).
/// - `adam`: m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
///   w -= (rate / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon).
/// - `adamW`: w -= rate * weightDecay * w (decoupled weight decay, on every parameter),
///   then the Adam step.
/// - `amsgrad` (Adam's and AdamW's, since 0.6.0): the Adam step with v's running maximum
///   vmax = max(vmax, v) in place of v in the denominator (Reddi, Kale and Kumar, 2018, as
///   PyTorch's `amsgrad=True`).
/// - `adagrad`: s = s + g^2; w -= (rate / (1 + (t - 1) * lrDecay)) * g / (sqrt(s) + epsilon),
///   s starting at `initialAccumulator` (PyTorch's `Adagrad`: lr_decay and
///   initial_accumulator_value, 0 by default; Keras's starts at 0.1).
/// - `adamax`: m = beta1 * m + (1 - beta1) * g; u = max(beta2 * u, |g| + epsilon);
///   w -= (rate / (1 - beta1^t)) * m / u (PyTorch's `Adamax`, the paper's infinity norm).
/// - `nadam` (since 0.7.0): Adam's m and v; mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentumDecay)),
///   P_t = mu_1 * ... * mu_t; d = sqrt(v) / sqrt(1 - beta2^t) + epsilon;
///   w -= rate * (1 - mu_t) / (1 - P_t) * g / d + rate * mu_(t+1) / (1 - P_t * mu_(t+1)) * m / d
///   (Dozat, 2016, as PyTorch's `NAdam`; `NAdamRule.momentumProduct` says how P_t is computed).
/// - `radam` (since 0.7.0): Adam's m and v; rho_inf = 2 / (1 - beta2) - 1,
///   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t); while rho_t > 5,
///   w -= rate * r_t * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon), r_t the
///   rectification sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
///   else w -= rate / (1 - beta1^t) * m (Liu et al., 2020, as PyTorch's `RAdam`).
/// - `adadelta` (since 0.11.0): v = rho * v + (1 - rho) * g^2;
///   d = sqrt(u + epsilon) / sqrt(v + epsilon) * g; u = rho * u + (1 - rho) * d^2;
///   w -= rate * d (Zeiler, 2012, as PyTorch's `Adadelta`: rho 0.9, epsilon 1e-6, lr 1).
///
/// Momentum, RMSprop, Adagrad, Adam, Adamax, NAdam, RAdam and Adadelta keep one or two floats per
/// parameter, AMSGrad and RMSprop with both centring and momentum three (`slots`), held by
/// the network between training calls and saved in its model file.
public enum Optimizer: Sendable, Equatable {
    case sgd(momentum: Float = 0, nesterov: Bool = false)
    /// `momentum` and `centered` since 0.7.0.
    case rmsprop(rho: Float = 0.99, epsilon: Float = 1e-8, momentum: Float = 0, centered: Bool = false)
    case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, amsgrad: Bool = false)
    case adamW(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01, amsgrad: Bool = false)
    /// Since 0.6.0. PyTorch's epsilon default is 1e-10; minibatch's is every rule's 1e-8.
    case adagrad(epsilon: Float = 1e-8, lrDecay: Float = 0, initialAccumulator: Float = 0)
    /// Since 0.6.0.
    case adamax(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8)
    /// Since 0.7.0. `decoupledWeightDecay` (since 0.10.0; 0: none) is PyTorch's
    /// `NAdam(weight_decay:, decoupled_weight_decay=True)`: w -= rate * it * w before the
    /// step, as AdamW's.
    case nadam(
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, momentumDecay: Double = 0.004,
        decoupledWeightDecay: Float = 0)
    /// Since 0.7.0; `decoupledWeightDecay` as NAdam's (PyTorch's `RAdam(decoupled_weight_decay=True)`).
    case radam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, decoupledWeightDecay: Float = 0)
    /// Since 0.11.0, with PyTorch's defaults (its learning rate's default is 1).
    case adadelta(rho: Float = 0.9, epsilon: Float = 1e-6)

    /// Plain gradient descent.
    public static let gradientDescent = Optimizer.sgd()

    /// Which rule, without its hyperparameters: the state kept by the network belongs to a
    /// kind, and a training call with another kind starts from fresh state.
    public enum Kind: Int, Sendable {
        case gradientDescent = 0, momentum = 1, rmsprop = 2, adam = 3, adamW = 4, adagrad = 5, adamax = 6
        /// Adam and AdamW with AMSGrad's maximum (a third slot).
        case adamAMSGrad = 7, adamWAMSGrad = 8
        /// Since 0.7.0.
        case nadam = 9, radam = 10
        /// RMSprop with centring (a second slot: g's average), momentum (a second slot: the
        /// buffer) or both (three slots: v, g's average, the buffer); since 0.7.0.
        case rmspropCentered = 11, rmspropMomentum = 12, rmspropCenteredMomentum = 13
        /// Since 0.11.0.
        case adadelta = 14
    }

    public var kind: Kind {
        switch self {
        case .sgd(let momentum, _): momentum == 0 ? .gradientDescent : .momentum
        case .rmsprop(_, _, let momentum, let centered):
            momentum == 0
                ? (centered ? .rmspropCentered : .rmsprop) : (centered ? .rmspropCenteredMomentum : .rmspropMomentum)
        case .adam(_, _, _, let amsgrad): amsgrad ? .adamAMSGrad : .adam
        case .adamW(_, _, _, _, let amsgrad): amsgrad ? .adamWAMSGrad : .adamW
        case .adagrad: .adagrad
        case .adamax: .adamax
        case .nadam: .nadam
        case .radam: .radam
        case .adadelta: .adadelta
        }
    }

    /// Floats of state per parameter.
    var slots: Int { Optimizer.slots(kind) }

    /// The value every slot of fresh state starts at (`TrainingState.prepare`): Adagrad's
    /// initial accumulator, else 0.
    var initialState: Float {
        if case .adagrad(_, _, let initial) = self { return initial }
        return 0
    }

    /// The rule with its momentum (SGD, RMSprop) or beta1 (Adam, AdamW, Adamax, NAdam,
    /// RAdam) set to `momentum`, as PyTorch's `OneCycleLR(cycle_momentum=True)` sets a
    /// parameter group's (`Schedule.momentum`); Adagrad and Adadelta, which have neither,
    /// unchanged.
    func withMomentum(_ momentum: Float) -> Optimizer {
        switch self {
        case .sgd(_, let nesterov): .sgd(momentum: momentum, nesterov: nesterov)
        case .rmsprop(let rho, let epsilon, _, let centered):
            .rmsprop(rho: rho, epsilon: epsilon, momentum: momentum, centered: centered)
        case .adam(_, let beta2, let epsilon, let amsgrad): .adam(beta1: momentum, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad)
        case .adamW(_, let beta2, let epsilon, let decay, let amsgrad):
            .adamW(beta1: momentum, beta2: beta2, epsilon: epsilon, weightDecay: decay, amsgrad: amsgrad)
        case .adagrad, .adadelta: self
        case .adamax(_, let beta2, let epsilon): .adamax(beta1: momentum, beta2: beta2, epsilon: epsilon)
        case .nadam(_, let beta2, let epsilon, let decay, let weightDecay):
            .nadam(beta1: momentum, beta2: beta2, epsilon: epsilon, momentumDecay: decay, decoupledWeightDecay: weightDecay)
        case .radam(_, let beta2, let epsilon, let weightDecay):
            .radam(beta1: momentum, beta2: beta2, epsilon: epsilon, decoupledWeightDecay: weightDecay)
        }
    }

    static func slots(_ kind: Kind) -> Int {
        switch kind {
        case .gradientDescent: 0
        case .momentum, .rmsprop, .adagrad: 1
        case .adam, .adamW, .adamax, .nadam, .radam, .rmspropCentered, .rmspropMomentum, .adadelta: 2
        case .adamAMSGrad, .adamWAMSGrad, .rmspropCenteredMomentum: 3
        }
    }
}

// MARK: - The rule, element by element

/// 16 parameters at a time: the rules compute on vectors, so that the update loop reads
/// and writes its eight or so buffers with vector loads and stores (a scalar loop over that
/// many pointers is not vectorised by the compiler, which cannot prove they do not overlap:
/// it ran 5-10x slower).
typealias Lanes = SIMD16<Float>

/// One update rule as a function of a parameter, its gradient and its state, lane by lane:
/// the general update (`UpdateRule.apply`) runs it over a range of parameters.
protocol UpdateRule {
    /// What a step computes once for all parameters (the rate, bias corrections).
    associatedtype Coefficients
    /// Floats of state per parameter, 0 to 3 (`Optimizer.slots`).
    static var slots: Int { get }
    func coefficients(rate: Float, step: Int) -> Coefficients
    /// The new value of parameters `w` with gradient `g`; `s0`, `s1` and `s2` are their
    /// state (the rule's `slots` of them), updated in place.
    func next(_ w: Lanes, _ g: Lanes, _ s0: inout Lanes, _ s1: inout Lanes, _ s2: inout Lanes, _ c: Coefficients) -> Lanes
}

/// Where one update reads and writes. Parameters, and each slot of state, are written into
/// a second buffer, so that an update that would give a NaN or an Inf is not applied.
struct UpdateBuffers {
    var parameters: UnsafePointer<Float>
    var out: UnsafeMutablePointer<Float>
    /// The training team's gradient buffers; the gradient is their sum, in member order
    /// (at most 2 here: more are first summed into the first, `sumShards`).
    var gradients: UnsafePointer<UnsafeMutablePointer<Float>>
    var shards: Int
    /// Each slot's state now, and where its next state goes (slots the rule does not have:
    /// any pointer, neither read nor written).
    var state: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)
    var stateOut: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
}

/// How the gradient is formed before the rule sees it:
/// g = scale * (sum of the shards' gradients + l2 * w), l2 only on weights, then clipped to
/// [-clip, clip] element by element, then, where `decay` is not 0, g + decay * w on every
/// parameter (`formed`).
struct GradientTerms {
    /// alpha / rows of the batch (scikit-learn's L2 penalty), for weights; 0 for none.
    var l2: Float = 0
    /// The global-norm clipping factor, 1 for none.
    var scale: Float = 1
    /// The bound of value clipping, +Inf for none (which changes no value: a NaN stays NaN).
    var clip: Float = .infinity
    /// PyTorch's coupled weight_decay (`TrainingOptions.coupledWeightDecay`), on every
    /// parameter after clipping, 0 for none (then nothing is added: not even -0 becomes +0).
    var decay: Float = 0

    /// g clipped to [-clip, clip] lane by lane, the lower bound first (the C loops'
    /// `gradient_term`).
    @inline(__always)
    func clipped(_ g: Lanes) -> Lanes {
        let low = g.replacing(with: -clip, where: g .< -clip)
        return low.replacing(with: clip, where: low .> clip)
    }

    /// The gradient the rule sees from the scaled sum `g` at parameters `w`: clipped, then
    /// plus decay * w (the C loops' `gradient_term`).
    @inline(__always)
    func formed(_ g: Lanes, _ w: Lanes) -> Lanes {
        let bounded = clipped(g)
        return decay == 0 ? bounded : bounded + decay * w
    }
}

@inline(__always)
private func load(_ p: UnsafePointer<Float>, _ i: Int) -> Lanes {
    UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self)
}

@inline(__always)
private func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Lanes.self)
}

/// NaN or Inf in any lane of the vectors added (`NonFiniteFlags`, 16 lanes at a time).
private struct LaneFlags {
    private var bits = SIMD16<UInt32>()

    @inline(__always)
    mutating func add(_ v: Lanes) {
        let pattern = unsafeBitCast(v, to: SIMD16<UInt32>.self)
        bits |= (pattern & 0x7F80_0000) &+ 0x0080_0000
    }

    var allFinite: Bool { bits & 0x8000_0000 == SIMD16<UInt32>() }
}

/// Calls `body(lower, upper, isWeight)` for each part of `range` that lies in one segment
/// of the flat layout (a layer's weights or biases), in order.
@inline(__always)
func forEachPart(
    of range: Range<Int>, in segments: [(range: Range<Int>, isWeight: Bool)], _ body: (Int, Int, Bool) -> Void
) {
    for segment in segments {
        let lower = max(segment.range.lowerBound, range.lowerBound)
        let upper = min(segment.range.upperBound, range.upperBound)
        if lower < upper { body(lower, upper, segment.isWeight) }
    }
}

extension UpdateRule {
    /// Updates parameters `range` from `b` (into `b.out` and the state outputs), with
    /// `terms` applied to the gradient of the weights marked in `segments` (the layout's
    /// weight and bias ranges): whether every new parameter is finite.
    func apply(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool {
        let c = coefficients(rate: rate, step: step)
        var flags = LaneFlags()
        var tailFlags = NonFiniteFlags()
        forEachPart(of: range, in: segments) { lower, upper, isWeight in
            let l2 = isWeight ? terms.l2 : 0, scale = terms.scale
            let p = b.parameters, out = b.out, g0 = b.gradients[0]
            let g1 = b.shards > 1 ? UnsafePointer(b.gradients[1]) : nil
            let (s0, s1, s2) = b.state, (o0, o1, o2) = b.stateOut
            var i = lower
            // One pass: the two shards' gradients are summed as they are read.
            while i + Lanes.scalarCount <= upper {
                let w = load(p, i)
                var sum = load(g0, i)
                if let g1 { sum += load(g1, i) }
                var a = Self.slots > 0 ? load(s0, i) : Lanes(), v = Self.slots > 1 ? load(s1, i) : Lanes()
                var x = Self.slots > 2 ? load(s2, i) : Lanes()
                let new = next(w, terms.formed(scale * (sum + l2 * w), w), &a, &v, &x, c)
                store(new, out, i)
                if Self.slots > 0 { store(a, o0, i) }
                if Self.slots > 1 { store(v, o1, i) }
                if Self.slots > 2 { store(x, o2, i) }
                flags.add(new)
                i += Lanes.scalarCount
            }
            // The last few, one lane each.
            while i < upper {
                var w = Lanes(), sum = Lanes(), a = Lanes(), v = Lanes(), x = Lanes()
                w[0] = p[i]
                sum[0] = g0[i] + (g1?[i] ?? 0)
                if Self.slots > 0 { a[0] = s0[i] }
                if Self.slots > 1 { v[0] = s1[i] }
                if Self.slots > 2 { x[0] = s2[i] }
                let new = next(w, terms.formed(scale * (sum + l2 * w), w), &a, &v, &x, c)
                out[i] = new[0]
                if Self.slots > 0 { o0[i] = a[0] }
                if Self.slots > 1 { o1[i] = v[0] }
                if Self.slots > 2 { o2[i] = x[0] }
                tailFlags.add(new[0])
                i += 1
            }
        }
        return flags.allFinite && tailFlags.allFinite
    }
}

/// Runs a rule's C loop (`Sources/CMatrix/update.c`) on each part of `range` in one segment:
/// `kernel(lower, count, g1, l2)` for parameters lower ..< lower + count, the second gradient
/// buffer from `lower` (nil for one buffer) and the part's L2 coefficient (weights only).
/// Whether every new parameter is finite.
@inline(__always)
func applyKernel(
    _ b: UpdateBuffers, _ range: Range<Int>, terms: GradientTerms, segments: [(range: Range<Int>, isWeight: Bool)],
    _ kernel: (_ lower: Int, _ count: Int, _ g1: UnsafePointer<Float>?, _ l2: Float) -> Int32
) -> Bool {
    var allFinite = true
    forEachPart(of: range, in: segments) { lower, upper, isWeight in
        let g1: UnsafePointer<Float>? = b.shards > 1 ? UnsafePointer(b.gradients[1] + lower) : nil
        allFinite = kernel(lower, upper - lower, g1, isWeight ? terms.l2 : 0) != 0 && allFinite
    }
    return allFinite
}

/// Adds the gradient buffers after the first into the first, in member order, for
/// parameters `range`: g0 = ((g0 + g1) + g2) + ..., the order a two-shard update sums in.
func sumShards(_ gradients: UnsafePointer<UnsafeMutablePointer<Float>>, shards: Int, _ range: Range<Int>) {
    // A block at a time, shard after shard, so that the block stays in the L1 cache between
    // passes; every element gets the same sums in the same order.
    let g0 = gradients[0], block = GradientDescent.block
    var start = range.lowerBound
    while start < range.upperBound {
        let end = min(start + block, range.upperBound)
        for t in 1..<max(shards, 1) {
            let gt = gradients[t]
            for i in start..<end { g0[i] += gt[i] }
        }
        start = end
    }
}

/// The sum of squares of the gradient of `range` as `apply` forms it before scaling (the
/// shards' sum, plus the L2 term on weights), for clipping by the global norm.
func gradientSquares(
    _ b: UpdateBuffers, _ range: Range<Int>, l2: Float, segments: [(range: Range<Int>, isWeight: Bool)]
) -> Double {
    var total = 0.0
    forEachPart(of: range, in: segments) { lower, upper, isWeight in
        let l2 = isWeight ? l2 : 0
        let p = b.parameters, g0 = b.gradients[0]
        let g1 = b.shards > 1 ? UnsafePointer(b.gradients[1]) : nil
        var i = lower
        // Floats summed in vectors over runs of 4096, the runs in Double: rounding stays small.
        while i + Lanes.scalarCount <= upper {
            var partial = Lanes()
            var run = 0
            while run < 4096 && i + Lanes.scalarCount <= upper {
                var g = load(g0, i)
                if let g1 { g += load(g1, i) }
                g += l2 * load(p, i)
                partial += g * g
                i += Lanes.scalarCount
                run += Lanes.scalarCount
            }
            total += Double(partial.sum())
        }
        while i < upper {
            let g = g0[i] + (g1?[i] ?? 0) + l2 * p[i]
            total += Double(g * g)
            i += 1
        }
    }
    return total
}
