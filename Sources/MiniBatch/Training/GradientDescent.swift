/// An update rule: how parameters move given their gradients (after ensmallen's
/// `update_policies/`). A new optimiser is a new rule with its state inside, not a flag.
public protocol UpdateRule {
    /// Applies one update to `count` parameters. If any updated value would be NaN or Inf,
    /// changes nothing and returns false.
    mutating func update(
        _ parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, count: Int
    ) -> Bool
}

/// Plain gradient descent: W -= learningRate * dW.
public struct GradientDescent: UpdateRule, Sendable {
    public var learningRate: Float

    public init(learningRate: Float) { self.learningRate = learningRate }

    public mutating func update(
        _ parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, count: Int
    ) -> Bool {
        let rate = learningRate
        // First pass: would every new value be finite? Checking before writing keeps the
        // last finite weights.
        var flags = NonFiniteFlags()
        for i in 0..<count { flags.add(parameters[i] - rate * gradients[i]) }
        guard flags.allFinite else { return false }
        for i in 0..<count { parameters[i] = parameters[i] - rate * gradients[i] }
        return true
    }
}

extension GradientDescent {
    /// Whether `step` on `range` would give only finite values (it writes nothing).
    func stepIsFinite(
        _ parameters: UnsafePointer<Float>,
        gradients g: UnsafePointer<UnsafeMutablePointer<Float>>, shards: Int, _ range: Range<Int>
    ) -> Bool {
        // The same sums, in the same order, as `step`.
        let rate = learningRate
        var flags = NonFiniteFlags()
        for i in range {
            var sum = g[0][i]
            for t in 1..<max(shards, 1) { sum += g[t][i] }
            flags.add(parameters[i] - rate * sum)
        }
        return flags.allFinite
    }

    /// The update of parameters `range` written into `out`, from the sum, in order, of
    /// `shards` gradient buffers: out = parameters - learningRate * (g0 + g1 + ...).
    /// Returns whether every value written is finite.
    func step(
        _ parameters: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
        gradients g: UnsafePointer<UnsafeMutablePointer<Float>>, shards: Int, _ range: Range<Int>
    ) -> Bool {
        let rate = learningRate
        var flags = NonFiniteFlags()
        let g0 = g[0]
        switch shards {
        case 1:
            for i in range {
                let v = parameters[i] - rate * g0[i]
                out[i] = v
                flags.add(v)
            }
        case 2:
            let g1 = g[1]
            for i in range {
                let v = parameters[i] - rate * (g0[i] + g1[i])
                out[i] = v
                flags.add(v)
            }
        default:
            for i in range {
                var sum = g0[i]
                for t in 1..<shards { sum += g[t][i] }
                let v = parameters[i] - rate * sum
                out[i] = v
                flags.add(v)
            }
        }
        return flags.allFinite
    }
}
