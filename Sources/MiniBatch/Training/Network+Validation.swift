// MARK: - Validation and early stopping

/// A validation set, checked once per training call, and evaluated after every epoch: rows
/// in memory (with buffers made once for the call: nothing is allocated per epoch), or a
/// file dataset (read in order each epoch, with the reader's buffers made per epoch).
struct Validation {
    enum Rows {
        case memory(MemoryBatches)
        case file(FileDataset)
    }

    let rows: Rows
    let count: Int
    /// The targets' sums of squares about each output's mean, and the evaluation's
    /// residuals (the regression losses' R^2); nil for the other losses.
    let columns: SquaresAboutMean?
    let loss: Loss
    let partition: Partition
    let workspace: Workspace
    /// Whether the rows carry sample weights (`DataView.weights`): the cost and score are
    /// then weighted means (scikit-learn's validation score with sample_weight).
    let weighted: Bool

    init(_ data: DataView, for network: Network) throws(MiniBatchError) {
        do {
            try Validate.data(data, for: network)
            try Validate.weights(data, name: "validation_sample_weight")
        } catch {
            throw MiniBatchError(error.kind, "validation set: \(error.message)")
        }
        var squares: SquaresAboutMean?
        if network.loss.isRegression {
            let outputs = network.outputCount
            let columns = try SquaresAboutMean(columns: outputs)
            for r in 0..<data.count {
                // (weighted about the weighted mean, as scikit-learn's r2_score with sample_weight)
                let w = Double(data.weights?[r] ?? 1)
                guard w > 0 else { continue }
                for j in 0..<outputs {
                    columns.add(Double(data.targets.value(row: r, column: j, width: outputs)), column: j, weight: w)
                }
                columns.endRow(weight: w)
            }
            squares = columns
        }
        let partition = Partition(count: data.count, batchSize: min(data.count, Network.chunkRows), lastBatch: .keep)
        try self.init(
            rows: .memory(MemoryBatches(
                data, partition: partition, outputs: network.outputCount, options: TrainingOptions(shuffle: false),
                labelsName: "validation_y")),
            count: data.count, columns: squares, network: network, partition: partition, weighted: data.weights != nil)
    }

    init(_ dataset: FileDataset, for network: Network) throws(MiniBatchError) {
        do {
            try dataset.check(for: network)
        } catch {
            throw MiniBatchError(error.kind, "validation set: \(error.message)")
        }
        let squares = network.loss.isRegression ? try Validation.squares(dataset) : nil
        let partition = Partition(count: dataset.count, batchSize: min(dataset.count, Network.chunkRows), lastBatch: .keep)
        try self.init(
            rows: .file(dataset), count: dataset.count, columns: squares, network: network, partition: partition, weighted: false)
    }

    private init(
        rows: Rows, count: Int, columns: SquaresAboutMean?, network: Network, partition: Partition, weighted: Bool
    ) throws(MiniBatchError) {
        self.rows = rows
        self.weighted = weighted
        self.count = count
        self.columns = columns
        self.loss = network.loss
        self.partition = partition
        workspace = try Workspace(for: network, capacity: partition.batchSize, backward: false)
    }

    /// The sums of squares about each column's mean of a file dataset's targets (as float32,
    /// as training reads them), read in chunks.
    private static func squares(_ dataset: FileDataset) throws(MiniBatchError) -> SquaresAboutMean {
        let m = dataset.count, width = dataset.targetWidth, chunk = 4096, type = dataset.y.type
        let buffer = try allocate(UInt8.self, count: chunk * width * type.size, for: "the validation targets")
        defer { deallocate(buffer) }
        let columns = try SquaresAboutMean(columns: width)
        var first = 0
        while first < m {
            let rows = min(chunk, m - first)
            try dataset.y.readRows(first, count: rows, into: UnsafeMutableRawPointer(buffer))
            for r in 0..<rows {
                for j in 0..<width { columns.add(Double(type.float(UnsafeRawPointer(buffer), r * width + j)), column: j) }
                columns.endRow()
            }
            first += rows
        }
        return columns
    }

    /// Checks the caller's labels again (`BatchSource.recheckLabels`).
    func recheckLabels(for network: Network) throws(MiniBatchError) {
        if case .memory(let batches) = rows { try batches.recheckLabels(for: network) }
    }

    /// The validation cost and score (accuracy, or R^2 for the regression losses) of `network`.
    func evaluate(_ network: Network) throws(MiniBatchError) -> (cost: Double, score: Double) {
        let source: BatchSource
        switch rows {
        case .memory(let batches): source = batches
        case .file(let dataset):
            source = try FileBatches(dataset, partition: partition, network: network, seed: 0, shuffle: false)
        }
        columns?.clearResiduals()
        let (cost, accuracy) = try network.evaluate(
            source, partition: partition, workspace: workspace, checksOutputs: false, residuals: columns?.residuals,
            weighted: weighted)
        return (cost, columns?.rSquared ?? accuracy)
    }
}

/// Each column's sum of squares about its mean, in one pass (Welford's update): exactly 0
/// for a constant column (its mean stays that value), where the sum of squares less the
/// square of the sum divided by the count, in floating point, is not; and beside them each
/// column's residual sum of squares, filled by an evaluation (`Network.evaluate`'s
/// `residuals`): R^2 is then scikit-learn's `r2_score`, each output's averaged.
/// (Its buffers come from the library's allocator: the columns are the model's outputs,
/// and a Swift array of 64 million of them ended the process under `ulimit -v`; they are
/// made once, so an epoch's evaluation allocates nothing.) The validation score's, and the
/// command line's `eval`.
package final class SquaresAboutMean {
    private let means: UnsafeMutablePointer<Double>, squares: UnsafeMutablePointer<Double>
    /// (columns): each column's residual sum of squares, zeroed by `clearResiduals`.
    package let residuals: UnsafeMutablePointer<Double>
    private let columns: Int
    private var count = 0.0

    package init(columns: Int) throws(MiniBatchError) {
        self.columns = columns
        means = try allocate(Double.self, count: 3 * columns, for: "the validation targets' means")
        means.initialize(repeating: 0, count: 3 * columns)
        squares = means + columns
        residuals = means + 2 * columns
    }

    deinit { deallocate(means) }

    /// Adds the value of `column` in the current row, whose weight is `weight` (> 0; a row
    /// of weight 0 adds nothing: skip it). West's weighted update, which is Welford's for
    /// weights of 1, bit for bit.
    package func add(_ value: Double, column j: Int, weight: Double = 1) {
        let n = count + weight, delta = value - means[j]
        means[j] += weight * delta / n
        squares[j] += weight * delta * (value - means[j])
    }

    /// Ends the current row (every column has had its value), of weight `weight`.
    package func endRow(weight: Double = 1) { count += weight }

    /// Zeroes the residuals before an evaluation adds to them.
    package func clearResiduals() { residuals.update(repeating: 0, count: columns) }

    /// R^2 from the residuals, scikit-learn's `r2_score` (`multioutput='uniform_average'`):
    /// 1 - residual / total of each column, averaged over the columns; where a column's
    /// targets are constant (a total of 0) its R^2 is 1 for exact predictions and 0
    /// otherwise.
    package var rSquared: Double {
        var sum = 0.0
        for j in 0..<columns {
            sum += squares[j] == 0 ? (residuals[j] == 0 ? 1 : 0) : 1 - residuals[j] / squares[j]
        }
        return sum / Double(columns)
    }
}

extension Network {
    /// The validation set of a training call: rows in memory or a file dataset (not both),
    /// checked for this network, and there if `options`' early stopping monitors it.
    func validationSet(
        _ data: DataView?, _ dataset: FileDataset?, for options: TrainingOptions
    ) throws(MiniBatchError) -> Validation? {
        guard data == nil || dataset == nil else {
            throw .invalid("a validation set in memory and a validation dataset were both given: give one")
        }
        if options.earlyStopping.monitor == .validationScore, data == nil, dataset == nil {
            throw .invalid("monitor MB_MONITOR_VALIDATION_SCORE needs a validation set (validation_x, validation_dataset or validation_fraction)")
        }
        if let dataset { return try Validation(dataset, for: self) }
        if let data { return try Validation(data, for: self) }
        return nil
    }
}

/// Early stopping and the adaptive and plateau schedules within one training call
/// (`EarlyStopping`, `Schedule.adaptive`, `Schedule.plateau`); their state is the network's `TrainingState`, so it carries over
/// to the next call and into saved files.
struct EarlyStop {
    let patience: Int
    let minDelta: Double
    /// The schedule (`Schedule.adaptive` divides the rate; `Schedule.plateau` steps after
    /// every epoch) and the base rate.
    let schedule: Schedule
    let baseRate: Float
    let monitor: EarlyStopping.Monitor
    /// Whether the best epoch's weights are kept and restored when training stops.
    let keepsBest: Bool

    init(_ options: TrainingOptions, validation: Bool) {
        patience = options.earlyStopping.patience
        minDelta = options.earlyStopping.minDelta
        schedule = options.schedule
        baseRate = options.learningRate
        monitor = options.earlyStopping.monitor
        keepsBest = validation && options.earlyStopping.restoreBest && patience > 0
    }

    /// The epoch's monitored value as a cost (lower is better): the validation cost with a
    /// validation set, else the epoch cost; or the validation score, negated.
    func monitored(epochCost: Double, validation: (cost: Double, score: Double)?) -> Double {
        guard let validation else { return epochCost }
        return monitor == .validationScore ? -validation.score : validation.cost
    }

    /// Counts the epoch just trained, whose monitored value (`monitored`) is `cost`, `rate`
    /// being the adaptive schedule's rate (before any warm-up): true if training stops here
    /// (then, with `keepsBest`, the network has its best weights).
    func afterEpoch(_ network: Network, cost: Double, rate: Float) -> Bool {
        let state = network.trainingState
        state.plateau.step(cost, schedule: schedule, base: baseRate)
        // (NaN never improves.)
        if cost < state.best - minDelta { state.badEpochs = 0 } else { state.badEpochs = state.badEpochs.addingSaturated(1) }
        if cost < state.best {
            state.best = cost
            state.bestEpoch = network.epochsTrained
            if keepsBest, let best = state.bestParameters {
                best.update(from: network.parameters, count: network.parameterCount)
            }
        }
        guard patience > 0, state.badEpochs >= patience else { return false }
        state.badEpochs = 0
        if schedule == .adaptive, Double(rate) > Schedule.adaptiveFloor {
            state.adaptiveRate = rate / Schedule.adaptiveFactor
            return false
        }
        if keepsBest, let best = state.bestParameters, state.bestEpoch > 0 {
            network.parameters.update(from: best, count: network.parameterCount)
        }
        return true
    }
}

/// A validation set held out of the training data (`TrainingOptions.validationFraction`),
/// the same for the same seed in every language:
///
/// the rows are taken in the order of `Permutation.make(count: m, seed: seed, epoch: 2^62)`
/// (an epoch no training reaches); with class-index targets, class by class (stratified,
/// as scikit-learn's split): the first ceil(fraction * rows of the class) rows of each class
/// in that order are held out; with float targets, the first max(1, ceil(fraction * m)).
/// Training runs on the other rows in their order in X (row i of the training rows is the
/// i-th row of X not held out); the held-out rows are copied once for the call, with their
/// sample weights (since 0.7.0: the validation cost and score are weighted by them, unless
/// every held-out row weighs 0, as scikit-learn 1.9's validation score is).
final class ValidationSplit {
    /// The epoch of the permutation the split is drawn from.
    static let epoch: UInt64 = 1 << 62

    let trainCount: Int
    /// (trainCount): the training rows, ascending.
    let trainRows: UnsafeMutablePointer<Int>
    /// The held-out rows, copied, and their sample weights (nil without).
    let x: UnsafeMutablePointer<Float>
    let y: UnsafeMutableRawPointer
    let w: UnsafeMutablePointer<Float>?
    let validation: DataView

    init(_ data: DataView, outputs: Int, fraction: Double, seed: UInt64, given: Bool) throws(MiniBatchError) {
        guard !given else {
            throw .invalid("validation_fraction and a validation set were both given: give one")
        }
        let m = data.count
        let order = try allocate(Int.self, count: m, for: "the validation split")
        defer { deallocate(order) }
        Permutation.fill(UnsafeMutableBufferPointer(start: order, count: m), seed: seed, epoch: ValidationSplit.epoch)
        // Buffers of the library's allocator, not Swift arrays: a failure is `.outOfMemory`
        // (Swift's allocator ends the process; a [Bool] of 115 million rows did under
        // `ulimit -v`).
        let held = try allocate(Bool.self, count: m, for: "the validation split")
        defer { deallocate(held) }
        held.initialize(repeating: false, count: m)
        var heldCount = 0
        switch data.targets {
        case .classes(let labels):
            // The labels were checked against the outputs: 0 ..< outputs (0 and 1 for one
            // sigmoid output). Each class's count, then how many of it are held out.
            let classes = max(outputs, 2)
            let counts = try allocate(Int.self, count: 2 * classes, for: "the validation split's class counts")
            defer { deallocate(counts) }
            counts.initialize(repeating: 0, count: 2 * classes)
            let taken = counts + classes
            for r in 0..<m { counts[Int(labels[r])] += 1 }
            for k in 0..<m {
                let r = order[k], c = Int(labels[r])
                let quota = Int((fraction * Double(counts[c])).rounded(.up))
                if taken[c] < quota {
                    taken[c] += 1
                    held[r] = true
                    heldCount += 1
                }
            }
        case .values:
            heldCount = min(m, max(1, Int((fraction * Double(m)).rounded(.up))))
            for k in 0..<heldCount { held[order[k]] = true }
        }
        guard heldCount < m else {
            throw .invalid("validation_fraction \(fraction) of \(m) rows leaves no rows to train on")
        }
        trainCount = m - heldCount
        trainRows = try allocate(Int.self, count: trainCount, for: "the training rows")
        var classes = false
        if case .classes = data.targets { classes = true }
        let width = classes ? 1 : outputs
        do {
            x = try allocate(Float.self, count: heldCount * data.features, for: "the validation set")
        } catch {
            deallocate(trainRows)
            throw error
        }
        do {
            y = UnsafeMutableRawPointer(try allocate(Float.self, count: heldCount * width, for: "the validation targets"))
        } catch {
            deallocate(trainRows)
            deallocate(x)
            throw error
        }
        do {
            w = data.weights == nil ? nil : try allocate(Float.self, count: heldCount, for: "the validation set's sample weights")
        } catch {
            deallocate(trainRows)
            deallocate(x)
            deallocate(y.assumingMemoryBound(to: Float.self))
            throw error
        }
        var heldWeight = 0.0
        var t = 0, v = 0
        for r in 0..<m {
            if held[r] {
                (x + v * data.features).update(from: data.x + r * data.features, count: data.features)
                switch data.targets {
                case .classes(let labels): y.assumingMemoryBound(to: Int32.self)[v] = labels[r]
                case .values(let values):
                    (y.assumingMemoryBound(to: Float.self) + v * width).update(from: values + r * width, count: width)
                }
                if let w, let weights = data.weights {
                    w[v] = weights[r]
                    heldWeight += Double(weights[r])
                }
                v += 1
            } else {
                trainRows[t] = r
                t += 1
            }
        }
        let targets: Targets = classes
            ? .classes(UnsafePointer(y.assumingMemoryBound(to: Int32.self)))
            : .values(UnsafePointer(y.assumingMemoryBound(to: Float.self)))
        var view = DataView(x: x, targets: targets, count: heldCount, features: data.features)
        if heldWeight > 0, let w { view.weights = UnsafePointer(w) }
        validation = view
    }

    func free() {
        deallocate(trainRows)
        deallocate(x)
        deallocate(y.assumingMemoryBound(to: Float.self))
        deallocate(w)
    }
}
