/// Plain gradient descent's fast path, W -= learningRate * dW, from the training team's
/// gradient buffers summed in member order as they are read: the default rule of training
/// (`Optimizer.gradientDescent` without L2 or clipping). The general path runs the same
/// formula as `PlainRule`; `TrainingOptions.generalPath` makes a test compare the two.
struct GradientDescent: Sendable {
    var learningRate: Float
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
