// MARK: - The automatic batch size and its memory estimate

extension Network {
    /// The working memory, in bytes, that training with one thread allocates for
    /// `batchSize`: the gathered batch (batchSize x (nIn + nOut) floats); every layer's
    /// output and two gradient buffers of the widest layer for the rows forward and backward
    /// take at a time (up to 256: `TrainingStep.rowsAtATime`; the whole batch when the first
    /// layer's update may be fused, from 2^18 weights, or the model has no hidden layer);
    /// the parameter gradients, the updated parameters and the parameters at the start of
    /// the call (kept until the first epoch has checked X's values). Each further shard
    /// adds a workspace of its own (`trainingMemoryBeyondWorkingMemory`). The caller's data
    /// and the permutation (8 bytes per example) are not counted.
    public func workingMemory(batchSize: Int) throws(MiniBatchError) -> Int {
        try Validate.size(batchSize, "batch_size")
        let batch = try Validate.product(batchSize, inputCount + outputCount, "the batch")
        let units = layers.reduce(0) { $0 + $1.nOut } + 2 * maxWidth + preactivationUnits
        let rows = TrainingStep.rowsAtATime(
            self, shardRows: batchSize, mayFuse: TrainingStep.fusesFirstWeights(self))
        let work = try Validate.product(rows, units, "the activations")
        let (floats, overflow) = (batch + work).addingReportingOverflow(3 * parameterCount)
        guard !overflow, floats <= Int.max / 8 else { throw .invalid("batch_size \(batchSize) is too large") }
        return floats * MemoryLayout<Float>.stride
    }

    /// The seed's rule: with fewer than 2000 examples, one batch (batch gradient descent);
    /// otherwise the largest power of two from 512 down to 64 whose working memory fits
    /// `memoryBudget` bytes (0: no limit).
    public func automaticBatchSize(count m: Int, memoryBudget: Int) throws(MiniBatchError) -> Int {
        try automaticBatchSize(count: m, memoryBudget: memoryBudget) { _ in (0, "") }
    }

    /// The rule, with `beside(batchSize)` (bytes a training call holds beyond
    /// `workingMemory` at that batch size, and what holds them) in the budget too.
    private func automaticBatchSize(
        count m: Int, memoryBudget: Int, beside: (Int) -> (bytes: Int, what: String)
    ) throws(MiniBatchError) -> Int {
        try Validate.count(m, "m")
        try Validate.memoryBudget(memoryBudget)
        if m < 2000 { return m }
        for size in [512, 256, 128, 64] {
            if memoryBudget == 0 { return size }
            let bytes = try workingMemory(batchSize: size)
            if bytes <= memoryBudget && beside(size).bytes <= memoryBudget - bytes { return size }
        }
        let needed = try workingMemory(batchSize: 64)
        let more = beside(64)
        guard more.bytes > 0 else {
            throw .invalid("memory_budget \(memoryBudget) bytes is too small: the smallest automatic batch (64) needs \(needed) bytes")
        }
        let total = needed.addingSaturated(more.bytes)
        throw .invalid("memory_budget \(memoryBudget) bytes is too small: the smallest automatic batch (64) needs \(needed) bytes, and these options \(more.bytes) more (\(more.what)): \(total == Int.max ? "more than 2^63" : String(total)) in all")
    }

    /// Bytes a training call with `options` holds beyond `workingMemory(batchSize:)` (which
    /// counts one thread and plain gradient descent), and what holds them: the update rule's
    /// state, its next value and the call's starting point (3 x slots x n_parameters
    /// floats), each further shard's workspace (the threads, or the shards asked for, as
    /// many as a batch of `batchSize` rows is cut into: its gradient, n_parameters floats,
    /// and every layer's outputs and two gradient buffers of the widest layer for the rows
    /// it takes at a time of its shard, `Workspace.floatCount`), dropout's
    /// dropped outputs and masks (2 x the hidden units x the rows a pass takes, per shard), early
    /// stopping's best weights (n_parameters floats, with restore_best, patience and a
    /// validation set), and the validation set's workspace (min(validation rows, 256) rows
    /// of every layer's outputs). The caller's data, and the copy of a validation_fraction
    /// split, are data and not counted (as the permutation is not). Saturates at Int.max.
    /// `count`: the training rows, whose last batch, when smaller, may be cut into fewer
    /// shards of more rows each (every workspace is made for the larger); nil: full batches.
    func trainingMemoryBeyondWorkingMemory(
        _ options: TrainingOptions, batchSize: Int, validationRows: Int, count m: Int? = nil
    ) -> (bytes: Int, what: String) {
        var parts: [String] = []
        var floats = 0
        func add(_ count: Int, times: Int, _ what: String) {
            guard count > 0, times > 0 else { return }
            let (product, overflow) = count.multipliedReportingOverflow(by: times)
            floats = overflow ? Int.max : floats.addingSaturated(product)
            parts.append(what)
        }
        add(3 * Optimizer.slots(options.updateRule.kind), times: parameterCount, "the update rule's state")
        // This process's workspaces, as `TrainingStep.init` makes them: one per shard of the
        // full batch or the last (the more shards), each for the rows a shard of either
        // takes at a time; the first is counted already by `workingMemory`, for the rows the
        // whole batch takes at a time (at least as many).
        let ranks = max(1, options.distribution?.size ?? 1)
        let (counts, capacity) = TrainingStep.workspaceShape(
            self, partition: Partition(count: m ?? batchSize, batchSize: batchSize, lastBatch: options.lastBatch),
            team: TrainingStep.layout(options), mayFuse: TrainingStep.fusesFirstWeights(self))
        let workspaces = max(1, (counts.max()! + ranks - 1) / ranks)
        add(workspaces - 1, times: Workspace.floatCount(for: self, capacity: capacity, backward: true),
            "further shards' workspaces")
        if options.dropout > 0 && !trainsRowByRow {
            // Each workspace's hidden layers' dropped outputs and masks.
            add(workspaces, times: Workspace.dropoutFloatCount(for: self, capacity: capacity), "dropout's masks")
        }
        let keepsBest = validationRows > 0 && options.earlyStopping.restoreBest && options.earlyStopping.patience > 0
        add(keepsBest ? 1 : 0, times: parameterCount, "early stopping's best weights")
        add(min(validationRows, Network.chunkRows), times: layers.reduce(0) { $0 + $1.nOut }, "the validation workspace")
        let bytes = floats > Int.max / MemoryLayout<Float>.stride ? Int.max : floats * MemoryLayout<Float>.stride
        return (bytes, parts.joined(separator: ", "))
    }

    /// A batch size option resolved for `m` examples of a training call with `options` (the
    /// automatic size keeps the options' memory beyond the batch in the budget too).
    func resolve(
        _ batchSize: BatchSize, count m: Int, options: TrainingOptions, validationRows: Int
    ) throws(MiniBatchError) -> Int {
        switch batchSize {
        case .automatic:
            return try automaticBatchSize(count: m, memoryBudget: options.memoryBudget) { size in
                trainingMemoryBeyondWorkingMemory(options, batchSize: size, validationRows: validationRows, count: m)
            }
        case .fixed(let size):
            try Validate.batchSize(size, count: m)
            return size
        }
    }
}
