import CMatrix

/// Plain gradient descent's fast path, W -= learningRate * dW, from the training team's
/// gradient buffers summed in member order as they are read: the default rule of training
/// (`Optimizer.gradientDescent` without L2 or clipping). The general path runs the same
/// formula as `PlainRule`; `TrainingOptions.generalPath` makes a test compare the two.
struct GradientDescent: Sendable {
    var learningRate: Float

    /// Floats of the gradient summed at a time when there are more than two shards.
    static let block = 1024
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
        case 1, 2:
            // p - rate * g0, or p - rate * (g0 + g1), compiled for the CPU's vector width
            // (CMatrix/rows.c); the general path's `PlainRule` is the readable form.
            let first = range.lowerBound
            return mbm_sgd_step(range.count, parameters + first, out + first, g0 + first,
                                shards == 2 ? UnsafePointer(g[1] + first) : nil, rate) != 0
        default:
            // A block at a time, shard after shard: each pass vectorises, and every element
            // gets the same sums in the same order as ((g0 + g1) + g2) + .... (Not measurably
            // faster than a loop over the shards per element at 784-128-10, 4 shards, one
            // Zen 5 core: there a step's time goes to the shards' smaller products and their
            // four gradients, 1.6x the time of one shard.)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: GradientDescent.block) { sum in
                var start = range.lowerBound
                while start < range.upperBound {
                    let n = min(GradientDescent.block, range.upperBound - start)
                    for k in 0..<n { sum[k] = g0[start + k] }
                    for t in 1..<shards {
                        let gt = g[t] + start
                        for k in 0..<n { sum[k] += gt[k] }
                    }
                    for k in 0..<n {
                        let v = parameters[start + k] - rate * sum[k]
                        out[start + k] = v
                        flags.add(v)
                    }
                    start += n
                }
            }
        }
        return flags.allFinite
    }
}
