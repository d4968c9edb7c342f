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
        rows: Range<Int>, of batchRows: Int, _ workspace: Workspace, weighting: Weighting? = nil
    ) -> Double {
        let layer = layers[0], nIn = layer.nIn, nOut = layer.nOut
        let weight = UnsafePointer(parameters + layer.weightOffset), bias = parameters + layer.biasOffset
        let gradients = workspace.gradients!
        let dweight = gradients + layer.weightOffset, dbias = gradients + layer.biasOffset
        dweight.update(repeating: 0, count: nOut * nIn)
        dbias.update(repeating: 0, count: nOut)
        let z = workspace.output(0), dz = workspace.delta
        let terms = loss.termsPerRow(outputs: nOut)
        let scale = 1 / (Float(weighting?.total ?? Double(batchRows)) * Float(terms))
        let weightScale = 1 / ((weighting?.total ?? 1) * Double(terms))
        let weights = weighting?.weights
        var total = 0.0
        let rowBytes = nIn * MemoryLayout<Float>.stride, ahead = Shuffle.readAhead
        if let indices {
            for i in rows.prefix(ahead) {
                minibatch_prefetch(x + indices[i] * nIn, rowBytes)
                targets.prefetch(row: indices[i], width: nOut)
            }
        }
        // Row k's outputs, loss and dz into slot b of z and dz; returns the row.
        func forward(_ k: Int, slot b: Int) -> UnsafePointer<Float> {
            let r = indices?[k] ?? k
            if let indices, k + ahead < rows.upperBound {
                minibatch_prefetch(x + indices[k + ahead] * nIn, rowBytes)
                targets.prefetch(row: indices[k + ahead], width: nOut)
            }
            let row = x + r * nIn, zb = z + b * nOut
            for j in 0..<nOut { zb[j] = dot(row, weight + j * nIn, nIn) + bias[j] }
            let w = weights?[r] ?? 1
            let rowLoss = loss.row(
                r, logits: zb, dlogits: dz + b * nOut, targets: targets, outputs: nOut,
                scale: weights == nil ? scale : Loss.weighted(w, weightScale), smoothing: workspace.labelSmoothing)
            total += Double(w) * Double(rowLoss) / Double(terms)
            return row
        }
        // Four rows at a time: their outputs and losses, then the gradient, each weight
        // updated by the four rows in row order in one pass (the same sums as row by row).
        var i = rows.lowerBound
        while i + 4 <= rows.upperBound {
            let r0 = forward(i, slot: 0), r1 = forward(i + 1, slot: 1)
            let r2 = forward(i + 2, slot: 2), r3 = forward(i + 3, slot: 3)
            for j in 0..<nOut {
                let d0 = dz[j], d1 = dz[nOut + j], d2 = dz[2 * nOut + j], d3 = dz[3 * nOut + j]
                let dw = dweight + j * nIn
                for k in 0..<nIn { dw[k] = dw[k] + d0 * r0[k] + d1 * r1[k] + d2 * r2[k] + d3 * r3[k] }
                dbias[j] = dbias[j] + d0 + d1 + d2 + d3
            }
            i += 4
        }
        while i < rows.upperBound {
            let row = forward(i, slot: 0)
            for j in 0..<nOut {
                let d = dz[j], dw = dweight + j * nIn
                for k in 0..<nIn { dw[k] += d * row[k] }
                dbias[j] += d
            }
            i += 1
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
