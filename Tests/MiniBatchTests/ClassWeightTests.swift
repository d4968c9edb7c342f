import Testing
@testable import MiniBatch

/// Class weights are the rows' weights classWeight[y] (times the sample weights): the same
/// training, bit for bit, as those sample weights; refused where they mean nothing.
struct ClassWeightTests {
    static let m = 300, features = 5

    static func data() -> (x: [Float], y: [Int32]) {
        let x = Fixture.uniform(m * features, seed: 31)
        return (x, (0..<m).map { Int32(($0 * 7) % 3) })
    }

    @Test(arguments: [1, 2])
    func classWeightsAreTheRowsSampleWeights(threads: Int) throws {
        let (x, y) = Self.data()
        let classWeight: [Float] = [0.5, 3, 1.25]
        let sampleWeight = (0..<Self.m).map { Float($0 % 5) * 0.25 }
        var options = TrainingOptions(epochs: 3, batchSize: .fixed(32), learningRate: 0.05, seed: 2, threads: threads,
                                      optimizer: .adam())
        options.classWeight = classWeight
        let byClass = try Network(layerSizes: [5, 8, 3], seed: 1)
        let byRow = try Network(layerSizes: [5, 8, 3], seed: 1)
        try x.withUnsafeBufferPointer { xs throws(MiniBatchError) in
            try y.withUnsafeBufferPointer { ys throws(MiniBatchError) in
                try sampleWeight.withUnsafeBufferPointer { ws throws(MiniBatchError) in
                    let data = DataView(x: xs.baseAddress!, targets: .classes(ys.baseAddress!), count: Self.m,
                                        features: Self.features, weights: ws.baseAddress!)
                    try byClass.train(data, options: options)
                    let rows = (0..<Self.m).map { classWeight[Int(y[$0])] * sampleWeight[$0] }
                    try rows.withUnsafeBufferPointer { rs throws(MiniBatchError) in
                        var plain = options
                        plain.classWeight = nil
                        var weighted = data
                        weighted.weights = rs.baseAddress!
                        try byRow.train(weighted, options: plain)
                    }
                }
            }
        }
        #expect(byClass.parameterArray == byRow.parameterArray)
    }

    @Test func meaninglessClassWeightsAreRefused() throws {
        let (x, y) = Self.data()
        func failure(_ sizes: [Int], loss: Loss, _ weights: [Float], values: Bool = false) throws -> String? {
            let network = try Network(layerSizes: sizes, loss: loss)
            var options = TrainingOptions(epochs: 1)
            options.classWeight = weights
            let before = network.parameterArray
            let error = Fixture.failure { () throws(MiniBatchError) in
                if values {
                    let k = sizes.last!
                    let v: [Float] = k == 1 ? y.map(Float.init) : y.flatMap { c in (0..<k).map { $0 == Int(c) ? 1 : 0 } }
                    try network.train(x: x, values: v, features: Self.features, options: options)
                } else {
                    let labels = loss == .binaryCrossEntropy ? y.map { $0 % 2 } : y
                    try network.train(x: x, classes: labels, features: Self.features, options: options)
                }
            }
            #expect(network.parameterArray == before)
            return error?.message
        }
        #expect(try failure([5, 3], loss: .crossEntropy, [1, 2])?.contains("2 entries, but the model has 3 classes") == true)
        #expect(try failure([5, 3], loss: .crossEntropy, [])?.contains("0 entries") == true)
        #expect(try failure([5, 3], loss: .crossEntropy, [1, .infinity, 1])?.contains("class_weight[1]") == true)
        #expect(try failure([5, 3], loss: .crossEntropy, [0, 0, 0])?.contains("every row weighs 0") == true)
        #expect(try failure([5, 1], loss: .meanSquaredError, [1, 1], values: true)?.contains("needs the cross-entropy") == true)
        #expect(try failure([5, 1], loss: .binaryCrossEntropy, [1, 1, 1])?.contains("3 entries, but the model has 2 classes") == true)
        #expect(try failure([5, 3], loss: .crossEntropy, [1, 1, 1], values: true)?.contains("class-index targets") == true)
    }
}
