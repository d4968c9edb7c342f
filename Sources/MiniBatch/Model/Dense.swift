import CMatrix

/// A fully connected layer: z = a_prev W^T + b, then the activation.
///
/// Its three products go through the matrix backend (`mbm_sgemm`, Sources/CMatrix), row-major
/// with `trans_a`, `trans_b` flags as cblas_sgemm takes them.
///
/// W is (nOut, nIn) row-major and b is (nOut); both live in the network's flat parameter
/// buffer at `weightOffset` and `biasOffset`, and their gradients at the same offsets of
/// the flat gradient buffer.
public struct Dense: Sendable, Equatable {
    public let nIn: Int
    public let nOut: Int
    /// The activation; for the output layer, `.linear` (the loss applies its own output).
    public let activation: Activation
    public let weightOffset: Int
    public let biasOffset: Int

    public var parameterCount: Int { nOut * nIn + nOut }
}

// MARK: - Forward and backward

extension Dense {
    /// out = g(input W^T + b).
    /// - Parameters:
    ///   - out: (rows, nOut), row-major.
    ///   - input: (rows, nIn), row-major.
    ///   - parameters: the network's flat parameters.
    ///   - keeping: where z is kept for the backward pass (`Activation.forward`), or nil.
    func forward(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        parameters: UnsafePointer<Float>, rows: Int, keeping: UnsafeMutablePointer<Float>? = nil
    ) {
        let weight = parameters + weightOffset  // (nOut, nIn)
        mbm_sgemm(
            0, 1, Int32(rows), Int32(nOut), Int32(nIn),
            1, input, Int32(nIn), weight, Int32(nIn), 0, out, Int32(nOut))
        activation.forward(out, bias: parameters + biasOffset, rows: rows, width: nOut, keeping: keeping)
    }

    /// `forward` with W held transposed, as W^T (nIn, nOut), where training keeps it so
    /// (`mbm_training_transposes_first_weights`): x (W^T), a product libxsmm runs.
    func forwardTransposed(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        parameters: UnsafePointer<Float>, rows: Int, keeping: UnsafeMutablePointer<Float>? = nil
    ) {
        mbm_sgemm(
            0, 0, Int32(rows), Int32(nOut), Int32(nIn),
            1, input, Int32(nIn), parameters + weightOffset, Int32(nOut), 0, out, Int32(nOut))
        activation.forward(out, bias: parameters + biasOffset, rows: rows, width: nOut, keeping: keeping)
    }

    /// Whether training keeps this layer's W transposed when it is the first layer.
    var trainsTransposed: Bool { mbm_training_transposes_first_weights(Int32(nOut), Int32(nIn)) != 0 }

    /// Writes the W block of the flat buffer `source` into that of `target`, transposed: the
    /// model's (nOut, nIn) into training's W^T (nIn, nOut) when `toTraining`, else back.
    func transposeWeights(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, toTraining: Bool) {
        let (rows, columns) = toTraining ? (nOut, nIn) : (nIn, nOut)
        mbm_transpose(source + weightOffset, Int32(rows), Int32(columns), target + weightOffset)
    }

    /// Given dz (the gradient with respect to this layer's pre-activation), writes dW, db and,
    /// if `dinput` is given, the gradient with respect to the input, d input = dz W.
    /// The caller then turns d input into the previous layer's dz with that layer's
    /// activation backward.
    /// - Parameters:
    ///   - dinput: (rows, nIn) or nil for the first layer.
    ///   - gradients: the network's flat gradients; dW and db are overwritten (or added to).
    ///   - dz: (rows, nOut).
    ///   - input: (rows, nIn), the input of the forward pass.
    ///   - weights: false leaves dW unwritten (for `weightGradient` to make later).
    ///   - accumulate: adds dW and db to what `gradients` holds instead of overwriting it.
    ///   - transposed: W is held as W^T (`forwardTransposed`): dW is written as dW^T
    ///     (nIn, nOut) = input^T dz, and there is no d input (a first layer).
    func backward(
        dinput: UnsafeMutablePointer<Float>?, gradients: UnsafeMutablePointer<Float>,
        dz: UnsafePointer<Float>, input: UnsafePointer<Float>,
        parameters: UnsafePointer<Float>, rows: Int, weights: Bool = true, accumulate: Bool = false,
        transposed: Bool = false
    ) {
        precondition(!transposed || dinput == nil, "W^T is kept for a first layer only")
        if transposed {
            if weights {
                // (nIn, rows) x (rows, nOut): the input, transposed, times dz.
                transposedWeightGradient(
                    gradients + weightOffset, inputs: 0..<nIn, dz: dz, input: input, rows: rows, accumulate: accumulate)
            }
        } else if weights {
            weightGradient(gradients + weightOffset, units: 0..<nOut, dz: dz, input: input, rows: rows, accumulate: accumulate)
        }
        // db = column sums of dz
        let dbias = gradients + biasOffset
        if !accumulate { dbias.update(repeating: 0, count: nOut) }
        mbm_column_sums(dbias, dz, rows, nOut)
        // d input = dz W: (rows, nOut) x (nOut, nIn)
        if let dinput {
            mbm_sgemm(
                0, 0, Int32(rows), Int32(nIn), Int32(nOut),
                1, dz, Int32(nOut), parameters + weightOffset, Int32(nIn), 0, dinput, Int32(nIn))
        }
    }

    /// `sums` (nOut) += the column sums of dz (rows, nOut), row by row: db, the readable
    /// form of `mbm_column_sums` (`layers.h`), which `backward` runs.
    static func columnSumsPlain(_ sums: UnsafeMutablePointer<Float>, _ dz: UnsafePointer<Float>, rows: Int, width: Int) {
        for r in 0..<rows {
            let row = dz + r * width
            for j in 0..<width { sums[j] += row[j] }
        }
    }

    /// Rows `units` of scale * dW = scale * dz^T input, (units.count, nIn), written to `out`
    /// (a matrix with rows of nIn, at dW's row `units.lowerBound`), or added to what `out`
    /// holds if `accumulate`.
    /// - Parameters:
    ///   - dz: (rows, nOut), row-major.
    ///   - input: (rows, nIn), row-major.
    func weightGradient(
        _ out: UnsafeMutablePointer<Float>, units: Range<Int>, dz: UnsafePointer<Float>,
        input: UnsafePointer<Float>, rows: Int, scale: Float = 1, accumulate: Bool
    ) {
        // (units, rows) x (rows, nIn): dz's columns `units`, transposed, times the input.
        mbm_sgemm(
            1, 0, Int32(units.count), Int32(nIn), Int32(rows),
            scale, dz + units.lowerBound, Int32(nOut), input, Int32(nIn), accumulate ? 1 : 0, out, Int32(nIn))
    }

    /// Rows `inputs` of dW^T = input^T dz, (inputs.count, nOut), written to `out` (a matrix
    /// with rows of nOut, at dW^T's row `inputs.lowerBound`), or added to what `out` holds if
    /// `accumulate`: `weightGradient` for W held transposed (the fused update passes a dz
    /// already scaled by -learningRate).
    func transposedWeightGradient(
        _ out: UnsafeMutablePointer<Float>, inputs: Range<Int>, dz: UnsafePointer<Float>,
        input: UnsafePointer<Float>, rows: Int, accumulate: Bool
    ) {
        // (inputs, rows) x (rows, nOut): the input's columns `inputs`, transposed, times dz.
        mbm_sgemm(
            1, 0, Int32(inputs.count), Int32(nOut), Int32(rows),
            1, input + inputs.lowerBound, Int32(nIn), dz, Int32(nOut), accumulate ? 1 : 0, out, Int32(nOut))
    }
}
