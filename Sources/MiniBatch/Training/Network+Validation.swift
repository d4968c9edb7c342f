// MARK: - Validation and early stopping

/// A validation set, checked once per training call, and evaluated after every epoch with
/// buffers made once for the call (nothing is allocated per epoch).
struct Validation {
    let data: DataView
    /// The sum of squares of the targets about each output's mean (mean squared error's
    /// R^2); 0 for the other losses.
    let totalSquares: Double
    let loss: Loss
    let partition: Partition
    let rows: MemoryBatches
    let workspace: Workspace

    init(_ data: DataView, for network: Network) throws(MiniBatchError) {
        do {
            try Validate.data(data, for: network)
        } catch {
            throw MiniBatchError(error.kind, "validation set: \(error.message)")
        }
        self.data = data
        loss = network.loss
        var squares = 0.0
        if network.loss == .meanSquaredError {
            let outputs = network.outputCount
            for j in 0..<outputs {
                var mean = 0.0
                for r in 0..<data.count { mean += Double(data.targets.value(row: r, column: j, width: outputs)) }
                mean /= Double(data.count)
                for r in 0..<data.count {
                    let d = Double(data.targets.value(row: r, column: j, width: outputs)) - mean
                    squares += d * d
                }
            }
        }
        totalSquares = squares
        partition = Partition(count: data.count, batchSize: min(data.count, Network.chunkRows), lastBatch: .keep)
        rows = try MemoryBatches(data, partition: partition, outputs: network.outputCount, options: TrainingOptions(shuffle: false))
        workspace = try Workspace(for: network, capacity: partition.batchSize, backward: false)
    }

    /// The validation cost and score (accuracy, or R^2 for mean squared error) of `network`.
    func evaluate(_ network: Network) throws(MiniBatchError) -> (cost: Double, score: Double) {
        let (cost, accuracy) = try network.evaluate(rows, partition: partition, workspace: workspace)
        guard loss == .meanSquaredError else { return (cost, accuracy) }
        // The cost is the mean over rows and outputs of the squared residual.
        let residual = cost * Double(data.count * network.outputCount)
        return (cost, totalSquares > 0 ? 1 - residual / totalSquares : .nan)
    }
}

/// Early stopping and the adaptive schedule within one training call (`EarlyStopping`,
/// `Schedule.adaptive`); their state is the network's `TrainingState`, so it carries over
/// to the next call and into saved files.
struct EarlyStop {
    let patience: Int
    let minDelta: Double
    let adaptive: Bool
    /// Whether the best epoch's weights are kept and restored when training stops.
    let keepsBest: Bool

    init(_ options: TrainingOptions, validation: Bool) {
        patience = options.earlyStopping.patience
        minDelta = options.earlyStopping.minDelta
        adaptive = options.schedule == .adaptive
        keepsBest = validation && options.earlyStopping.restoreBest && patience > 0 && !adaptive
    }

    /// Counts the epoch just trained, whose monitored cost is `cost` and rate `rate`: true
    /// if training stops here (then, with `keepsBest`, the network has its best weights).
    func afterEpoch(_ network: Network, cost: Double, rate: Float) -> Bool {
        let state = network.trainingState
        // (NaN never improves.)
        if cost < state.best - minDelta { state.badEpochs = 0 } else { state.badEpochs += 1 }
        if cost < state.best {
            state.best = cost
            state.bestEpoch = network.epochsTrained
            if keepsBest, let best = state.bestParameters {
                best.update(from: network.parameters, count: network.parameterCount)
            }
        }
        guard patience > 0, state.badEpochs >= patience else { return false }
        state.badEpochs = 0
        if adaptive, Double(rate) > Schedule.adaptiveFloor {
            state.adaptiveRate = rate / Schedule.adaptiveFactor
            return false
        }
        if keepsBest, let best = state.bestParameters, state.bestEpoch > 0 {
            network.parameters.update(from: best, count: network.parameterCount)
        }
        return true
    }
}
