import CIntrinsics

// MARK: - Models without a hidden layer, one row at a time

extension Network {
    /// Whether training computes this network's gradient row by row, straight from the
    /// rows of X: a model without a hidden layer (linear, logistic or softmax regression)
    /// with at most 4 outputs. Its products are too thin for BLAS to be faster than the
    /// memory traffic of a gathered batch, so the rows are not gathered at all: each one is
    /// read once, where it is, for both its outputs and its share of the gradient.
    var trainsRowByRow: Bool { layers.count == 1 && outputCount <= 4 }

    /// The summed cost of rows `rows` of a batch of `batchRows` rows, and their share of
    /// the gradient of the batch's mean cost in `workspace.gradients`, as `costAndGradient`
    /// computes them for a network where `trainsRowByRow`.
    /// - Parameters:
    ///   - x: the rows: row i of the batch is row `indices[i]` of x (or row i without indices).
    ///   - targets: indexed like x.
    func rowByRowCostAndGradient(
        x: UnsafePointer<Float>, indices: UnsafePointer<Int>?, targets: Targets,
        rows: Range<Int>, of batchRows: Int, _ workspace: Workspace
    ) -> Double {
        let layer = layers[0], nIn = layer.nIn, nOut = layer.nOut
        let weight = UnsafePointer(parameters + layer.weightOffset), bias = parameters + layer.biasOffset
        let gradients = workspace.gradients!
        let dweight = gradients + layer.weightOffset, dbias = gradients + layer.biasOffset
        dweight.update(repeating: 0, count: nOut * nIn)
        dbias.update(repeating: 0, count: nOut)
        let z = workspace.output(0), dz = workspace.delta
        let terms = loss.termsPerRow(outputs: nOut)
        let scale = 1 / (Float(batchRows) * Float(terms))
        var total = 0.0
        let rowBytes = nIn * MemoryLayout<Float>.stride, ahead = Shuffle.readAhead
        if let indices {
            for i in rows.prefix(ahead) {
                minibatch_prefetch(x + indices[i] * nIn, rowBytes)
                targets.prefetch(row: indices[i], width: nOut)
            }
        }
        for i in rows {
            let r = indices?[i] ?? i
            if let indices, i + ahead < rows.upperBound {
                minibatch_prefetch(x + indices[i + ahead] * nIn, rowBytes)
                targets.prefetch(row: indices[i + ahead], width: nOut)
            }
            let row = x + r * nIn
            for j in 0..<nOut { z[j] = dot(row, weight + j * nIn, nIn) + bias[j] }
            let rowLoss = loss.row(r, logits: z, dlogits: dz, targets: targets, outputs: nOut, scale: scale)
            total += Double(rowLoss) / Double(terms)
            for j in 0..<nOut {
                let d = dz[j], dw = dweight + j * nIn
                for k in 0..<nIn { dw[k] += d * row[k] }
                dbias[j] += d
            }
        }
        return total
    }
}

/// The dot product of `count` floats, in a fixed order: eight lanes of partial sums
/// over blocks of 8, the lanes added, then the tail.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        let offset = i * MemoryLayout<Float>.stride
        lanes += ra.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
        i += 8
    }
    var sum = lanes.sum()
    while i < count {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}
