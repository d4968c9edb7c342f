@testable import MiniBatch

/// Small helpers shared by the tests.
enum Fixture {
    /// Deterministic data: X (m, n) uniform in [-1, 1) from stream (seed, 99).
    static func uniform(_ count: Int, seed: UInt64 = 1, scale: Double = 1) -> [Float] {
        var generator = Generator(seed: seed, stream: 99)
        return (0..<count).map { _ in Float((generator.unitDouble() * 2 - 1) * scale) }
    }

    /// Class indices in [0, classes).
    static func classes(_ count: Int, classes: Int, seed: UInt64 = 2) -> [Int32] {
        var generator = Generator(seed: seed, stream: 98)
        return (0..<count).map { _ in Int32(generator.below(UInt64(classes))) }
    }

    /// Rows of probabilities summing to 1.
    static func probabilities(rows: Int, outputs: Int, seed: UInt64 = 3) -> [Float] {
        var values = uniform(rows * outputs, seed: seed).map { $0 + 1.5 }
        for r in 0..<rows {
            let sum = values[r * outputs..<(r + 1) * outputs].reduce(0, +)
            for j in 0..<outputs { values[r * outputs + j] /= sum }
        }
        return values
    }

    /// |a - b| <= atol + rtol |b|
    /// Trains `network` on `x` (rows of `features`) and its classes `y` in mini-batches of
    /// `batchSize` through a `TrainingStep` made here: fused where the step may fuse (`fused`;
    /// false sets its bound to 0, so every step takes the checked way), the first layer's W
    /// kept transposed or not (`transposed`; nil: the backend's rule). `inspect` sees the step
    /// after training, before it is finished.
    static func trainThroughStep(
        _ network: Network, x: [Float], classes y: [Int32], features: Int, outputs: Int, batchSize: Int,
        options: TrainingOptions, fused: Bool = true, transposed: Bool? = nil, inspect: (TrainingStep) -> Void = { _ in }
    ) throws {
        let m = y.count
        var options = options
        options.transposingFirstWeights = transposed
        let partition = Partition(count: m, batchSize: batchSize, lastBatch: options.lastBatch)
        let step = try TrainingStep(for: network, partition: partition, options: options)
        defer { step.finish() }
        if !fused { step.fusedBound = 0 }
        try x.withUnsafeBufferPointer { xs throws(MiniBatchError) in
            try y.withUnsafeBufferPointer { ys throws(MiniBatchError) in
                let data = DataView(x: xs.baseAddress!, targets: .classes(ys.baseAddress!), count: m, features: features)
                let source = try MemoryBatches(data, partition: partition, outputs: outputs, options: options)
                try network.train(source, partition: partition, step: step, options: options, history: nil, progress: nil)
            }
        }
        inspect(step)
    }

    static func close(_ a: Double, _ b: Double, rtol: Double, atol: Double) -> Bool {
        abs(a - b) <= atol + rtol * abs(b)
    }
}

extension Fixture {
    /// The error `body` throws, or nil if it returns.
    static func failure(_ body: () throws(MiniBatchError) -> Void) -> MiniBatchError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }
}
