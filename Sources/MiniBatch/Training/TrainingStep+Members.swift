/// The members' work: what each member of the team runs in each phase of a step.
extension TrainingStep {

    /// What the members work on: a batch's gradient, or the update.
    enum Phase {
        case gradient
        case update
        case fusedUpdate
        /// The general path: the shards' sum (more than two), the gradient's norm, the rule.
        case sum
        case norm
        case rule
    }

    /// The batch of the current gradient phase.
    struct Batch {
        var source: BatchSource
        var index: Int
        var rows: Int
        var shards: Int
        var inPlace: RowsInPlace?
        var input: UnsafePointer<Float>
        var targets: Targets
        /// The shards leave the first layer's dW to the fused update.
        var fused: Bool
        /// The rows' sample weights, if any.
        var weighting: Weighting?
        /// The batch's dropout key (`Dropout.batchKey`), with dropout.
        var dropoutKey: UInt64
    }

    /// Members of the update: the whole team, unless the parameters are too few to share.
    var updateMembers: Int {
        network.parameterCount >= TrainingStep.minimumSplitUpdate ? team.size : 1
    }

    /// Runs `phase` on members 0..<members: on the calling thread alone if that is one.
    func run(_ phase: Phase, members: Int) {
        self.phase = phase
        if members == 1 { work(0) } else { team.run(job!) }
    }

    /// `member(t)` with subnormals flushed to zero while it runs, or kept
    /// (`flushesDenormals`, `TrainingOptions.flushesDenormals`): each member sets its own
    /// thread's control word either way (a kept team's threads, or the caller's, may have
    /// had either) and puts back what it was, so that nothing outside a phase (the caller's
    /// code between batches, a progress callback, the rest of the process) runs with it.
    /// Its products run as a training step's (`MatrixBackend.trainingProducts`), validation's
    /// and predictions' between batches as a prediction's.
    func work(_ t: Int) {
        withSubnormalMode {
            if let subnormalModes { subnormalModes[t] |= SubnormalMode.bits }
            MatrixBackend.trainingProducts { member(t) }
        }
    }

    /// `body` with this thread's subnormals flushed or kept as `flushesDenormals` says: the
    /// members' phases (`work`), and what the calling thread computes of a step itself.
    func withSubnormalMode<T>(_ body: () -> T) -> T {
        SubnormalMode.with(flushing: flushesDenormals, body)
    }

    func member(_ t: Int) {
        switch phase {
        case .gradient:
            // Member t computes local shards t, t + members, ...: shard (local.lowerBound + i)
            // of the batch into workspace i.
            guard batch != nil else { return }
            for i in stride(from: t, to: local.count, by: team.size) { gradient(ofShard: local.lowerBound + i, into: i) }
        case .update:
            let count = network.parameterCount, members = updateMembers
            guard let (input, rows) = pending else {
                let range = (t * count / members)..<((t + 1) * count / members)
                finite[t] = rule.step(network.parameters, into: spare, gradients: gradients, shards: updateShards, range)
                return
            }
            // The shards left the first layer's dW out: it is made here, block by block.
            var allFinite = updateFirstWeights(part: firstWeightShare(t, of: members), input: input, rows: rows)
            let others = otherParameters
            let othersMembers = others.count >= TrainingStep.minimumSplitUpdate ? members : 1
            if t < othersMembers {
                let n = others.count
                let share = (others.lowerBound + t * n / othersMembers)..<(others.lowerBound + (t + 1) * n / othersMembers)
                allFinite = rule.step(network.parameters, into: spare, gradients: gradients, shards: shardsUsed, share)
                    && allFinite
            }
            finite[t] = allFinite
        case .sum:
            sumShards(gradients, shards: updateShards, slice(t, of: updateMembers))
        case .norm:
            let count = network.parameterCount, parts = TrainingStep.normParts
            for p in stride(from: t, to: parts, by: updateMembers) {
                norms[p] = gradientSquares(buffers, (p * count / parts)..<((p + 1) * count / parts), l2: terms.l2, segments: segments)
            }
        case .rule:
            finite[t] = applyRule(slice(t, of: updateMembers))
        case .fusedUpdate:
            // W += -learningRate * dz^T x, shard by shard, for this member's rows of W (its
            // units); kept transposed, W^T += x^T (-learningRate * dz), for its rows of W^T
            // (its inputs), with the shards' dz scaled as they were made (`gradient(ofShard:)`).
            // Block by block (`forEachFirstWeightBlock`), as the checked way.
            guard let (input, rows) = pending else { return }
            let length = firstWeightRows.length
            let weights = network.parameters + network.layers[0].weightOffset
            forEachFirstWeightBlock(of: firstWeightShare(t, of: updateMembers)) { block in
                for s in 0..<shardsUsed {
                    firstWeightGradient(
                        weights + block.lowerBound * length, part: block, shard: s, input: input,
                        rows: shard(s, of: rows), timesRate: true, accumulate: true)
                }
            }
        }
    }

    /// The first layer's weight matrix as the batches hold it now: its rows (W's units, or
    /// W^T's inputs while it is kept transposed) and a row's length.
    var firstWeightRows: (count: Int, length: Int) {
        let first = network.layers[0]
        return firstWeightsTransposed ? (first.nIn, first.nOut) : (first.nOut, first.nIn)
    }

    /// Rows of that matrix made at a time by the update's products (`firstWeightBlockFloats`
    /// of them, a multiple of 16 rows where that is at least 16; at most
    /// `firstWeightBlockMaximumRows`).
    var firstWeightBlockRows: Int {
        let perBlock = max(1, TrainingStep.firstWeightBlockFloats / firstWeightRows.length)
        return min(TrainingStep.firstWeightBlockMaximumRows, perBlock >= 16 ? perBlock & ~15 : perBlock)
    }

    /// Member t's rows of the matrix in the update (of `members`): whole blocks of
    /// `firstWeightBlockRows`, the last block perhaps shorter.
    func firstWeightShare(_ t: Int, of members: Int) -> Range<Int> {
        let count = firstWeightRows.count, rows = firstWeightBlockRows
        let blocks = (count + rows - 1) / rows
        return min(count, t * blocks / members * rows)..<min(count, (t + 1) * blocks / members * rows)
    }

    /// `body` on `share`'s blocks, each starting at a multiple of `firstWeightBlockRows`: every block is
    /// one product of the same rows on any number of members, so a weight's new value is
    /// too (a kernel's order of sums can depend on how many rows it is given: libxsmm's
    /// AVX-512 kernels sum a last block of up to 16 of C^T's rows in partial sums that depend on
    /// how it cuts the others; and without AVX-512, whether libxsmm runs a product depends on
    /// its size).
    /// (A loop, not an array: nothing is allocated per batch.)
    func forEachFirstWeightBlock(of share: Range<Int>, _ body: (Range<Int>) -> Void) {
        let rows = firstWeightBlockRows
        var start = share.lowerBound
        while start < share.upperBound {
            body(start..<min(start + rows, share.upperBound))
            start += rows
        }
    }

    /// Rows `part` (of `firstWeightRows`) of the first layer's weight gradient from shard `s`
    /// (its dz and its `rows` of the batch's `input`), or with `timesRate` of -learningRate
    /// times it (the fused update), in the layout the batches hold W in: written to `out`, the
    /// matrix's row `part.lowerBound`, or added to it. Kept transposed, -learningRate * dz is
    /// the shard's own, scaled as it was made (`gradient(ofShard:)`); otherwise mbm_sgemm
    /// scales dz's columns `part` (its alpha).
    private func firstWeightGradient(
        _ out: UnsafeMutablePointer<Float>, part: Range<Int>, shard s: Int, input: UnsafePointer<Float>,
        rows: Range<Int>, timesRate: Bool = false, accumulate: Bool
    ) {
        let first = network.layers[0], x = input + rows.lowerBound * first.nIn, workspace = workspaces[s]
        if firstWeightsTransposed {
            let dz = UnsafePointer(timesRate ? workspace.deltaOther : workspace.delta)
            first.transposedWeightGradient(out, inputs: part, dz: dz, input: x, rows: rows.count, accumulate: accumulate)
        } else {
            first.weightGradient(
                out, units: part, dz: workspace.delta, input: x, rows: rows.count, scale: timesRate ? -rule.learningRate : 1,
                accumulate: accumulate)
        }
    }

    /// Shard `g` of the current batch (`batch`): its cost into `costs[i]` and its gradient
    /// into workspace i; a failure into `failures[i]`.
    private func gradient(ofShard g: Int, into i: Int) {
        guard let batch else { return }
        let rows = shard(g, of: batch.rows)  // (shardsUsed is batch.shards)
        if let inPlace = batch.inPlace {
            costs[i] = network.rowByRowCostAndGradient(
                x: inPlace.x, indices: inPlace.indices, targets: inPlace.targets,
                rows: rows, of: batch.rows, workspaces[i], weighting: batch.weighting)
            return
        }
        // The shard in chunks of up to a workspace's rows (`rowsAtATime`: one chunk when the
        // fused update may need the shard's whole dz), each gathered just before its
        // forward pass. Rows are measured (and checked) in the copy only when the fused
        // update or the first epoch needs it; otherwise the plain copy, which is cheaper.
        let measures = batch.fused || checksValues
        var magnitude: Magnitude? = Magnitude()
        let workspace = workspaces[i]
        if let dropout { workspace.dropout = DropoutPass(dropout: dropout, batchKey: batch.dropoutKey, firstRow: 0) }
        do throws(MiniBatchError) {
            costs[i] = try network.costAndGradient(
                batch.input, batch.targets, rows: rows, of: batch.rows, workspace, firstWeights: !batch.fused,
                weighting: batch.weighting
            ) { part throws(MiniBatchError) in
                // Dropout draws by the rows' positions in the batch.
                workspace.dropout?.firstRow = part.lowerBound
                if measures {
                    let m = try batch.source.fillMeasured(batch.index, rows: part, checking: checksValues)
                    if let m { magnitude?.add(m) } else { magnitude = nil }
                } else {
                    try batch.source.fill(batch.index, rows: part)
                }
            }
        } catch {
            failures[i] = error
            return
        }
        if measures { inputMagnitudes[i] = magnitude }
        if batch.fused {
            // The first layer's dz, which the fused update's bound needs.
            let count = rows.count * network.layers[0].nOut, workspace = workspaces[i]
            deltaMagnitudes[i] = Magnitude(workspace.delta, count: count)
            if firstWeightsTransposed {
                // -learningRate * dz, for the fused update of W^T, which then multiplies with
                // alpha 1 (once per shard, where mbm_sgemm would copy alpha x^T for every
                // block), in the free gradient buffer, which holds rows x the widest layer.
                let rate = -rule.learningRate, dz = workspace.delta, scaled = workspace.deltaOther
                for j in 0..<count { scaled[j] = rate * dz[j] }
            }
        }
    }

    /// Makes the first layer's weight gradient for rows `part` of its matrix (`firstWeightRows`:
    /// W's units, or W^T's inputs; `firstWeightShare`) from the last gradient's shards, block
    /// by block (`forEachFirstWeightBlock`), and writes each block's update into `spare`: whether
    /// every value written is finite. The shards' products are added in shard order into
    /// member 0's gradient buffer, as the other parameters' are summed.
    private func updateFirstWeights(part: Range<Int>, input: UnsafePointer<Float>, rows: Int) -> Bool {
        let length = firstWeightRows.length, offset = network.layers[0].weightOffset
        let gradient = gradients[0] + offset
        var allFinite = true
        forEachFirstWeightBlock(of: part) { block in
            for s in 0..<shardsUsed {
                firstWeightGradient(
                    gradient + block.lowerBound * length, part: block, shard: s, input: input,
                    rows: shard(s, of: rows), accumulate: s > 0)
            }
            let range = (offset + block.lowerBound * length)..<(offset + block.upperBound * length)
            allFinite = rule.step(network.parameters, into: spare, gradients: gradients, shards: 1, range) && allFinite
        }
        return allFinite
    }
}
