// MARK: - The automatic batch size and its memory estimate

extension Network {
    /// The working memory, in bytes, that training with one thread allocates for
    /// `batchSize`: the gathered batch (batchSize x (nIn + nOut) floats); every layer's
    /// output and two gradient buffers of the widest layer for the rows forward and backward
    /// take at a time (up to 256: `TrainingStep.rowsAtATime`; the whole batch when the first
    /// layer's update may be fused, from 2^18 weights, or the model has no hidden layer);
    /// the parameter gradients, the updated parameters and the parameters at the start of
    /// the call (kept until the first epoch has checked X's values). Each further thread
    /// adds its own parameter gradients. The caller's data and the permutation (8 bytes per
    /// example) are not counted.
    public func workingMemory(batchSize: Int) throws(MiniBatchError) -> Int {
        try Validate.count(batchSize, "batch_size")
        let batch = try Validate.product(batchSize, inputCount + outputCount, "the batch")
        let units = layers.reduce(0) { $0 + $1.nOut } + 2 * maxWidth
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
        try Validate.count(m, "m")
        guard memoryBudget >= 0 else { throw .invalid("memory_budget must be >= 0, got \(memoryBudget)") }
        if m < 2000 { return m }
        for size in [512, 256, 128, 64] {
            if memoryBudget == 0 { return size }
            if try workingMemory(batchSize: size) <= memoryBudget { return size }
        }
        let needed = try workingMemory(batchSize: 64)
        throw .invalid("memory_budget \(memoryBudget) bytes is too small: the smallest automatic batch (64) needs \(needed) bytes")
    }

    /// A batch size option resolved for `m` examples.
    func resolve(_ batchSize: BatchSize, count m: Int, memoryBudget: Int) throws(MiniBatchError) -> Int {
        switch batchSize {
        case .automatic: return try automaticBatchSize(count: m, memoryBudget: memoryBudget)
        case .fixed(let size):
            try Validate.batchSize(size, count: m)
            return size
        }
    }
}
