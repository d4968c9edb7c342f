// MARK: - Class weights

extension FileDataset {
    /// Why a file dataset takes no class weights.
    package static let classWeightRefusal = "class_weight applies to arrays in memory, as sample_weight does, not to a file dataset"
}

extension Network {
    /// The classes class weights weigh: the outputs of the cross-entropy, 2 for binary
    /// cross-entropy with one output (labels 0 and 1); nil for the other models.
    var weightedClasses: Int? {
        switch loss {
        case .crossEntropy: outputCount
        case .binaryCrossEntropy where outputCount == 1: 2
        default: nil
        }
    }

    /// Checks that `count` class weights fit this model (before a caller's buffer of that
    /// many is read).
    package func checkClassWeightCount(_ count: Int) throws(MiniBatchError) {
        guard let classes = weightedClasses else {
            throw .invalid("class_weight needs the cross-entropy loss, or binary cross-entropy with one output; this model has \(loss.cName) with \(outputCount) outputs")
        }
        guard count == classes else {
            throw .invalid("class_weight has \(count) entries, but the model has \(classes) classes")
        }
    }

    /// The classes' weights of `options.classWeight` made into the rows' weights:
    /// classWeight[y_r] times the row's sample weight (when given), in float, for the call's
    /// data (m floats, freed by the caller); nil without class weights. What the rows'
    /// weights then mean is the sample weights' (`Weighting`). Checks the loss, the targets,
    /// the count and the values, and that the rows' weights are finite and not all zero.
    /// (Call after `Validate.targets` and `Validate.weights`.)
    func classWeightedRows(_ data: DataView, _ options: TrainingOptions) throws(MiniBatchError) -> UnsafeMutablePointer<Float>? {
        guard let weights = options.classWeight else { return nil }
        try checkClassWeightCount(weights.count)
        guard case .classes(let y) = data.targets else {
            throw .invalid("class_weight needs class-index targets (MB_TARGETS_CLASS_INDEX), not float targets")
        }
        for (c, w) in weights.enumerated() where !(w.isFinite && w >= 0) {
            throw .invalid("class_weight[\(c)] must be finite and >= 0, got \(w)")
        }
        let rows = try allocate(Float.self, count: data.count, for: "the rows' class weights")
        var total = 0.0
        for r in 0..<data.count {
            let c = Int(y[r])
            let w = weights[c] * (data.weights?[r] ?? 1)
            guard w.isFinite else {
                deallocate(rows)
                throw .invalid("the weight of row \(r), class_weight[\(c)] x sample_weight[\(r)], overflows float")
            }

            rows[r] = w
            total += Double(w)
        }
        guard total > 0 else {
            deallocate(rows)
            throw .invalid("class_weight: every row weighs 0 (its class's weight\(data.weights == nil ? "" : " times its sample_weight"))")
        }
        return rows
    }

    /// Rows' weights for training that flushes subnormals (`TrainingOptions.flushesDenormals`),
    /// where a weight below 2^-126 would read as 0: if any positive weight is that small, all
    /// are multiplied by the power of two that brings the smallest to 2^-126 or above, into
    /// `buffer` (the class-weighted rows, scaled in place) or a new buffer of `count` floats
    /// (freed by the caller), returned with that power; nil if none is that small. Exact (a
    /// power of two), and the gradient and the cost depend on the weights' ratios only; the
    /// L2 term's divisor stays the caller's total (`DataView.weightScale`,
    /// `Weighting.penaltyTotal`). Read with subnormals kept, whatever the calling thread's
    /// mode. Throws `.invalidArgument` if the largest would then overflow: weights that span
    /// more than Float's normal range.
    static func weightsInNormalRange(
        _ weights: UnsafePointer<Float>, count: Int, into buffer: UnsafeMutablePointer<Float>?
    ) throws(MiniBatchError) -> (weights: UnsafeMutablePointer<Float>, scale: Double)? {
        let (smallest, largest) = SubnormalMode.with(flushing: false) { () -> (Float, Float) in
            var smallest = Float.infinity, largest: Float = 0
            for r in 0..<count where weights[r] > 0 {
                smallest = min(smallest, weights[r])
                largest = max(largest, weights[r])
            }
            return (smallest, largest)
        }
        guard smallest < .leastNormalMagnitude else { return nil }
        // smallest = s * 2^e with e its exponent (-149 ... -127 for a subnormal): times
        // 2^(-126 - e) it is at least 2^-126.
        let power = -126 - Int(smallest.exponent)
        guard Int(largest.exponent) + power <= Int(Float.greatestFiniteMagnitude.exponent) else {
            throw .invalid("the rows' weights (sample_weight, times class_weight if given) span more than float's normal range (smallest > 0: \(smallest), largest: \(largest)): training flushes subnormals to zero (denormals = MB_DENORMALS_FLUSH, the default), where the smallest would count as 0; scale them into [2^-126, 2^128) or keep subnormals (MB_DENORMALS_KEEP)")
        }
        let scale = Float(sign: .plus, exponent: power, significand: 1)
        let out: UnsafeMutablePointer<Float>
        if let buffer { out = buffer } else {
            out = try allocate(Float.self, count: count, for: "the rows' weights scaled into float's normal range")
        }
        SubnormalMode.with(flushing: false) {
            for r in 0..<count { out[r] = weights[r] * scale }
        }
        return (out, Double(scale))
    }
}
