import Testing
@testable import MiniBatch

/// The fast paths against the reference path: a team of threads splitting each batch, and
/// the row-by-row kernel of models without a hidden layer, against one thread and BLAS.
struct ThreadTests {
    static let m = 2048, features = 40
    static let x = Fixture.uniform(m * features, seed: 11)
    static let classes = Fixture.classes(m, classes: 10, seed: 12)
    static let labels = Fixture.classes(m, classes: 2, seed: 13)

    static func mlp() throws -> Network {
        try Network(layerSizes: [features, 64, 10], hiddenActivation: .relu, loss: .crossEntropy, seed: 5)
    }

    /// Trains a fresh `make()` with `threads` and returns its parameters.
    static func trained(_ make: () throws -> Network, threads: Int, batch: Int, binary: Bool = false) throws -> [Float] {
        let network = try make()
        let options = TrainingOptions(epochs: 3, batchSize: .fixed(batch), learningRate: 0.1, seed: 9, threads: threads)
        try network.train(x: x, classes: binary ? labels : classes, features: features, options: options)
        return network.parameterArray
    }

    static func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max()!
    }

    @Test func shardsAreCutAsDocumented() throws {
        // At least 4 rows per shard, never more shards than threads (784-128-10: enough work
        // a row that the rows bind).
        let w1 = try Network(layerSizes: [784, 128, 10])
        #expect(TrainingStep.shards(rows: 4, network: w1, team: 2) == 1)
        #expect(TrainingStep.shards(rows: 7, network: w1, team: 2) == 1)
        #expect(TrainingStep.shards(rows: 8, network: w1, team: 2) == 2)
        #expect(TrainingStep.shards(rows: 11, network: w1, team: 3) == 2)
        #expect(TrainingStep.shards(rows: 12, network: w1, team: 3) == 3)
        #expect(TrainingStep.shards(rows: 512, network: w1, team: 3) == 3)
        #expect(TrainingStep.shards(rows: 512, network: w1, team: 1) == 1)
        // At least 32,768 + 3 P of work (rows x (P + inputs)) per shard: 40-64-10 has
        // P = 3,274 and 3,314 a row, so 42,590 a shard, 12.9 rows.
        let network = try Self.mlp()
        #expect(TrainingStep.shardWork(network) == 42590)
        #expect(TrainingStep.shards(rows: 8, network: network, team: 2) == 1)
        #expect(TrainingStep.shards(rows: 25, network: network, team: 2) == 1)
        #expect(TrainingStep.shards(rows: 26, network: network, team: 2) == 2)
        #expect(TrainingStep.shards(rows: 38, network: network, team: 3) == 2)
        #expect(TrainingStep.shards(rows: 39, network: network, team: 3) == 3)
        #expect(TrainingStep.shards(rows: 512, network: network, team: 3) == 3)
        // At least 64 when the first layer takes the fused update (2^18 weights).
        let wide = try Network(layerSizes: [512, 512, 3], loss: .crossEntropy)
        #expect(TrainingStep.fusesFirstWeights(wide))
        #expect(TrainingStep.shards(rows: 127, network: wide, team: 2) == 1)
        #expect(TrainingStep.shards(rows: 128, network: wide, team: 2) == 2)
        // A tiny model is not worth a second thread.
        let tiny = try Network(layerSizes: [2, 4, 1], loss: .binaryCrossEntropy)
        #expect(TrainingStep.shards(rows: 256, network: tiny, team: 2) == 1)
        #expect(TrainingStep.shards(rows: 3454, network: tiny, team: 2) == 1)
        #expect(TrainingStep.shards(rows: 3455, network: tiny, team: 2) == 2)
    }

    @Test(arguments: [2, 3])
    func aTeamMatchesOneThread(threads: Int) throws {
        for batch in [128, 256, 2048] {
            let one = try Self.trained(Self.mlp, threads: 1, batch: batch)
            let team = try Self.trained(Self.mlp, threads: threads, batch: batch)
            // Only the order of the sums differs: float32 rounding over 3 epochs.
            #expect(Self.largestDifference(one, team) < 1e-4, "batch \(batch)")
            #expect(one != team, "batch \(batch): the batches were not split")
        }
    }

    @Test func aTeamIsBitIdenticalRunToRun() throws {
        for batch in [256, 2048] {
            let a = try Self.trained(Self.mlp, threads: 2, batch: batch)
            let b = try Self.trained(Self.mlp, threads: 2, batch: batch)
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        }
    }

    @Test func trainingGivesOpenBLASItsThreadsBack() throws {
        let before = BLASThreads.available
        _ = try Self.trained(Self.mlp, threads: 2, batch: 256)
        #expect(BLASThreads.available == before)
    }

    @Test func rowByRowGradientMatchesTheBLASPath() throws {
        // Logistic regression (one sigmoid output) and softmax regression (3 classes).
        for (loss, outputs) in [(Loss.binaryCrossEntropy, 1), (.crossEntropy, 3)] {
            let network = try Network(layerSizes: [Self.features, outputs], loss: loss, seed: 4)
            #expect(network.trainsRowByRow)
            let rows = 300
            let targets: [Int32] = outputs == 1 ? Array(Self.labels[0..<rows]) : Self.classes[0..<rows].map { $0 % 3 }
            let reference = try Workspace(for: network, capacity: rows, backward: true)
            let direct = try Workspace(for: network, capacity: rows, backward: true)
            try Self.x.withUnsafeBufferPointer { x in
                try targets.withUnsafeBufferPointer { y in
                    let cost = network.layeredCostAndGradient(x.baseAddress!, .classes(y.baseAddress!), rows: rows, of: rows, reference)
                    let rowCost = network.rowByRowCostAndGradient(
                        x: x.baseAddress!, indices: nil, targets: .classes(y.baseAddress!), rows: 0..<rows,
                        of: rows, direct)
                    #expect(abs(cost - rowCost) <= 1e-5 * abs(cost))
                    let a = UnsafeBufferPointer(start: reference.gradients!, count: network.parameterCount)
                    let b = UnsafeBufferPointer(start: direct.gradients!, count: network.parameterCount)
                    let scale = a.map(abs).max()!
                    #expect(Self.largestDifference(Array(a), Array(b)) <= 1e-5 * scale, "\(loss)")
                    _ = try #require(scale > 0)
                }
            }
        }
    }

    @Test func rowByRowTrainingMatchesTheGatheredBatches() throws {
        // In-place rows (read through the permutation) against a file-like source whose
        // batches are gathered first: the same kernel, so the same bits.
        let make = { try Network(layerSizes: [Self.features, 1], loss: .binaryCrossEntropy, seed: 2) }
        let a = try make(), b = try make()
        // Batches of 1024: two shards of this small model (the layout's work rule).
        #expect(TrainingStep.shards(rows: 1024, network: a, team: 2) == 2)
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(1024), learningRate: 0.5, seed: 4, threads: 2)
        try a.train(x: Self.x, classes: Self.labels, features: Self.features, options: options)
        // Pre-shuffled data without shuffling visits the same rows in the same batches.
        for epoch in 0..<2 {
            let perm = try Permutation.make(count: Self.m, seed: 4, epoch: UInt64(epoch))
            let xs = perm.flatMap { Self.x[$0 * Self.features..<($0 + 1) * Self.features] }
            let ys = perm.map { Self.labels[$0] }
            var unshuffled = options
            unshuffled.epochs = 1
            unshuffled.shuffle = false
            try b.train(x: xs, classes: ys, features: Self.features, options: unshuffled)
        }
        #expect(a.parameterArray.map(\.bitPattern) == b.parameterArray.map(\.bitPattern))
        // And one thread against two: rounding only.
        let one = try Self.trained(make, threads: 1, batch: 1024, binary: true)
        let two = try Self.trained(make, threads: 2, batch: 1024, binary: true)
        #expect(Self.largestDifference(one, two) < 1e-5)
    }

    @Test func aTeamRunsEveryMemberEveryRound() throws {
        let team = try Team(size: 3)
        let seen = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        defer { seen.deallocate() }
        seen.initialize(repeating: 0, count: 3)
        for _ in 0..<1000 { team.run { member in seen[member] += 1 } }
        team.stop()
        #expect(Array(UnsafeBufferPointer(start: seen, count: 3)) == [1000, 1000, 1000])
    }
}

/// `Access`'s two refusals say which use is in the way.
struct AccessTests {
    @Test func aChangeWhileOthersReadNamesTheReaders() throws {
        let access = Access("the model")
        let whileRead = Fixture.failure { () throws(MiniBatchError) in
            try access.read { () throws(MiniBatchError) in try access.modify { () throws(MiniBatchError) in } }
        }
        #expect(whileRead?.kind == .busy)
        #expect(whileRead?.message.contains("is being read by another call") == true)
        // The training call's own thread reads only in its progress callback (`readable`).
        let whileChanged = Fixture.failure { () throws(MiniBatchError) in
            try access.modify { () throws(MiniBatchError) in try access.read { () throws(MiniBatchError) in } }
        }
        #expect(whileChanged?.message.contains("is in use by a training call") == true)
        let inCallback = Fixture.failure { () throws(MiniBatchError) in
            try access.modify { () throws(MiniBatchError) in
                try access.readable { () -> Result<Void, MiniBatchError> in
                    Result { () throws(MiniBatchError) in try access.read { () throws(MiniBatchError) in } }
                }.get()
            }
        }
        #expect(inCallback == nil)
    }
}
