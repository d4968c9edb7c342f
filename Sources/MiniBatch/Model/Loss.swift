import CIntrinsics
import CMatrix

/// The output layer and its cost, in pairs. Each cost is a mean over the batch.
public enum Loss: Int, Sendable, CaseIterable {
    /// Linear output; mean over rows and outputs of (a - y)^2.
    case meanSquaredError = 0
    /// Sigmoid outputs; mean over rows and outputs of -(y log a + (1 - y) log(1 - a)).
    case binaryCrossEntropy = 1
    /// Softmax over >= 2 outputs; mean over rows of -sum_j y_j log a_j.
    case crossEntropy = 2
    /// Exponential outputs a = e^z (a log link) for counts and rates y >= 0; mean over rows
    /// and outputs of half the Poisson deviance, y log(y / a) - y + a (scikit-learn's
    /// `poisson` loss; y log y is 0 at y = 0).
    case poisson = 3

    /// Whether the outputs are values scored by R^2 (mean squared error, Poisson) rather
    /// than classes scored by accuracy.
    public var isRegression: Bool { self == .meanSquaredError || self == .poisson }

    /// The header's name, for messages.
    var cName: String {
        switch self {
        case .meanSquaredError: "MB_LOSS_MSE"
        case .binaryCrossEntropy: "MB_LOSS_BINARY_CROSS_ENTROPY"
        case .crossEntropy: "MB_LOSS_CROSS_ENTROPY"
        case .poisson: "MB_LOSS_POISSON"
        }
    }
}

/// Targets of a batch: values (rows, nOut) or class indices (rows).
public enum Targets {
    /// float (rows, nOut), row-major: values, probabilities or one-hot rows.
    case values(UnsafePointer<Float>)
    /// int32 (rows): class indices (cross-entropy) or 0/1 labels (one sigmoid output).
    case classes(UnsafePointer<Int32>)

    /// The target of one output as a number: the value, or the 0/1 label of a one-output
    /// binary model.
    @inline(__always)
    func value(row r: Int, column j: Int, width: Int) -> Float {
        switch self {
        case .values(let y): return y[r * width + j]
        case .classes(let y): return Float(y[r])
        }
    }

    /// Starts bringing row `r`'s targets into the cache (see `minibatch_prefetch`).
    @inline(__always)
    func prefetch(row r: Int, width: Int) {
        switch self {
        case .values(let y): minibatch_prefetch(y + r * width, width * MemoryLayout<Float>.stride)
        case .classes(let y): minibatch_prefetch(y + r, MemoryLayout<Int32>.stride)
        }
    }

    /// The targets of rows `start...` of this set.
    func advanced(by start: Int, width: Int) -> Targets {
        switch self {
        case .values(let y): return .values(y + start * width)
        case .classes(let y): return .classes(y + start)
        }
    }
}

// MARK: - Forward and backward (fused, from the logits)

extension Loss {
    /// How many terms each row's loss is averaged over: the outputs for MSE and binary
    /// cross-entropy, one for cross-entropy (a sum over the softmax).
    func termsPerRow(outputs: Int) -> Int { self == .crossEntropy ? 1 : outputs }

    /// The summed cost of `rows` rows, computed from the logits z = A W^T + b of the output
    /// layer (so softmax and sigmoid never take the log of a rounded 0), and, if `dlogits` is
    /// given, the gradient of the *mean* cost over `normalizer` rows with respect to z.
    ///
    /// Fusing the output activation with its cost gives the familiar a - y gradients:
    /// softmax + cross-entropy: (p_j sum_k y_k - y_j) / n; sigmoid + binary cross-entropy:
    /// (a - y) / (n * nOut); linear + MSE: 2 (a - y) / (n * nOut); exponential + Poisson:
    /// (e^z - y) / (n * nOut).
    /// - Parameters:
    ///   - dlogits: (rows, nOut) or nil.
    ///   - logits: (rows, nOut).
    ///   - targets: (rows, nOut) values or (rows) classes.
    ///   - weights: (rows) or nil: each row's loss counts weights[r] times (sample weights),
    ///     and `normalizer` is then the batch's total weight.
    ///   - smoothing: training's label smoothing (`row`); 0: none.
    /// - Returns: the sum over rows of each row's loss (divided by its `termsPerRow`, times
    ///   its weight).
    ///
    /// Softmax with cross-entropy on class indices, with the gradient and without smoothing,
    /// runs the C loop of `layers.h` (`mbm_softmax_cross_entropy`), bit-identical to
    /// `forwardBackwardPlain`.
    func forwardBackward(
        dlogits: UnsafeMutablePointer<Float>?, logits: UnsafePointer<Float>, targets: Targets,
        rows: Int, outputs nOut: Int, normalizer: Double, weights: UnsafePointer<Float>? = nil, smoothing: Float = 0
    ) -> Double {
        if self == .crossEntropy, smoothing == 0, let dlogits, case .classes(let classes) = targets {
            let scale = 1 / Float(normalizer)
            return mbm_softmax_cross_entropy(dlogits, logits, classes, weights, rows, nOut, scale, 1 / normalizer)
        }
        return forwardBackwardPlain(
            dlogits: dlogits, logits: logits, targets: targets, rows: rows, outputs: nOut, normalizer: normalizer,
            weights: weights, smoothing: smoothing)
    }

    /// `forwardBackward`, the readable form.
    func forwardBackwardPlain(
        dlogits: UnsafeMutablePointer<Float>?, logits: UnsafePointer<Float>, targets: Targets,
        rows: Int, outputs nOut: Int, normalizer: Double, weights: UnsafePointer<Float>? = nil, smoothing: Float = 0
    ) -> Double {
        let terms = Float(termsPerRow(outputs: nOut))
        let scale = 1 / (Float(normalizer) * terms), weightScale = 1 / (normalizer * Double(terms))
        var total = 0.0
        for r in 0..<rows {
            let w = weights?[r] ?? 1
            let rowLoss = row(
                r, logits: logits + r * nOut, dlogits: dlogits.map { $0 + r * nOut },
                targets: targets, outputs: nOut, scale: weights == nil ? scale : Loss.weighted(w, weightScale),
                smoothing: smoothing)
            total += Double(w) * Double(rowLoss) / Double(terms)
        }
        return total
    }

    /// A weighted row's gradient scale, w / (the batch's total weight x terms), in Double:
    /// a total beyond Float's range made 1 / Float(total) 0 (weights of 1e38: no update at
    /// all), and one below its normal numbers made it Inf (weights of 1e-42: divergence).
    @inline(__always)
    static func weighted(_ w: Float, _ weightScale: Double) -> Float { Float(Double(w) * weightScale) }

    /// One row of `forwardBackward`: the loss of row `r` of `targets` (not yet divided by
    /// `termsPerRow`) from its logits z (nOut), and, if `dz` is given, scale times the
    /// gradient of that loss with respect to z.
    /// - Parameter smoothing: label smoothing e (training's `labelSmoothing`; 0: none): the
    ///   cross-entropy's targets become (1 - e) t + e / nOut (PyTorch's), binary
    ///   cross-entropy's (1 - e) t + e / 2 (Keras's).
    @inline(__always)
    func row(
        _ r: Int, logits z: UnsafePointer<Float>, dlogits dz: UnsafeMutablePointer<Float>?,
        targets: Targets, outputs nOut: Int, scale: Float, smoothing: Float = 0
    ) -> Float {
        var rowLoss: Float = 0
        if smoothing > 0 && self == .crossEntropy {
            return smoothedCrossEntropyRow(r, logits: z, dlogits: dz, targets: targets, outputs: nOut, scale: scale,
                                           smoothing: smoothing)
        }
        switch self {
        case .crossEntropy:
            var zmax = z[0]
            for j in 1..<nOut { zmax = max(zmax, z[j]) }
            // e^(z_j - max z), kept in dz (when there is one) for the softmax p_j = e_j / sum.
            var sum: Float = 0
            for j in 0..<nOut {
                let e = _exp(z[j] - zmax)
                dz?[j] = e
                sum += e
            }
            let logSum = _log(sum)
            let inverse = 1 / sum
            switch targets {
            case .classes(let y):
                let c = Int(y[r])
                rowLoss = -(z[c] - zmax - logSum)
                if let dz {
                    for j in 0..<nOut { dz[j] = dz[j] * inverse * scale }
                    dz[c] -= scale
                }
            case .values(let y):
                let t = y + r * nOut
                var tsum: Float = 0
                for j in 0..<nOut {
                    tsum += t[j]
                    if t[j] != 0 { rowLoss -= t[j] * (z[j] - zmax - logSum) }
                }
                if let dz {
                    for j in 0..<nOut { dz[j] = (dz[j] * inverse * tsum - t[j]) * scale }
                }
            }
        case .binaryCrossEntropy:
            for j in 0..<nOut {
                let label = targets.value(row: r, column: j, width: nOut)
                let t = smoothing > 0 ? (1 - smoothing) * label + smoothing / 2 : label
                // -(t log s(z) + (1 - t) log(1 - s(z))) = max(z, 0) - z t + log(1 + e^-|z|),
                // and s(z) from the same e^-|z| (as `logistic` computes it).
                let e = _exp(-abs(z[j]))
                rowLoss += max(z[j], 0) - z[j] * t + log1pNonNegative(e)
                if let dz {
                    let s = z[j] >= 0 ? 1 / (1 + e) : e / (1 + e)
                    dz[j] = (s - t) * scale
                }
            }
        case .meanSquaredError:
            for j in 0..<nOut {
                let diff = z[j] - targets.value(row: r, column: j, width: nOut)
                rowLoss += diff * diff
                dz?[j] = 2 * diff * scale
            }
        case .poisson:
            for j in 0..<nOut {
                let t = targets.value(row: r, column: j, width: nOut)
                // y log(y / a) - y + a with log a = z, as y (log y - z) + (a - y): two terms
                // near 0 when a fits y, where a - y z + (y log y - y) would cancel large
                // ones. At y = 0 it is a (y log y -> 0), so that a perfect fit costs 0.
                let a = _exp(z[j])
                rowLoss += t > 0 ? t * (_log(t) - z[j]) + (a - t) : a
                dz?[j] = (a - t) * scale
            }
        }
        return rowLoss
    }

    /// The cross-entropy row with label smoothing e: targets t'_j = (1 - e) t_j + e / nOut
    /// (t the one-hot class, or the row of float targets), loss -sum t'_j log p_j, gradient
    /// (p_j sum t' - t'_j) scale (sum t' = 1 for one-hot and probability rows).
    func smoothedCrossEntropyRow(
        _ r: Int, logits z: UnsafePointer<Float>, dlogits dz: UnsafeMutablePointer<Float>?,
        targets: Targets, outputs nOut: Int, scale: Float, smoothing: Float
    ) -> Float {
        var zmax = z[0]
        for j in 1..<nOut { zmax = max(zmax, z[j]) }
        var sum: Float = 0
        for j in 0..<nOut { sum += _exp(z[j] - zmax) }
        let logSum = _log(sum)
        let uniform = smoothing / Float(nOut)
        func target(_ j: Int) -> Float {
            let label: Float
            switch targets {
            case .classes(let y): label = Int(y[r]) == j ? 1 : 0
            case .values(let y): label = y[r * nOut + j]
            }
            return (1 - smoothing) * label + uniform
        }
        var rowLoss: Float = 0, tsum: Float = 0
        for j in 0..<nOut {
            let t = target(j)
            tsum += t
            rowLoss -= t * (z[j] - zmax - logSum)
        }
        if let dz {
            for j in 0..<nOut { dz[j] = (_exp(z[j] - zmax - logSum) * tsum - target(j)) * scale }
        }
        return rowLoss
    }

    /// Adds to `sums` (nOut) each output's sum over `rows` rows of (output - y)^2, the
    /// outputs computed from the logits (z for MSE, e^z for Poisson): R^2's residuals.
    /// Nothing for the classification losses.
    /// - Parameter weights: (rows) or nil: each row's squares count weights[r] times.
    func addSquaredResiduals(
        into sums: UnsafeMutablePointer<Double>, logits: UnsafePointer<Float>, targets: Targets, rows: Int, outputs nOut: Int,
        weights: UnsafePointer<Float>? = nil
    ) {
        guard isRegression else { return }
        for r in 0..<rows {
            let w = Double(weights?[r] ?? 1)
            for j in 0..<nOut {
                let z = logits[r * nOut + j]
                let a = self == .poisson ? _exp(z) : z
                let diff = Double(a) - Double(targets.value(row: r, column: j, width: nOut))
                sums[j] += weights == nil ? diff * diff : w * (diff * diff)
            }
        }
    }

    /// The model's outputs from its logits, in place: softmax rows, sigmoid units, e^z, or
    /// the logits themselves.
    /// - Parameter za: (rows, nOut): logits on entry, outputs on return.
    func output(_ za: UnsafeMutablePointer<Float>, rows: Int, outputs nOut: Int) {
        switch self {
        case .meanSquaredError:
            return
        case .poisson:
            for i in 0..<rows * nOut { za[i] = _exp(za[i]) }
        case .binaryCrossEntropy:
            for i in 0..<rows * nOut { za[i] = logistic(za[i]) }
        case .crossEntropy:
            for r in 0..<rows {
                let z = za + r * nOut
                var zmax = z[0]
                for j in 1..<nOut { zmax = max(zmax, z[j]) }
                var sum: Float = 0
                for j in 0..<nOut {
                    z[j] = _exp(z[j] - zmax)
                    sum += z[j]
                }
                let inv = 1 / sum
                for j in 0..<nOut { z[j] *= inv }
            }
        }
    }

    /// The number of correct predictions among `rows` rows, counted from the logits: rows
    /// whose argmax matches (cross-entropy), outputs whose sign matches y >= 0.5 (binary
    /// cross-entropy). Not defined for the regression losses (returns 0). With `weights`
    /// (rows), each row's hits count weights[r] times.
    func correct(
        logits: UnsafePointer<Float>, targets: Targets, rows: Int, outputs nOut: Int, weights: UnsafePointer<Float>? = nil
    ) -> Double {
        var hits = 0.0
        for r in 0..<rows {
            let z = logits + r * nOut
            let w = Double(weights?[r] ?? 1)
            switch self {
            case .meanSquaredError, .poisson:
                return 0
            case .crossEntropy:
                let predicted = argmax(z, nOut)
                switch targets {
                case .classes(let y): if predicted == Int(y[r]) { hits += w }
                case .values(let y): if predicted == argmax(y + r * nOut, nOut) { hits += w }
                }
            case .binaryCrossEntropy:
                for j in 0..<nOut {
                    let positive: Bool
                    switch targets {
                    case .classes(let y): positive = y[r] >= 1
                    case .values(let y): positive = y[r * nOut + j] >= 0.5
                    }
                    if (z[j] >= 0) == positive { hits += w }
                }
            }
        }
        return hits
    }
}

/// The index of the largest of `count` values (the lowest on ties).
func argmax(_ values: UnsafePointer<Float>, _ count: Int) -> Int {
    var best = 0
    for j in 1..<max(count, 1) where values[j] > values[best] { best = j }
    return best
}
