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
    /// the count and the values, and that the rows' weights are finite and not all zero (nor,
    /// flushing subnormals, below Float's least normal number but 0).
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
            if options.flushesDenormals && w.isSubnormal {
                deallocate(rows)
                throw .invalid(Validate.subnormalWeight(
                    "the weight of row \(r) (class_weight[\(c)]\(data.weights == nil ? "" : " x sample_weight[\(r)]"))", w))
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
}
