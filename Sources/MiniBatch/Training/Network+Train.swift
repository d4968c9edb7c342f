// MARK: - Mini-batch gradient descent

extension Network {
    /// Trains for `options.epochs` epochs. Each epoch: draw the epoch's permutation, partition
    /// it into mini-batches, and for each batch gather its rows into a reused buffer, run
    /// forward propagation, the cost, back propagation and the update.
    ///
    /// Gathering rows by the permutation is the same as shuffling X and y together and
    /// slicing the result, without a shuffled copy of the data; X and y are only read.
    /// With one batch of all m rows (batch gradient descent) the rows are used in their
    /// stored order: a permutation cannot change that batch's gradient except for rounding.
    /// All buffers are allocated before the first epoch: no mini-batch allocates.
    ///
    /// - Parameters:
    ///   - data: X (m, nIn) and its targets.
    ///   - validation: evaluated after every epoch (cost and score into the history); the
    ///     cost early stopping watches when it is given.
    ///   - history: receives every batch cost and epoch cost (also those before a failure).
    ///   - progress: called after every epoch; `.stop` ends training with `.cancelled`.
    /// Training ends early, without an error, when `options.earlyStopping` says so.
    /// - Throws: `.invalidArgument` before any work; `.diverged` when a cost or an updated
    ///   weight is NaN or Inf (that update is not applied: the weights are the last finite
    ///   ones); `.cancelled` when `progress` returns `.stop` (after that epoch's updates), or
    ///   when `options.interrupt` is asked to stop (after the current mini-batch's update:
    ///   see `TrainingInterrupt` for how an interrupted epoch is counted).
    public func train(
        _ data: DataView, validation: DataView? = nil, validationDataset: FileDataset? = nil, options: TrainingOptions,
        history: History? = nil, progress: ((Progress) -> ProgressAction)? = nil
    ) throws(MiniBatchError) {
        try training(history) { () throws(MiniBatchError) in
            try trainUnguarded(data, validation: validation, validationDataset: validationDataset, options: options,
                               history: history, progress: progress)
        }
    }

    /// Runs a training call's body with the model, and the history if one is given, held
    /// for it (`Access`): no other call may change them meanwhile, and only the progress
    /// callback may read them.
    /// A rate the schedule gives beyond Float's range (a min_learning_rate of 1e308, a gamma
    /// whose powers overflow, a one-cycle div_factor of 1e-300) is refused before a batch
    /// trains with it, naming the schedule: it ran and was reported as divergence, "try a
    /// smaller learning_rate" (until 0.12.5). Every rank computes the same rate and stops
    /// at the same batch. (An in-memory call then leaves the model as it was, as for any
    /// `.invalidArgument`; a file dataset's keeps the batches trained before.)
    static func checkRate(_ rate: Float, batch: Int, of batches: Int, epoch: Int, of epochs: Int) throws(MiniBatchError) {
        guard !rate.isFinite else { return }
        throw .invalid("the schedule gives batch \(batch + 1) of \(batches) in epoch \(epoch) of \(epochs) a learning rate of \(rate), not a finite float (beyond \(Float.greatestFiniteMagnitude)): its parameters (min_learning_rate, gamma, div_factor, final_div_factor, the warm-up) with learning_rate overflow there; no batch trained with it")
    }

    func training(_ history: History?, _ body: () throws(MiniBatchError) -> Void) throws(MiniBatchError) {
        try access.modify { () throws(MiniBatchError) in
            if let history { try history.access.modify(body) } else { try body() }
        }
    }

    private func trainUnguarded(
        _ data: DataView, validation: DataView?, validationDataset: FileDataset?, options: TrainingOptions,
        history: History?, progress: ((Progress) -> ProgressAction)?
    ) throws(MiniBatchError) {
        // Distributed: from here on, a failure of this rank's setup is told to every rank
        // (`gated`), and every rank throws the same error.
        let collective = try Collective.make(options)
        let split = try gated(collective) { () throws(MiniBatchError) -> ValidationSplit? in
            try Validate.training(options, count: data.count)
            try Validate.training(options, for: self)
            try Validate.shape(data, for: self)
            try Validate.targets(data.targets, rows: data.count, for: self)
            try Validate.weights(data)
            // A validation_fraction split: training runs on the other rows, through an index map.
            return try options.validationFraction > 0
                ? ValidationSplit(data, outputs: outputCount, fraction: options.validationFraction, seed: options.seed,
                                  given: validation != nil || validationDataset != nil)
                : nil
        }
        defer { split?.free() }
        // Class weights become the rows' weights, which training then uses as sample weights.
        var rowWeights = try gated(collective) { () throws(MiniBatchError) in try classWeightedRows(data, options) }
        defer { if let rowWeights { deallocate(rowWeights) } }
        // Flushing subnormals (x86-64), rows' weights below Float's normal range are scaled
        // into it.
        var weightScale = 1.0
        #if arch(x86_64)
        if options.flushesDenormals, let weights = rowWeights.map({ UnsafePointer($0) }) ?? data.weights {
            let current = rowWeights
            let scaled = try gated(collective) { () throws(MiniBatchError) in
                try Network.weightsInNormalRange(weights, count: data.count, into: current)
            }
            if let scaled {
                rowWeights = scaled.weights
                weightScale = scaled.scale
            }
        }
        #endif
        var data = data
        if let rowWeights { data.weights = UnsafePointer(rowWeights) }
        data.weightScale = weightScale
        if let split, let weights = data.weights {
            // The rows left to train on must weigh something (the check of all rows is
            // `Validate.weights`, and `classWeightedRows`).
            try gated(collective) { () throws(MiniBatchError) in
                var total = 0.0
                for i in 0..<split.trainCount { total += Double(weights[split.trainRows[i]]) }
                guard total > 0 else {
                    throw .invalid("every training row weighs 0 (sample_weight\(options.classWeight == nil ? "" : " times class_weight")): validation_fraction \(options.validationFraction) held out every row that weighs more")
                }
            }
        }
        let trainCount = split?.trainCount ?? data.count
        let (validation, partition) = try gated(collective) { () throws(MiniBatchError) -> (Validation?, Partition) in
            if split != nil, case .fixed(let b) = options.batchSize {
                do throws(MiniBatchError) {
                    try Validate.batchSize(b, count: trainCount)
                } catch {
                    throw .invalid("\(error.message) (the rows left by validation_fraction \(options.validationFraction))")
                }
            }
            let validation = try validationSet(split?.validation ?? validation, validationDataset, for: options)
            let batchSize = try resolve(options.batchSize, count: trainCount, options: options, validationRows: validation?.count ?? 0)
            return (validation, Partition(count: trainCount, batchSize: batchSize, lastBatch: options.lastBatch))
        }
        // X's values are checked as the first epoch reads them, not in a pass of their own;
        // a NaN or Inf found there puts the model, its training state and the history back
        // as they were.
        let start = try gated(collective) { () throws(MiniBatchError) in try Checkpoint(self, history: history) }
        defer { start.free() }
        let step = try gated(collective) { () throws(MiniBatchError) in
            try TrainingStep(for: self, partition: partition, options: options, collective: collective)
        }
        defer { step.finish() }
        let batches = try gated(collective) { () throws(MiniBatchError) in
            try MemoryBatches(data, partition: partition, outputs: outputCount, options: options,
                              rows: split.map { UnsafePointer($0.trainRows) })
        }
        // Only the ranks of a distributed call compare fingerprints (it hashes the parameters
        // and describes the model in text: 25 allocations, made on every call before).
        let fingerprint = collective == nil ? nil : Fingerprint(
            network: self, options: options, count: trainCount, features: data.features, batchSize: partition.batchSize,
            validationRows: validation?.count ?? 0, weighted: data.weights != nil, shards: step.layout,
            transposed: step.transposesFirstWeights, fileLayout: nil)
        do throws(MiniBatchError) {
            try train(batches, partition: partition, step: step, options: options, history: history,
                      progress: progress, validation: validation, checkFirstEpoch: true, fingerprint: fingerprint)
        } catch {
            // Bad values (X's, found in the first epoch; labels changed by a progress callback;
            // a validation file's): the call leaves everything as it was, on every rank alike.
            if error.kind == .invalidArgument { start.restore(self, history: history) }
            throw error
        }
    }

    /// The training loop over any source of mini-batches, already validated.
    /// - Parameters:
    ///   - step: made for this partition and options; the caller finishes it.
    ///   - checkFirstEpoch: whether X's values are checked as the first epoch reads them
    ///     (`BatchSource.nonFinite`): a NaN or Inf throws `.invalidArgument` before its batch
    ///     updates the model.
    func train(
        _ source: BatchSource, partition: Partition, step: TrainingStep, options: TrainingOptions,
        history: History?, progress: ((Progress) -> ProgressAction)?, validation: Validation? = nil,
        checkFirstEpoch: Bool = false, fingerprint: Fingerprint? = nil
    ) throws(MiniBatchError) {
        // First: however training ends, the source's background work stops before it is freed.
        defer { source.finish() }
        let batches = partition.batchCount
        let stopping = EarlyStop(options, validation: validation != nil)
        let collective = step.collective
        // The epochs of this call whose costs have room in the history (`History.reserve`).
        var roomy = try gated(collective) { () throws(MiniBatchError) in
            try history?.reserve(batches: batches, epochs: options.epochs) ?? 0
        }
        if stopping.keepsBest { try gated(collective) { () throws(MiniBatchError) in try trainingState.keepBest() } }
        // Every rank's setup succeeded and agrees (or every rank throws here).
        if let collective, let fingerprint { try collective.open(fingerprint) }
        // (Last: a call refused above leaves early stopping's count as it was.)
        trainingState.watch(options.earlyStopping.monitor)
        if case .plateau = options.schedule { trainingState.plateau.watch(options.earlyStopping.monitor) }
        // The cosine and one-cycle schedules' default period: the end of this call.
        let period = epochsTrained.addingSaturated(options.epochs)
        // Checked after each batch; distributed ranks stop together, after an epoch.
        let interrupt = options.interrupt
        interrupt?.started(batchesPerEpoch: batches)

        for epoch in 1...options.epochs {
            let order = UInt64(epochsTrained)
            step.epoch = epochsTrained
            do throws(MiniBatchError) {
                if epoch > 1, progress != nil {
                    // The progress callback may have changed the caller's labels, which
                    // index the outputs: checked again before they are used.
                    do {
                        try source.recheckLabels(for: self)
                        try validation?.recheckLabels(for: self)
                    } catch {
                        throw MiniBatchError(error.kind, "\(error.message): the labels changed during training (after epoch \(epoch - 1)'s progress callback; they were checked when the call began); the model is as it was before the call")
                    }
                }
                try source.startEpoch(order)
            } catch {
                // Distributed: told to every rank by the epoch's first exchange.
                guard let collective else { throw error }
                collective.pending = error
            }
            if let history, epoch > roomy {
                // Before the epoch's first batch: no rank records a cost of an epoch that
                // any rank could not make room for.
                do {
                    roomy += try history.reserve(batches: batches, epochs: options.epochs - epoch + 1)
                } catch {
                    guard let collective else { throw error }
                    if collective.pending == nil { collective.pending = error }
                }
            }
            step.checksValues = checkFirstEpoch && epoch == 1
            step.rate = options.schedule.rate(
                base: options.learningRate, epoch: epochsTrained, batch: 0, of: options.schedulePerBatch ? batches : 1,
                examplesSeen: trainingState.examplesSeen, defaultPeriod: period, adaptiveRate: trainingState.adaptiveRate,
                plateauRate: trainingState.plateau.rate, warmup: options.warmup)
            try Network.checkRate(step.rate, batch: 0, of: batches, epoch: epoch, of: options.epochs)
            step.momentum = options.schedule.momentum(
                epoch: epochsTrained, batch: 0, of: options.schedulePerBatch ? batches : 1, defaultPeriod: period)
            // The epoch's rate (its first batch's): the history's and the progress report's.
            let epochRate = step.rate
            var costSum = 0.0, rowsSeen = 0, lastCost = 0.0
            // The batches run with the first layer's W in training's layout, which goes back
            // to the model's however they end (`TrainingStep`'s notes).
            do {
                step.arrangeFirstWeights(transposed: true)
                defer { step.arrangeFirstWeights(transposed: false) }
                for b in 0..<batches {
                    let rows = partition.batch(b).count
                    if options.schedulePerBatch, b > 0 {
                        // The schedule at the fractional epoch e + b / B (`Schedule.rate`).
                        step.rate = options.schedule.rate(
                            base: options.learningRate, epoch: epochsTrained, batch: b, of: batches,
                            examplesSeen: trainingState.examplesSeen.addingSaturated(rowsSeen), defaultPeriod: period,
                            adaptiveRate: trainingState.adaptiveRate, plateauRate: trainingState.plateau.rate,
                            warmup: options.warmup)
                        try Network.checkRate(step.rate, batch: b, of: batches, epoch: epoch, of: options.epochs)
                        step.momentum = options.schedule.momentum(
                            epoch: epochsTrained, batch: b, of: batches, defaultPeriod: period)
                    }
                    var cost = try step.costAndGradient(source, batch: b, rows: rows)
                    // A NaN or Inf in X makes the gradient non-finite: a batch that fails is
                    // searched before it is called divergence.
                    guard cost.isFinite else {
                        try step.checkValues(source, batch: b, rows: rows)
                        // The weights the last update made are finite but give a non-finite
                        // cost here: the model goes back to those before it, which gave a
                        // finite one (every rank alike: the same decision on the same sums).
                        let kept = step.rollBack()
                            ? "goes back to the weights before the last update, the last that gave a finite cost"
                            : "keeps its weights from before this batch"
                        throw MiniBatchError(.diverged, "training diverged: the cost of batch \(b + 1) of \(batches) in epoch \(epoch) of \(options.epochs) is \(cost); the model \(kept) (try a smaller learning_rate)")
                    }
                    cost += step.penalty()
                    try history?.recordBatch(cost)
                    guard step.update() else {
                        try step.checkValues(source, batch: b, rows: rows)
                        throw MiniBatchError(.diverged, "training diverged: the update of batch \(b + 1) of \(batches) in epoch \(epoch) of \(options.epochs) gives non-finite weights; the model keeps its last finite weights (try a smaller learning_rate)")
                    }
                    costSum += cost * Double(rows)
                    rowsSeen += rows
                    lastCost = cost
                    if let interrupt {
                        interrupt.batchDone(rows: rows)
                        // At the epoch's last batch the epoch ends first (below), so that a
                        // resume continues exactly.
                        if collective == nil, b + 1 < batches, interrupt.isStopRequested {
                            throw MiniBatchError(.cancelled, "training interrupted after batch \(b + 1) of \(batches) of epoch \(epoch) of \(options.epochs); the model keeps that batch's weights, and the interrupted epoch is not counted (epochs trained: \(epochsTrained)): resuming runs it again from its first batch")
                        }
                    }
                }
            }
            epochsTrained = epochsTrained.addingSaturated(1)
            trainingState.examplesSeen = trainingState.examplesSeen.addingSaturated(rowsSeen)
            let epochCost = costSum / Double(rowsSeen)
            // Distributed: rank 0 evaluates, and every rank gets its result (or its failure).
            var (validationCost, validationScore) = (Double.nan, Double.nan)
            if let collective {
                var failure: MiniBatchError?
                if collective.rank == 0, let validation {
                    do { (validationCost, validationScore) = try validation.evaluate(self) } catch { failure = error }
                }
                (validationCost, validationScore) = try collective.endEpoch(
                    self, failure: failure, validation: (validationCost, validationScore))
            } else if let validation {
                (validationCost, validationScore) = try validation.evaluate(self)
            }
            try history?.recordEpoch(epochCost, learningRate: Double(epochRate),
                                 validationCost: validationCost, validationScore: validationScore)
            let stop = stopping.afterEpoch(
                self, cost: stopping.monitored(epochCost: epochCost, validation: validation.map { _ in (validationCost, validationScore) }),
                rate: trainingState.adaptiveRate ?? options.learningRate)
            var stopAsked = false
            if let progress {
                var report = Progress(
                    epoch: epoch, epochs: options.epochs, epochsTrained: epochsTrained,
                    batchSize: partition.batchSize, batches: batches, epochCost: epochCost, lastBatchCost: lastCost)
                report.learningRate = Double(epochRate)
                report.validationCost = validationCost
                report.validationScore = validationScore
                // The callback may read the model and the history (nowhere else during training).
                let action = access.readable { history.map { h in h.access.readable { progress(report) } } ?? progress(report) }
                stopAsked = action == .stop
            }
            // Read after the callback, which may ask; at the end of the call's last epoch
            // there is nothing left to stop.
            let interrupted = interrupt?.isStopRequested == true && epoch < options.epochs && !stop
            if let collective {
                // Any rank's callback stops every rank.
                if let rank = try collective.anyStop(stopAsked || interrupted) {
                    let by = interrupt == nil ? "the progress callback" : "the progress callback or interrupt"
                    throw MiniBatchError(.cancelled, "training stopped by \(by) of rank \(rank) after epoch \(epoch) of \(options.epochs)")
                }
            } else if stopAsked {
                throw MiniBatchError(.cancelled, "training stopped by the progress callback after epoch \(epoch) of \(options.epochs)")
            } else if interrupted {
                throw MiniBatchError(.cancelled, "training interrupted after epoch \(epoch) of \(options.epochs) (epochs trained: \(epochsTrained)): resuming continues the run exactly")
            }
            if stop { break }
        }
    }
}

/// What a training call changes, as it was when the call began: the parameters, the
/// training state, the epoch count and the history's length.
struct Checkpoint {
    let parameters: UnsafeMutablePointer<Float>
    let state: TrainingState
    let epochsTrained: Int
    let batchCosts: Int, epochCosts: Int

    init(_ network: Network, history: History?) throws(MiniBatchError) {
        state = try network.trainingState.copy()
        parameters = try allocate(Float.self, count: network.parameterCount, for: "the parameters at the start")
        parameters.update(from: network.parameters, count: network.parameterCount)
        epochsTrained = network.epochsTrained
        batchCosts = history?.batchCosts.count ?? 0
        epochCosts = history?.epochCosts.count ?? 0
    }

    func restore(_ network: Network, history: History?) {
        network.parameters.update(from: parameters, count: network.parameterCount)
        // The copy has the network's sizes: assigning it allocates only if the rule changed.
        try? network.trainingState.assign(state)
        network.epochsTrained = epochsTrained
        history?.truncate(batches: batchCosts, epochs: epochCosts)
    }

    func free() { deallocate(parameters) }
}
