// MARK: - The array API for Swift users
//
// X is a flat row-major [Float] of m * features values; targets are class indices
// ([Int32], m) or values ([Float], m * outputs). Each call checks the array lengths, then
// runs the unsafe-buffer engine on them.

extension Network {
    private func rows(_ x: [Float], features: Int) throws(MiniBatchError) -> Int {
        try Validate.size(features, "features")
        guard !x.isEmpty, x.count % features == 0 else {
            throw .invalid("x has \(x.count) values, not a positive multiple of features (\(features))")
        }
        return x.count / features
    }

    /// Runs `body` on the arrays as a `DataView`, once their lengths are checked. For a
    /// training call with a `distribution`, lengths it refuses are told to every rank
    /// (`refusedBeforeTraining`): the others wait in the call's opening exchange.
    private func withData<R>(
        _ x: [Float], _ targets: [Float]?, _ classes: [Int32]?, features: Int, told distribution: Distribution? = nil,
        _ body: (DataView) throws(MiniBatchError) -> R
    ) throws(MiniBatchError) -> R {
        let m: Int
        do throws(MiniBatchError) {
            m = try rows(x, features: features)
            if let classes, classes.count != m {
                throw .invalid("classes has \(classes.count) values for \(m) rows of x")
            }
            if let targets, targets.count != m * outputCount {
                throw .invalid("values has \(targets.count) values; \(m) rows x \(outputCount) outputs needs \(m * outputCount)")
            }
        } catch {
            guard let distribution else { throw error }
            throw refusedBeforeTraining(distribution, error)
        }
        var result: Result<R, MiniBatchError>!
        x.withUnsafeBufferPointer { xs in
            withoutActuallyEscaping(body) { body in
                let run = { (targets: Targets) in
                    do throws(MiniBatchError) {
                        result = .success(try body(DataView(x: xs.baseAddress!, targets: targets, count: m, features: features)))
                    } catch { result = .failure(error) }
                }
                if let classes {
                    classes.withUnsafeBufferPointer { run(.classes($0.baseAddress!)) }
                } else {
                    targets!.withUnsafeBufferPointer { run(.values($0.baseAddress!)) }
                }
            }
        }
        return try result.get()
    }

    /// Trains on X (m x features, row-major) and class indices (m).
    public func train(
        x: [Float], classes: [Int32], features: Int, options: TrainingOptions = TrainingOptions(),
        history: History? = nil, progress: ((Progress) -> ProgressAction)? = nil
    ) throws(MiniBatchError) {
        try withData(x, nil, classes, features: features, told: options.distribution) { (data) throws(MiniBatchError) in
            try train(data, options: options, history: history, progress: progress)
        }
    }

    /// Trains on X (m x features, row-major) and target values (m x outputs, row-major).
    public func train(
        x: [Float], values: [Float], features: Int, options: TrainingOptions = TrainingOptions(),
        history: History? = nil, progress: ((Progress) -> ProgressAction)? = nil
    ) throws(MiniBatchError) {
        try withData(x, values, nil, features: features, told: options.distribution) { (data) throws(MiniBatchError) in
            try train(data, options: options, history: history, progress: progress)
        }
    }

    /// The mean cost and the accuracy (NaN for MSE) on X and class indices.
    public func evaluate(x: [Float], classes: [Int32], features: Int) throws(MiniBatchError) -> (cost: Double, accuracy: Double) {
        try withData(x, nil, classes, features: features) { (data) throws(MiniBatchError) in try evaluate(data) }
    }

    /// The mean cost and the accuracy (NaN for MSE) on X and target values.
    public func evaluate(x: [Float], values: [Float], features: Int) throws(MiniBatchError) -> (cost: Double, accuracy: Double) {
        try withData(x, values, nil, features: features) { (data) throws(MiniBatchError) in try evaluate(data) }
    }

    /// The cost of one batch and its gradient in the flat parameter layout.
    public func gradient(x: [Float], classes: [Int32], features: Int) throws(MiniBatchError) -> (cost: Double, gradient: [Float]) {
        try withData(x, nil, classes, features: features) { (data) throws(MiniBatchError) in try gradientArray(data) }
    }

    /// The cost of one batch and its gradient in the flat parameter layout.
    public func gradient(x: [Float], values: [Float], features: Int) throws(MiniBatchError) -> (cost: Double, gradient: [Float]) {
        try withData(x, values, nil, features: features) { (data) throws(MiniBatchError) in try gradientArray(data) }
    }

    private func gradientArray(_ data: DataView) throws(MiniBatchError) -> (cost: Double, gradient: [Float]) {
        var gradient = [Float](repeating: 0, count: parameterCount)
        var cost = 0.0
        try gradient.withUnsafeMutableBufferPointer { (out) throws(MiniBatchError) in
            cost = try self.gradient(data, into: out)
        }
        return (cost, gradient)
    }

    /// The outputs for X (m x features): m x outputs probabilities or values, row-major.
    public func predict(x: [Float], features: Int) throws(MiniBatchError) -> [Float] {
        let m = try rows(x, features: features)
        let count = try Validate.product(m, outputCount, "m x n_outputs")
        try Validate.fitsMemory(count, elementBytes: MemoryLayout<Float>.stride, "the outputs (m x n_outputs floats)")
        var out = [Float](repeating: 0, count: count)
        try x.withUnsafeBufferPointer { (xs) throws(MiniBatchError) in
            try out.withUnsafeMutableBufferPointer { (buffer) throws(MiniBatchError) in
                try predict(xs.baseAddress!, count: m, features: features, into: buffer.baseAddress!)
            }
        }
        return out
    }

    /// The predicted class of each row of X (m x features).
    public func predictClasses(x: [Float], features: Int) throws(MiniBatchError) -> [Int32] {
        let m = try rows(x, features: features)
        var out = [Int32](repeating: 0, count: m)
        try x.withUnsafeBufferPointer { (xs) throws(MiniBatchError) in
            try out.withUnsafeMutableBufferPointer { (buffer) throws(MiniBatchError) in
                try predictClasses(xs.baseAddress!, count: m, features: features, into: buffer.baseAddress!)
            }
        }
        return out
    }
}
