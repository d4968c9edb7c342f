import Testing
@testable import MiniBatch

/// The whole network's gradient (every dense layer's backward and the chain between them)
/// against central finite differences of the cost, and the parameter layout.
struct NetworkTests {
    static let architectures: [([Int], Activation, Loss)] = [
        ([3, 2], .linear, .meanSquaredError),             // linear regression
        ([3, 1], .linear, .binaryCrossEntropy),           // logistic regression
        ([4, 3], .linear, .crossEntropy),                 // softmax regression
        ([3, 5, 2], .tanh, .meanSquaredError),
        ([3, 4, 4, 1], .sigmoid, .binaryCrossEntropy),
        ([4, 6, 3], .relu, .crossEntropy),
        ([2, 3, 3], .linear, .crossEntropy),
        ([3, 1], .linear, .poisson),                      // Poisson regression
        ([3, 5, 2], .tanh, .poisson),
        ([4, 6, 3], .leakyRelu, .crossEntropy),
        ([3, 4, 4, 1], .elu, .binaryCrossEntropy),
        ([3, 5, 2], .selu, .meanSquaredError),
        ([4, 6, 3], .gelu, .crossEntropy),
        ([3, 4, 4, 1], .silu, .binaryCrossEntropy),
    ]

    @Test(arguments: architectures)
    func gradientMatchesFiniteDifferences(sizes: [Int], activation: Activation, loss: Loss) throws {
        let network = try Network(layerSizes: sizes, hiddenActivation: activation, loss: loss, seed: 3)
        let m = 6, nIn = sizes.first!, nOut = sizes.last!
        let x = Fixture.uniform(m * nIn, seed: 8)
        let values = loss == .meanSquaredError ? Fixture.uniform(m * nOut, seed: 9) : Fixture.probabilities(rows: m, outputs: nOut)
        let binary = Fixture.uniform(m * nOut, seed: 10).map { ($0 + 1) / 2 }
        let counts = Fixture.uniform(m * nOut, seed: 11).map { ($0 + 1) * 2 }
        let y = loss == .binaryCrossEntropy ? binary : loss == .poisson ? counts : values
        let (_, gradient) = try network.gradient(x: x, values: y, features: nIn)
        let base = network.parameterArray
        let h: Float = 1e-2
        var worst = 0.0
        for i in 0..<base.count {
            var plus = base, minus = base
            plus[i] += h
            minus[i] -= h
            try network.setParameters(plus)
            let up = try network.evaluate(x: x, values: y, features: nIn).cost
            try network.setParameters(minus)
            let down = try network.evaluate(x: x, values: y, features: nIn).cost
            let numeric = (up - down) / Double(2 * h)
            worst = max(worst, abs(Double(gradient[i]) - numeric) / (2e-3 + abs(numeric)))
            #expect(Fixture.close(Double(gradient[i]), numeric, rtol: 2e-2, atol: 2e-3), "parameter \(i) of \(sizes) \(activation) \(loss)")
        }
        try network.setParameters(base)
        #expect(worst < 0.05)
    }

    /// `evaluate` and `gradient` of a `DataView` with weights (they ignored them until
    /// 0.12.5): integer weights give what the rows repeated that many times give, the
    /// evaluation is the one a training call records for that validation set, and weights
    /// training refuses are refused.
    @Test(arguments: [([4, 6, 3], Loss.crossEntropy), ([3, 2], Loss.meanSquaredError)])
    func weightsCountAsRepeatedRows(sizes: [Int], loss: Loss) throws {
        let network = try Network(layerSizes: sizes, hiddenActivation: .relu, loss: loss, seed: 3)
        let m = 12, nIn = sizes.first!, nOut = sizes.last!
        let x = Fixture.uniform(m * nIn, seed: 8)
        let values = Fixture.uniform(m * nOut, seed: 9)
        let classes = Fixture.classes(m, classes: nOut)
        let weights: [Float] = (0..<m).map { Float($0 % 4) }
        // the reference: row r repeated weights[r] times
        let repeated = (0..<m).flatMap { r in Array(repeating: r, count: Int(weights[r])) }
        let xr = repeated.flatMap { x[$0 * nIn..<($0 + 1) * nIn] }
        let vr = repeated.flatMap { values[$0 * nOut..<($0 + 1) * nOut] }
        let cr = repeated.map { classes[$0] }
        func view(_ x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, _ c: UnsafeBufferPointer<Int32>, _ w: UnsafePointer<Float>?) -> DataView {
            DataView(x: x.baseAddress!, targets: loss == .crossEntropy ? .classes(c.baseAddress!) : .values(v.baseAddress!),
                     count: c.count, features: nIn, weights: w)
        }
        var g = [Float](repeating: 0, count: network.parameterCount), gr = g
        let (weighted, cost, evaluated) = try x.withUnsafeBufferPointer { x in try values.withUnsafeBufferPointer { v in
            try classes.withUnsafeBufferPointer { c in try weights.withUnsafeBufferPointer { w in
                let data = view(x, v, c, w.baseAddress!)
                let cost = try g.withUnsafeMutableBufferPointer { try network.gradient(data, into: $0) }
                // a training call's validation set with these weights: scored as evaluate scores it
                let copy = try Network(layerSizes: sizes, hiddenActivation: .relu, loss: loss, seed: 3)
                let history = History()
                try copy.train(view(x, v, c, nil), validation: data, options: TrainingOptions(epochs: 1, batchSize: .fixed(m), learningRate: 1e-30), history: history)
                return (try network.evaluate(data), cost, try copy.evaluate(data).cost == history.validationCosts[0])
            } } } }
        let (plain, costR) = try xr.withUnsafeBufferPointer { x in try vr.withUnsafeBufferPointer { v in
            try cr.withUnsafeBufferPointer { c in
                let data = view(x, v, c, nil)
                return (try network.evaluate(data), try gr.withUnsafeMutableBufferPointer { try network.gradient(data, into: $0) })
            } } }
        #expect(Fixture.close(weighted.cost, plain.cost, rtol: 1e-6, atol: 1e-7))
        #expect(Fixture.close(cost, costR, rtol: 1e-6, atol: 1e-7))
        #expect(weighted.accuracy.isNaN == plain.accuracy.isNaN && (weighted.accuracy.isNaN || weighted.accuracy == plain.accuracy))
        #expect(evaluated)
        for i in g.indices { #expect(Fixture.close(Double(g[i]), Double(gr[i]), rtol: 1e-5, atol: 1e-6), "parameter \(i)") }
        // the unweighted figures differ (row 0, 4 and 8 weigh 0), so the weights were used
        let unweighted = try x.withUnsafeBufferPointer { x in try values.withUnsafeBufferPointer { v in
            try classes.withUnsafeBufferPointer { c in try network.evaluate(view(x, v, c, nil)).cost } } }
        #expect(unweighted != weighted.cost)
        // weights training refuses
        for (bad, message) in [(Float.nan, "sample_weight[3] must be finite and >= 0, got nan"), (-1, "sample_weight[3] must be finite and >= 0, got -1.0")] {
            var w = weights
            w[3] = bad
            try x.withUnsafeBufferPointer { x in try values.withUnsafeBufferPointer { v in
                try classes.withUnsafeBufferPointer { c in try w.withUnsafeBufferPointer { w in
                    let data = view(x, v, c, w.baseAddress!)
                    #expect(throws: MiniBatchError(.invalidArgument, message)) { try network.evaluate(data) }
                    #expect(throws: MiniBatchError(.invalidArgument, message)) {
                        try g.withUnsafeMutableBufferPointer { try network.gradient(data, into: $0) }
                    }
                } } } }
        }
    }

    @Test func layoutIsWeightsThenBiasPerLayer() throws {
        let network = try Network(layerSizes: [3, 4, 2], hiddenActivation: .relu, loss: .crossEntropy)
        #expect(network.parameterCount == 4 * 3 + 4 + 2 * 4 + 2)
        #expect(network.layers[0].weightOffset == 0 && network.layers[0].biasOffset == 12)
        #expect(network.layers[1].weightOffset == 16 && network.layers[1].biasOffset == 24)
        // Biases start at zero; weights do not.
        let p = network.parameterArray
        #expect(p[12..<16].allSatisfy { $0 == 0 } && p[24..<26].allSatisfy { $0 == 0 })
        #expect(p[0..<12].contains { $0 != 0 })
    }

    @Test func initialisationFollowsTheSeedAndTheRule() throws {
        let a = try Network(layerSizes: [200, 300, 10], hiddenActivation: .relu, loss: .crossEntropy, seed: 1)
        let b = try Network(layerSizes: [200, 300, 10], hiddenActivation: .relu, loss: .crossEntropy, seed: 1)
        let c = try Network(layerSizes: [200, 300, 10], hiddenActivation: .relu, loss: .crossEntropy, seed: 2)
        #expect(a.parameterArray == b.parameterArray)
        #expect(a.parameterArray != c.parameterArray)
        // He for the ReLU layer: variance 2 / 200; Xavier for the output: 2 / (300 + 10).
        let w1 = a.parameterArray[0..<60_000].map(Double.init)
        let w2 = a.parameterArray[a.layers[1].weightOffset..<a.layers[1].biasOffset].map(Double.init)
        let v1 = w1.map { $0 * $0 }.reduce(0, +) / Double(w1.count)
        let v2 = w2.map { $0 * $0 }.reduce(0, +) / Double(w2.count)
        #expect(abs(v1 / (2.0 / 200) - 1) < 0.05)
        #expect(abs(v2 / (2.0 / 310) - 1) < 0.1)
        // LeCun (1 / nIn) for a SELU layer under automatic, and for every layer under .lecun.
        let selu = try Network(layerSizes: [200, 300, 10], hiddenActivation: .selu, loss: .crossEntropy, seed: 1)
        let lecun = try Network(layerSizes: [200, 300, 10], hiddenActivation: .relu, loss: .crossEntropy,
                                initialization: .lecun, seed: 1)
        for (network, variances) in [(selu, [1.0 / 200, 2.0 / 310]), (lecun, [1.0 / 200, 1.0 / 300])] {
            for (layer, want) in zip(network.layers, variances) {
                let w = network.parameterArray[layer.weightOffset..<layer.biasOffset].map(Double.init)
                let v = w.map { $0 * $0 }.reduce(0, +) / Double(w.count)
                #expect(abs(v / want - 1) < 0.1, "\(layer.activation) layer of \(layer.nIn): \(v), want \(want)")
            }
        }
        // The same draws as He's, scaled: LeCun's weights are He's over sqrt 2.
        let he = try Network(layerSizes: [200, 300, 10], hiddenActivation: .relu, loss: .crossEntropy,
                             initialization: .he, seed: 1)
        let (l, h) = (lecun.parameterArray, he.parameterArray)
        let root2 = 2.0.squareRoot()
        var worst = 0.0
        for i in 0..<60_000 {
            let want = Double(h[i]), got = Double(l[i]) * root2
            worst = max(worst, abs(got - want) / (abs(want) + 1e-6))
        }
        #expect(worst <= 1e-6)
    }

    @Test func badArchitecturesAreRefusedWithAMessage() {
        #expect(throws: MiniBatchError.self) { try Network(layerSizes: [3], loss: .meanSquaredError) }
        #expect(throws: MiniBatchError.self) { try Network(layerSizes: [3, 0, 2]) }
        #expect(throws: MiniBatchError.self) { try Network(layerSizes: [3, -1]) }
        #expect(throws: MiniBatchError.self) { try Network(layerSizes: [3, 1], loss: .crossEntropy) }
        #expect(throws: MiniBatchError.self) { try Network(layerSizes: [1 << 40, 2]) }
        let failure = Fixture.failure { () throws(MiniBatchError) in _ = try Network(layerSizes: [3, 5, 2], hiddenActivations: [], loss: .crossEntropy) }
        #expect(failure?.kind == .invalidArgument)
        #expect(failure?.message.contains("activations") == true)
    }
}
