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
    func work(_ t: Int) {
        withSubnormalMode {
            if let subnormalModes { subnormalModes[t] |= SubnormalMode.bits }
            member(t)
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
            let first = network.layers[0]
            var allFinite = updateFirstWeights(
                first, units: (t * first.nOut / members)..<((t + 1) * first.nOut / members), input: input, rows: rows)
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
            // W += -learningRate * dz^T x, shard by shard, for this member's units.
            guard let (input, rows) = pending else { return }
            let first = network.layers[0], members = updateMembers
            let units = (t * first.nOut / members)..<((t + 1) * first.nOut / members)
            guard !units.isEmpty else { return }
            for s in 0..<shardsUsed {
                let rows = shard(s, of: rows)
                first.weightGradient(
                    network.parameters + first.weightOffset + units.lowerBound * first.nIn, units: units,
                    dz: workspaces[s].delta, input: input + rows.lowerBound * first.nIn, rows: rows.count,
                    scale: -rule.learningRate, accumulate: true)
            }
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
            deltaMagnitudes[i] = Magnitude(workspaces[i].delta, count: rows.count * network.layers[0].nOut)
        }
    }

    /// Makes the first layer's weight gradient for `units` (its rows of W) from the last
    /// gradient's shards, block by block, and writes each block's update into `spare`:
    /// whether every value written is finite. The shards' dz^T x products are added in
    /// shard order into member 0's gradient buffer, as the other parameters' are summed.
    private func updateFirstWeights(_ layer: Dense, units: Range<Int>, input: UnsafePointer<Float>, rows: Int) -> Bool {
        let perBlock = max(1, TrainingStep.firstWeightBlockFloats / layer.nIn)
        let blockUnits = perBlock >= 16 ? perBlock & ~15 : perBlock
        let gradient = gradients[0] + layer.weightOffset
        var allFinite = true
        var u = units.lowerBound
        while u < units.upperBound {
            let block = u..<min(u + blockUnits, units.upperBound)
            for s in 0..<shardsUsed {
                let rows = shard(s, of: rows)
                layer.weightGradient(
                    gradient + block.lowerBound * layer.nIn, units: block, dz: workspaces[s].delta,
                    input: input + rows.lowerBound * layer.nIn, rows: rows.count, accumulate: s > 0)
            }
            let range = (layer.weightOffset + block.lowerBound * layer.nIn)..<(layer.weightOffset + block.upperBound * layer.nIn)
            allFinite = rule.step(network.parameters, into: spare, gradients: gradients, shards: 1, range) && allFinite
            u = block.upperBound
        }
        return allFinite
    }
}
