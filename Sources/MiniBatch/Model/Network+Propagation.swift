import CMatrix

// MARK: - Forward and backward through the whole network

extension Network {
    /// Runs every layer on `rows` rows of `input` and returns the output layer's logits,
    /// (rows, nOut), inside `workspace`.
    /// - Parameter input: (rows, nIn), row-major.
    /// A training workspace whose `firstWeightsTransposed` is set reads the first layer's W
    /// as W^T, the layout training keeps it in (`TrainingStep.arrangeFirstWeights`); one with
    /// its own `parameters` reads those (`gradient`).
    ///
    /// With `workspace.dropout` set, each hidden layer's output is dropped (`Dropout`) into
    /// `workspace.dropped(l)`, which the layer above reads; `workspace.output(l)` keeps the
    /// layer's own output, which the activation's backward needs.
    func forward(_ input: UnsafePointer<Float>, rows: Int, _ workspace: Workspace) -> UnsafeMutablePointer<Float> {
        let parameters = workspace.parameters ?? UnsafePointer(self.parameters)
        var a = input
        for (l, layer) in layers.enumerated() {
            let out = workspace.output(l)
            let z = workspace.preactivation(l)
            if l == 0 && workspace.firstWeightsTransposed {
                layer.forwardTransposed(out: out, input: a, parameters: parameters, rows: rows, keeping: z)
            } else {
                layer.forward(out: out, input: a, parameters: parameters, rows: rows, keeping: z)
            }
            a = UnsafePointer(out)
            if let pass = workspace.dropout, l + 1 < layers.count {
                let dropped = workspace.dropped(l)
                pass.dropout.apply(
                    a, dropped: dropped, mask: workspace.mask(l), rows: rows, width: layer.nOut,
                    key: Dropout.layerKey(pass.batchKey, layer: l), firstRow: pass.firstRow)
                a = UnsafePointer(dropped)
            }
        }
        return workspace.output(layers.count - 1)
    }

    /// The forward pass run in reverse: from dlogits, already in `workspace.delta`, writes
    /// every parameter's gradient into `workspace.gradients`. Layer l's backward gives d input,
    /// which the activation of layer l - 1 turns into that layer's dz.
    /// - Parameters:
    ///   - input: the same (rows, nIn) input as the forward pass.
    ///   - firstWeights: false leaves layer 0's dW out; its dz stays in `workspace.delta`.
    ///   - accumulate: adds to the gradients `workspace.gradients` holds (another part of
    ///     the same batch's) instead of overwriting them.
    func backward(
        _ input: UnsafePointer<Float>, rows: Int, _ workspace: Workspace, firstWeights: Bool = true, accumulate: Bool = false
    ) {
        let gradients = workspace.gradients!
        let parameters = workspace.parameters ?? UnsafePointer(self.parameters)
        let drops = workspace.dropout != nil
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            // The input the forward pass gave this layer: the dropped output below, with dropout.
            let layerInput = l == 0 ? input : UnsafePointer(drops ? workspace.dropped(l - 1) : workspace.output(l - 1))
            let dinput = l == 0 ? nil : workspace.deltaOther
            layer.backward(dinput: dinput, gradients: gradients, dz: workspace.delta,
                           input: layerInput, parameters: parameters, rows: rows,
                           weights: l > 0 || firstWeights, accumulate: accumulate,
                           transposed: l == 0 && workspace.firstWeightsTransposed)
            if let dinput {
                if drops { Dropout.backward(dinput, mask: workspace.mask(l - 1), count: rows * layer.nIn) }
                layers[l - 1].activation.backward(
                    dinput, output: workspace.output(l - 1), preactivation: workspace.preactivation(l - 1), count: rows * layer.nIn)
                swap(&workspace.delta, &workspace.deltaOther)
            }
        }
    }

    /// Forward, cost and backward for one batch: returns the batch's mean cost and leaves
    /// the gradients in `workspace.gradients`.
    func costAndGradient(_ input: UnsafePointer<Float>, _ targets: Targets, rows: Int, _ workspace: Workspace) -> Double {
        costAndGradient(input, targets, rows: rows, of: rows, workspace) / Double(rows)
    }

    /// Forward, cost and backward for `rows` rows that are part of a batch of `batchRows`:
    /// returns the rows' summed cost and leaves in `workspace.gradients` their share of the
    /// gradient of the batch's mean cost (the shares of a batch's parts add up to it).
    /// Models without a hidden layer take the row-by-row kernel (`trainsRowByRow`).
    /// - Parameters:
    ///   - firstWeights: false leaves layer 0's dW out of the layered path (its dz stays in
    ///     `workspace.delta`); the row-by-row kernel always writes every gradient.
    ///   - accumulate: the layered path adds the rows' share to the gradients already in
    ///     `workspace.gradients` (an earlier part of the same batch) instead of overwriting them.
    ///   - weighting: the rows' sample weights (indexed like `targets`) and the batch's total
    ///     weight, which then replaces `batchRows` as the mean's divisor.
    func costAndGradient(
        _ input: UnsafePointer<Float>, _ targets: Targets, rows: Int, of batchRows: Int, _ workspace: Workspace,
        firstWeights: Bool = true, accumulate: Bool = false, weighting: Weighting? = nil
    ) -> Double {
        guard !trainsRowByRow else {
            assert(!accumulate, "the row-by-row kernel overwrites the gradients")
            return rowByRowCostAndGradient(
                x: input, indices: nil, targets: targets, rows: 0..<rows, of: batchRows, workspace, weighting: weighting)
        }
        return layeredCostAndGradient(
            input, targets, rows: rows, of: batchRows, workspace, firstWeights: firstWeights, accumulate: accumulate,
            weighting: weighting)
    }

    /// `costAndGradient` for rows `rows` of `input` and `targets`, taken in the fewest
    /// near-equal chunks of at most `workspace.capacity` rows, the chunks' gradients added
    /// up: returns the rows' summed cost. `prepare` runs on each chunk's rows just before
    /// its forward pass (to gather them); what it throws stops the pass.
    func costAndGradient(
        _ input: UnsafePointer<Float>, _ targets: Targets, rows: Range<Int>, of batchRows: Int, _ workspace: Workspace,
        firstWeights: Bool = true, weighting: Weighting? = nil, prepare: (Range<Int>) throws(MiniBatchError) -> Void
    ) throws(MiniBatchError) -> Double {
        let chunks = (rows.count + workspace.capacity - 1) / workspace.capacity
        var cost = 0.0
        for c in 0..<chunks {
            let part = Network.part(c, of: chunks, in: rows)
            try prepare(part)
            cost += costAndGradient(
                input + part.lowerBound * inputCount, targets.advanced(by: part.lowerBound, width: outputCount),
                rows: part.count, of: batchRows, workspace, firstWeights: firstWeights, accumulate: c > 0,
                weighting: weighting?.advanced(by: part.lowerBound))
        }
        return cost
    }

    /// `costAndGradient` through the layers: forward, the loss, backward, with BLAS.
    func layeredCostAndGradient(
        _ input: UnsafePointer<Float>, _ targets: Targets, rows: Int, of batchRows: Int, _ workspace: Workspace,
        firstWeights: Bool = true, accumulate: Bool = false, weighting: Weighting? = nil
    ) -> Double {
        let logits = forward(input, rows: rows, workspace)
        let sum = loss.forwardBackward(
            dlogits: workspace.delta, logits: logits, targets: targets,
            rows: rows, outputs: outputCount, normalizer: weighting?.total ?? Double(batchRows),
            weights: weighting?.weights, smoothing: workspace.labelSmoothing)
        backward(input, rows: rows, workspace, firstWeights: firstWeights, accumulate: accumulate)
        return sum
    }
}

/// Sample weights of a batch's rows: each row's loss counts its weight times, and the
/// batch's cost is sum(w * loss) / sum(w) (scikit-learn's `sample_weight`).
struct Weighting {
    /// Indexed like the rows' targets (the batch's rows, or X's rows through indices).
    var weights: UnsafePointer<Float>
    /// The whole batch's total weight (> 0), the divisor of the mean.
    var total: Double
    /// The total of the caller's weights (`total` over `DataView.weightScale`, exact): the
    /// divisor of the L2 term, as the header's sum(w).
    var penaltyTotal: Double

    func advanced(by rows: Int) -> Weighting { Weighting(weights: weights + rows, total: total, penaltyTotal: penaltyTotal) }
}
