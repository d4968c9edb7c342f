// MARK: - Forward only: predict and evaluate; one batch's gradient

extension Network {
    /// Rows a pass takes at a time: each forward pass when predicting or evaluating, and
    /// each forward and backward pass of training (`TrainingStep.rowsAtATime`), so that
    /// memory does not grow with m or the batch, and a chunk's rows and activations stay in
    /// the core's cache between its forward and backward pass. Measured for training at
    /// 784-128-10 on 60,000 rows, two threads: full batch 12 % faster than one pass over
    /// each thread's rows (chunks of 128 rows: 1-2 % slower than 256; of 512: 3 % slower),
    /// batch 4096 7 % faster; one thread, full batch 17 % faster; 784-32-10 and 784-1024-10
    /// full batch 20 % and 14 % faster; 20-64-3 on 200,000 rows, full batch, 2.2x faster
    /// (chunks of 2,048 rows: 1.9x). Measured on a Zen 5 (1 MiB of L2 per core); on a Zen 3
    /// (512 KiB, where a 256-row chunk of 784 inputs no longer fits the L2) chunks of 128 rows
    /// were no faster (784-128-10, one thread, batch 256, 512 and full; alternating builds).
    static let chunkRows = 256

    /// Part `p` of `rows` cut into `parts` consecutive parts of near-equal size (the
    /// shards of a batch, the chunks of a shard).
    @inline(__always)
    static func part(_ p: Int, of parts: Int, in rows: Range<Int>) -> Range<Int> {
        (rows.lowerBound + p * rows.count / parts)..<(rows.lowerBound + (p + 1) * rows.count / parts)
    }

    /// Runs the forward pass over X in chunks of `chunkRows` rows, calling
    /// `body(start, rows, logits)` for each, chunks shared among threads
    /// (`Team.forEachChunk`: `body` runs on several threads at once, each on its own chunks);
    /// throws after the first chunk (in row order) whose outputs are not all finite
    /// (`checkOutputs`), whose row it names. Other chunks than those before it may have been
    /// written by then.
    private func forEachChunk(
        _ x: UnsafePointer<Float>, count m: Int,
        _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) throws(MiniBatchError) {
        guard m > 0 else { return }
        let chunk = min(m, Network.chunkRows), chunks = (m + chunk - 1) / chunk
        let workspaces = try chunkWorkspaces(members: Team.chunkMembers(chunks), rows: chunk)
        try Team.forEachChunk(chunks, members: workspaces.count) { (t, c) throws(MiniBatchError) in
            let start = c * chunk, rows = min(chunk, m - start)
            let logits = forward(x + start * inputCount, rows: rows, workspaces[t])
            body(start, rows, logits)
            try checkOutputs(logits, rows: rows, firstRow: start)
        }
    }

    /// A forward pass's workspace of `rows` rows for each of `members` members.
    func chunkWorkspaces(members: Int, rows: Int) throws(MiniBatchError) -> [Workspace] {
        var workspaces: [Workspace] = []
        for _ in 0..<members { workspaces.append(try Workspace(for: self, capacity: rows, backward: false)) }
        return workspaces
    }

    /// Throws `.diverged` naming the first row (counted from `firstRow`) whose logits are
    /// not all finite. Finite inputs can still overflow a model's weights, such as those a
    /// diverged training kept: a prediction then says so rather than return Inf or NaN.
    /// (Finite logits give finite outputs: softmax and sigmoid are computed stably.)
    func checkOutputs(_ logits: UnsafePointer<Float>, rows: Int, firstRow: Int, in file: String? = nil) throws(MiniBatchError) {
        guard let bad = Validate.firstNonFinite(logits, count: rows * outputCount) else { return }
        let row = firstRow + bad / outputCount
        throw MiniBatchError(.diverged, "the model's output \(bad % outputCount) for row \(row) of \(file.map { "X file '\($0)'" } ?? "X") is \(logits[bad]): its weights overflow on this input (training may have diverged)")
    }

    private func checkInputs(_ x: UnsafePointer<Float>, count m: Int, features: Int) throws(MiniBatchError) {
        try Validate.count(m, "m")
        try Validate.size(features, "n_features")
        guard features == inputCount else {
            throw .invalid("n_features is \(features) but the model has \(inputCount) inputs")
        }
        let n = try Validate.product(m, features, "X (m x n_features)")
        _ = try Validate.product(m, outputCount, "the outputs (m x n_outputs)")
        if let bad = Validate.firstNonFinite(x, count: n) { throw NonFinite(x, features: features, at: bad).error }
    }

    /// The outputs for X (m, nIn) into `out` (m, nOut): softmax or sigmoid probabilities for
    /// the cross-entropy losses, values for MSE.
    public func predict(
        _ x: UnsafePointer<Float>, count m: Int, features: Int, into out: UnsafeMutablePointer<Float>
    ) throws(MiniBatchError) {
        try access.read { () throws(MiniBatchError) in
            try checkInputs(x, count: m, features: features)
            try forEachChunk(x, count: m) { start, rows, logits in
                writeOutputs(out + start * outputCount, logits: logits, rows: rows)
            }
        }
    }

    /// The outputs of `rows` rows from their logits into `out` (rows, nOut): what
    /// `predict` writes, from memory or from a file.
    func writeOutputs(_ out: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, rows: Int) {
        out.update(from: logits, count: rows * outputCount)
        loss.output(out, rows: rows, outputs: outputCount)
    }

    /// The predicted classes of `rows` rows from their logits into `out` (rows): what
    /// `predictClasses` writes, from memory or from a file.
    func writeClasses(_ out: UnsafeMutablePointer<Int32>, logits: UnsafePointer<Float>, rows: Int) {
        let nOut = outputCount
        for r in 0..<rows {
            let z = logits + r * nOut
            out[r] = Int32(nOut == 1 ? (z[0] >= 0 ? 1 : 0) : argmax(z, nOut))
        }
    }

    /// Throws unless the model's outputs name classes: softmax, or one sigmoid output.
    func checkPredictsClasses() throws(MiniBatchError) {
        guard loss == .crossEntropy || (loss == .binaryCrossEntropy && outputCount == 1) else {
            throw .invalid("predicted classes need MB_LOSS_CROSS_ENTROPY, or MB_LOSS_BINARY_CROSS_ENTROPY with one output; this model has \(loss.cName) with \(outputCount) outputs")
        }
    }

    /// Predicted classes into `out` (m): argmax of the softmax (lowest index on ties), or
    /// output >= 0.5 for binary cross-entropy with one output.
    public func predictClasses(
        _ x: UnsafePointer<Float>, count m: Int, features: Int, into out: UnsafeMutablePointer<Int32>
    ) throws(MiniBatchError) {
        try checkPredictsClasses()
        try access.read { () throws(MiniBatchError) in
            try checkInputs(x, count: m, features: features)
            try forEachChunk(x, count: m) { start, rows, logits in
                writeClasses(out + start, logits: logits, rows: rows)
            }
        }
    }

    /// The mean cost over all rows of `data`, and the accuracy for the cross-entropy losses
    /// (NaN for the regression losses). An output that is NaN or Inf throws `.diverged`, as
    /// `predict`. With `data.weights`, both are weighted means (each row's cost and hit
    /// times its weight, over the weights' total), as a training call's validation set
    /// with weights is scored; the weights are checked as training checks them (finite,
    /// >= 0, not all 0). (Until 0.12.5 the weights were ignored.)
    public func evaluate(_ data: DataView) throws(MiniBatchError) -> (cost: Double, accuracy: Double) {
        try access.read { () throws(MiniBatchError) in try evaluateUnguarded(data) }
    }

    private func evaluateUnguarded(_ data: DataView) throws(MiniBatchError) -> (cost: Double, accuracy: Double) {
        try Validate.data(data, for: self)
        let total = try Validate.weights(data)
        let m = data.count, nIn = inputCount, nOut = outputCount
        let chunk = min(m, Network.chunkRows), chunks = (m + chunk - 1) / chunk
        // Each chunk's cost sum and hits, added in chunk order after: the sums a pass over
        // the chunks in order makes (`evaluate(_:partition:workspace:...)`, a training call's
        // validation), bit for bit.
        let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * chunks)
        defer { sums.deallocate() }
        let workspaces = try chunkWorkspaces(members: Team.chunkMembers(chunks), rows: chunk)
        try Team.forEachChunk(chunks, members: workspaces.count) { (t, c) throws(MiniBatchError) in
            let start = c * chunk, rows = min(chunk, m - start)
            let logits = forward(data.x + start * nIn, rows: rows, workspaces[t])
            try checkOutputs(logits, rows: rows, firstRow: start)
            let targets = data.targets.advanced(by: start, width: nOut), weights = data.weights.map { $0 + start }
            sums[2 * c] = loss.forwardBackward(
                dlogits: nil, logits: logits, targets: targets, rows: rows, outputs: nOut, normalizer: Double(rows),
                weights: weights)
            sums[2 * c + 1] = loss.correct(logits: logits, targets: targets, rows: rows, outputs: nOut, weights: weights)
        }
        var lossSum = 0.0, hits = 0.0
        for c in 0..<chunks {
            lossSum += sums[2 * c]
            hits += sums[2 * c + 1]
        }
        return means(lossSum: lossSum, hits: hits, rows: m, weightTotal: total)
    }

    /// The mean cost and the accuracy (NaN for the regression losses) from their sums over
    /// `rows` rows, or over the rows' weights where they have a total.
    private func means(lossSum: Double, hits: Double, rows: Int, weightTotal: Double?) -> (cost: Double, accuracy: Double) {
        let m = weightTotal.flatMap { $0 > 0 ? $0 : nil } ?? Double(rows)
        let accuracy: Double = switch loss {
        case .meanSquaredError, .poisson: .nan
        case .crossEntropy: hits / m
        case .binaryCrossEntropy: hits / (m * Double(outputCount))
        }
        return (lossSum / m, accuracy)
    }

    /// The mean cost and the accuracy over every batch of `source`, in order, from forward
    /// passes only: the evaluation of in-memory data and of file datasets alike.
    ///
    /// - Parameters:
    ///   - checksOutputs: throws `.diverged` naming the first row whose outputs are not all
    ///     finite (`checkOutputs`), as a prediction does. Without it (the validation set of
    ///     a training call) such rows give a cost of Inf or NaN, which training records as
    ///     the epoch's validation cost.
    ///   - file: the X file the rows come from, for that message (nil: X in memory).
    ///   - weighted: the rows weigh their sample weights (see the overload below).
    func evaluate(
        _ source: BatchSource, partition: Partition, checksOutputs: Bool, file: String? = nil,
        residuals: UnsafeMutablePointer<Double>? = nil, weighted: Bool = false
    ) throws(MiniBatchError) -> (cost: Double, accuracy: Double) {
        try evaluate(source, partition: partition, workspace: Workspace(for: self, capacity: partition.batchSize, backward: false),
                     checksOutputs: checksOutputs, file: file, residuals: residuals, weighted: weighted)
    }

    /// `evaluate` in a workspace of at least `partition.batchSize` rows (the validation set
    /// of a training call reuses one every epoch). `residuals` (outputCount), for the
    /// regression losses: each output's residual sum of squares is added to it (R^2's).
    /// `weighted`: the source's sample weights (`BatchSource.weighting`) weigh each row's
    /// cost, hits and squares, and the means divide by their total (a validation set with
    /// weights); else every row weighs 1.
    func evaluate(
        _ source: BatchSource, partition: Partition, workspace: Workspace, checksOutputs: Bool, file: String? = nil,
        residuals: UnsafeMutablePointer<Double>? = nil, weighted: Bool = false
    ) throws(MiniBatchError) -> (cost: Double, accuracy: Double) {
        defer { source.finish() }
        let nOut = outputCount
        var lossSum = 0.0, hits = 0.0, total = 0.0
        try source.startEpoch(0)
        for b in 0..<partition.batchCount {
            let rows = partition.batch(b).count
            let (input, targets) = try source.batch(b)
            try source.fill(b, rows: 0..<rows)
            let weights = weighted ? source.weighting(b, rows: rows, inPlace: false)?.weights : nil
            if let weights { for r in 0..<rows { total += Double(weights[r]) } }
            let logits = forward(input, rows: rows, workspace)
            if checksOutputs { try checkOutputs(logits, rows: rows, firstRow: partition.batch(b).lowerBound, in: file) }
            lossSum += loss.forwardBackward(
                dlogits: nil, logits: logits, targets: targets, rows: rows, outputs: nOut, normalizer: Double(rows),
                weights: weights)
            hits += loss.correct(logits: logits, targets: targets, rows: rows, outputs: nOut, weights: weights)
            if let residuals {
                loss.addSquaredResiduals(into: residuals, logits: logits, targets: targets, rows: rows, outputs: nOut, weights: weights)
            }
        }
        return means(lossSum: lossSum, hits: hits, rows: partition.count, weightTotal: weighted ? total : nil)
    }

    /// The cost of all rows of `data` taken as one batch, and its gradient with respect to
    /// every parameter in the flat layout: exactly what a one-thread training step computes
    /// before its update (in the same chunks of rows, and with the first layer's W in the
    /// layout training keeps it in: `TrainingStep`'s notes), without dropout or label
    /// smoothing (training steps with `TrainingOptions.dropout` or `labelSmoothing` drop units
    /// or smooth the targets; this never does). Does not change the network. With
    /// `data.weights`, the cost is the weighted mean and the gradient its gradient, as a
    /// training step with sample weights computes them (each row's term times its weight,
    /// over the weights' total); the weights are checked as training checks them. (Until
    /// 0.12.5 the weights were ignored.)
    /// A cost or gradient value that is NaN or Inf (what makes a training step diverge)
    /// throws `.diverged` and leaves `out` as it was.
    public func gradient(_ data: DataView, into out: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) -> Double {
        try access.read { () throws(MiniBatchError) in try gradientUnguarded(data, into: out) }
    }

    private func gradientUnguarded(_ data: DataView, into out: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) -> Double {
        try Validate.data(data, for: self)
        // (the whole batch's weight, summed in row order as a training step sums its batch's)
        let total = try Validate.weights(data)
        guard out.count == parameterCount else {
            throw .invalid("count is \(out.count) but the model has \(parameterCount) parameters")
        }
        let m = data.count
        try Validate.size(m, "m (one batch)")
        let weighting: Weighting? = if let w = data.weights, let total { Weighting(weights: w, total: total, penaltyTotal: total) } else { nil }
        let divisor = total ?? Double(m)
        let rows = TrainingStep.rowsAtATime(self, shardRows: m, mayFuse: false)
        let transposed = TrainingStep.transposesFirstWeights(self)
        let workspace = try Workspace(for: self, capacity: rows, backward: true, firstWeightsTransposed: transposed)
        var copy: UnsafeMutablePointer<Float>?
        defer { if let copy { deallocate(copy) } }
        if transposed {
            // The parameters in training's layout: W^T in W's place.
            let inLayout = try allocate(Float.self, count: parameterCount, for: "the parameters in training's layout")
            copy = inLayout
            inLayout.update(from: parameters, count: parameterCount)
            layers[0].transposeWeights(parameters, into: inLayout, toTraining: true)
            workspace.parameters = UnsafePointer(inLayout)
        }
        // The products as a training step's: OpenBLAS on one thread (`BLASThreads`, as
        // `TrainingStep` holds it) and x W^T as its rule has it (`MatrixBackend.trainingProducts`).
        BLASThreads.acquire()
        defer { BLASThreads.release() }
        let cost = try MatrixBackend.trainingProducts { () throws(MiniBatchError) in
            try costAndGradient(data.x, data.targets, rows: 0..<m, of: m, workspace, weighting: weighting) { _ in }
        }
        let gradients = workspace.gradients!
        // What a training step calls divergence is not returned as a result either.
        guard cost.isFinite else {
            throw MiniBatchError(.diverged, "the cost of X is \(cost / divisor): the model's weights overflow on this input (training may have diverged); grad is not written")
        }
        if let bad = Validate.firstNonFinite(gradients, count: parameterCount) {
            throw MiniBatchError(.diverged, "the gradient holds \(gradients[bad]): the model overflows on this input (a training step on it would diverge); grad is not written")
        }
        out.baseAddress!.update(from: gradients, count: parameterCount)
        if transposed {
            // dW^T back into dW's layout.
            layers[0].transposeWeights(gradients, into: out.baseAddress!, toTraining: false)
        }
        return cost / divisor
    }
}
