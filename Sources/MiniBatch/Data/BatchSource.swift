// MARK: - Where mini-batches come from

/// Where the training loop's mini-batches come from: rows gathered from memory, or read
/// from files. A source knows the partition and the seed; it is told each epoch's index.
protocol BatchSource: AnyObject {
    /// Prepares epoch `epoch` (counted over the model's life): draws its order.
    func startEpoch(_ epoch: UInt64) throws(MiniBatchError)
    /// Where the inputs (rows, nIn) and targets of batch `index` of the partition are,
    /// valid until the next call; the rows are there once `fill` has run on all of them.
    /// Throws if the rows cannot be had (a file error, bad values in a file).
    func batch(_ index: Int) throws(MiniBatchError) -> (UnsafePointer<Float>, Targets)
    /// Puts rows `rows` (counted within the batch) of batch `index` where `batch` said.
    /// Called after `batch(index)`, from any thread, for disjoint ranges at once.
    /// Throws if the rows cannot be had.
    func fill(_ index: Int, rows: Range<Int>) throws(MiniBatchError)
    /// Whether `fillMeasured` returns the rows' largest |x| (for every batch).
    var measuresRows: Bool { get }
    /// The sample weights of batch `index` (`rows` rows) and their total, indexed like the
    /// targets `batch` gives (or, with `inPlace`, like X's rows), or nil without weights.
    /// Called after `batch(index)` or `rowsInPlace(index)`, before any `fill`.
    func weighting(_ index: Int, rows: Int, inPlace: Bool) -> Weighting?
    /// `fill`, then, if `checking`, throws the first NaN or Inf of X among the rows
    /// (`nonFinite`); returns the largest |x| among the rows if the source measures it
    /// (`measuresRows`), else nil. Sources that can check and measure rows as they copy
    /// them do it all in one pass.
    func fillMeasured(_ index: Int, rows: Range<Int>, checking: Bool) throws(MiniBatchError) -> Magnitude?
    /// Stops any background work; called once when training ends, however it ends.
    func finish()
    /// The first NaN or Inf of X among rows `rows` (counted within the batch) of batch
    /// `index`, where `batch` or `rowsInPlace` said they are; nil if there is none, or if
    /// the source checks its values itself as it reads them. From any thread.
    func nonFinite(_ index: Int, rows: Range<Int>) -> NonFinite?
    /// Batch `index` where its rows already are, when that is not `batch(index)`: row i of
    /// the batch is row `indices[i]` of x, and targets are indexed like x. Nil if the
    /// rows must be put in place (`batch` and `fill`).
    func rowsInPlace(_ index: Int) -> RowsInPlace?
    /// Checks the caller's class labels again, where the source reads them from the caller's
    /// memory: they index the model's outputs and were checked when the call began, and a
    /// progress callback may have changed them since (`Network.train`'s loop calls this
    /// before each epoch after a callback). Sources that check labels as they read them
    /// (files) do nothing.
    func recheckLabels(for network: Network) throws(MiniBatchError)
}

/// Rows of a batch left where they are: row i is row `indices[i]` of x and of targets.
struct RowsInPlace {
    var x: UnsafePointer<Float>
    var indices: UnsafePointer<Int>
    var targets: Targets
}

extension BatchSource {
    func rowsInPlace(_ index: Int) -> RowsInPlace? { nil }
    func weighting(_ index: Int, rows: Int, inPlace: Bool) -> Weighting? { nil }
    func nonFinite(_ index: Int, rows: Range<Int>) -> NonFinite? { nil }
    func recheckLabels(for network: Network) throws(MiniBatchError) {}

    var measuresRows: Bool { false }

    func fillMeasured(_ index: Int, rows: Range<Int>, checking: Bool) throws(MiniBatchError) -> Magnitude? {
        try fill(index, rows: rows)
        if checking, let bad = nonFinite(index, rows: rows) { throw bad.error }
        return nil
    }
}

/// Mini-batches of in-memory data: gathered by the epoch's permutation into reused buffers,
/// or, without shuffling or with one batch of all rows, pointed to where they are.
final class MemoryBatches: BatchSource {
    let data: DataView
    let partition: Partition
    let outputs: Int
    let seed: UInt64
    let gather: BatchGather?

    /// The rows trained on when they are not all of data's: row i of the partition is row
    /// `rows[i]` of data (a validation split's training rows).
    let rows: UnsafePointer<Int>?
    let shuffle: Bool
    /// The targets' name in messages ("y", or "validation_y").
    let labelsName: String

    init(
        _ data: DataView, partition: Partition, outputs: Int, options: TrainingOptions, rows: UnsafePointer<Int>? = nil,
        labelsName: String = "y"
    ) throws(MiniBatchError) {
        self.labelsName = labelsName
        self.data = data
        self.partition = partition
        self.outputs = outputs
        self.seed = options.seed
        self.rows = rows
        self.shuffle = options.shuffle
        // One batch of all rows is used where it is, without a shuffled copy of the data;
        // rows through an index map are always gathered.
        gather = try (options.shuffle && !partition.isWholeBatch) || rows != nil
            ? BatchGather(data, count: partition.count, batchSize: partition.batchSize, outputs: outputs) : nil
    }

    func recheckLabels(for network: Network) throws(MiniBatchError) {
        guard case .classes = data.targets else { return }
        try Validate.targets(data.targets, rows: data.count, for: network, name: labelsName)
    }

    func startEpoch(_ epoch: UInt64) {
        guard let gather else { return }
        if shuffle && !partition.isWholeBatch {
            gather.drawPermutation(seed: seed, epoch: epoch)
        } else {
            for i in 0..<partition.count { gather.permutation[i] = i }
        }
        if let rows {
            for i in 0..<partition.count { gather.permutation[i] = rows[gather.permutation[i]] }
        }
    }

    func batch(_ index: Int) -> (UnsafePointer<Float>, Targets) {
        if let gather { return gather.buffers }
        let start = partition.batch(index).lowerBound
        return (data.x + start * data.features, data.targets.advanced(by: start, width: outputs))
    }

    func fill(_ index: Int, rows: Range<Int>) {
        gather?.gather(partition.batch(index).lowerBound, rows: rows)
    }

    func weighting(_ index: Int, rows: Int, inPlace: Bool) -> Weighting? {
        guard let weights = data.weights else { return nil }
        let start = partition.batch(index).lowerBound
        var total = 0.0
        if let gather {
            for r in 0..<rows { total += Double(weights[gather.permutation[start + r]]) }
        } else {
            for r in 0..<rows { total += Double(weights[start + r]) }
        }
        // A batch whose rows all weigh 0 adds nothing: cost 0, gradient 0.
        let penaltyTotal = total == 0 ? 1 : total / data.weightScale
        if total == 0 { total = 1 }
        let pointer = inPlace ? weights : gather.map { UnsafePointer($0.w!) } ?? weights + start
        return Weighting(weights: pointer, total: total, penaltyTotal: penaltyTotal)
    }

    /// Rows are measured when there is more than one batch (as `FileBatches` does):
    /// gathered rows as they are copied, rows used where they are by a pass of their own.
    var measuresRows: Bool { !partition.isWholeBatch }

    func fillMeasured(_ index: Int, rows: Range<Int>, checking: Bool) throws(MiniBatchError) -> Magnitude? {
        let start = partition.batch(index).lowerBound
        var magnitude: Magnitude?
        if let gather {
            magnitude = gather.gatherMeasured(start, rows: rows)
        } else if measuresRows {
            magnitude = Magnitude(data.x + (start + rows.lowerBound) * data.features, count: rows.count * data.features)
        }
        // The search that names a bad value runs only when there is one.
        if checking, magnitude?.isFinite != true, let bad = nonFinite(index, rows: rows) { throw bad.error }
        return magnitude
    }

    func rowsInPlace(_ index: Int) -> RowsInPlace? {
        guard let gather else { return nil }
        return RowsInPlace(
            x: data.x, indices: gather.permutation + partition.batch(index).lowerBound, targets: data.targets)
    }

    func nonFinite(_ index: Int, rows: Range<Int>) -> NonFinite? {
        // Read where the rows are in X: gathered rows were just read there, and rows used
        // in place have no other copy.
        let start = partition.batch(index).lowerBound
        for r in rows {
            let row = gather.map { $0.permutation[start + r] } ?? start + r
            if let bad = NonFinite(data.x, features: data.features, row: row) { return bad }
        }
        return nil
    }

    func finish() {}
}

/// The permutation of an epoch and the reused buffers its mini-batches are gathered into.
final class BatchGather {
    let data: DataView
    let outputs: Int
    /// (m): this epoch's order.
    let permutation: UnsafeMutablePointer<Int>
    /// (batchSize, nIn), row-major.
    let x: UnsafeMutablePointer<Float>
    /// (batchSize, nOut) floats or (batchSize) int32 class indices.
    let y: UnsafeMutableRawPointer
    /// (batchSize) sample weights, when the data has them.
    let w: UnsafeMutablePointer<Float>?

    /// Rows the permutation orders (data's, or a split's training rows).
    let count: Int

    init(_ data: DataView, count: Int, batchSize: Int, outputs: Int) throws(MiniBatchError) {
        self.data = data
        self.outputs = outputs
        self.count = count
        permutation = try allocate(Int.self, count: count, for: "the permutation")
        do {
            x = try allocate(Float.self, count: batchSize * data.features, for: "the batch of X")
        } catch {
            deallocate(permutation)
            throw error
        }
        do {
            y = UnsafeMutableRawPointer(try allocate(Float.self, count: batchSize * outputs, for: "the batch of y"))
        } catch {
            deallocate(permutation)
            deallocate(x)
            throw error
        }
        do {
            w = data.weights == nil ? nil : try allocate(Float.self, count: batchSize, for: "the batch's sample weights")
        } catch {
            deallocate(permutation)
            deallocate(x)
            deallocate(y.assumingMemoryBound(to: Float.self))
            throw error
        }
    }

    deinit {
        deallocate(permutation)
        deallocate(x)
        deallocate(y.assumingMemoryBound(to: Float.self))
        deallocate(w)
    }

    func drawPermutation(seed: UInt64, epoch: UInt64) {
        Permutation.fill(UnsafeMutableBufferPointer(start: permutation, count: count), seed: seed, epoch: epoch)
    }

    /// The batch buffers: X (batchSize, nIn) and the targets.
    var buffers: (UnsafePointer<Float>, Targets) {
        switch data.targets {
        case .values: return (UnsafePointer(x), .values(y.assumingMemoryBound(to: Float.self)))
        case .classes: return (UnsafePointer(x), .classes(y.assumingMemoryBound(to: Int32.self)))
        }
    }

    /// Gathers rows `rows` of the batch that starts at `start` of the permutation: buffer
    /// row r gets X and y row `permutation[start + r]`.
    func gather(_ start: Int, rows: Range<Int>) {
        let indices = self.indices(start, rows)
        Shuffle.gatherRows(x + rows.lowerBound * data.features, data.x,
                           rowBytes: data.features * MemoryLayout<Float>.stride, rows: indices)
        gatherTargets(indices, at: rows.lowerBound)
    }

    /// `gather`, returning the largest |x| copied (non-finite if X has a NaN or Inf there).
    func gatherMeasured(_ start: Int, rows: Range<Int>) -> Magnitude {
        let indices = self.indices(start, rows)
        let magnitude = Shuffle.gatherRowsMeasured(
            x + rows.lowerBound * data.features, data.x, features: data.features, rows: indices)
        gatherTargets(indices, at: rows.lowerBound)
        return magnitude
    }

    /// The permutation's entries for rows `rows` of the batch that starts at `start`.
    private func indices(_ start: Int, _ rows: Range<Int>) -> UnsafeBufferPointer<Int> {
        UnsafeBufferPointer(start: permutation + start + rows.lowerBound, count: rows.count)
    }

    /// y rows `indices` into the batch buffer from its row `first`.
    private func gatherTargets(_ indices: UnsafeBufferPointer<Int>, at first: Int) {
        if let w, let weights = data.weights {
            for (k, row) in indices.enumerated() { w[first + k] = weights[row] }
        }
        let floatBytes = MemoryLayout<Float>.stride
        switch data.targets {
        case .values(let source):
            let yBytes = outputs * floatBytes
            Shuffle.gatherRows(y + first * yBytes, source, rowBytes: yBytes, rows: indices)
        case .classes(let source):
            let yBytes = MemoryLayout<Int32>.stride
            Shuffle.gatherRows(y + first * yBytes, source, rowBytes: yBytes, rows: indices)
        }
    }
}
