import Testing
@testable import MiniBatch

/// Each loss's fused gradient with respect to the logits against finite differences of its
/// cost, for both kinds of targets; and its cost against the textbook formula.
struct LossTests {
    static let rows = 5

    /// (loss, outputs, class-index targets, label smoothing)
    static func cases() -> [(Loss, Int, Bool, Float)] {
        [(.meanSquaredError, 3, false, 0), (.binaryCrossEntropy, 1, true, 0), (.binaryCrossEntropy, 3, false, 0),
         (.crossEntropy, 4, true, 0), (.crossEntropy, 4, false, 0), (.poisson, 1, false, 0), (.poisson, 3, false, 0),
         (.crossEntropy, 4, true, 0.2), (.crossEntropy, 4, false, 0.2), (.binaryCrossEntropy, 1, true, 0.2),
         (.binaryCrossEntropy, 3, false, 0.2)]
    }

    func cost(_ loss: Loss, _ logits: [Float], _ targets: Targets, outputs: Int, smoothing: Float = 0) -> Double {
        logits.withUnsafeBufferPointer {
            loss.forwardBackward(dlogits: nil, logits: $0.baseAddress!, targets: targets,
                                 rows: Self.rows, outputs: outputs, normalizer: Double(Self.rows), smoothing: smoothing)
        } / Double(Self.rows)
    }

    @Test(arguments: cases())
    func gradientMatchesFiniteDifferences(loss: Loss, outputs: Int, classes: Bool, smoothing: Float) {
        let rows = Self.rows
        let logits = Fixture.uniform(rows * outputs, seed: 4, scale: 2)
        let values = loss == .crossEntropy ? Fixture.probabilities(rows: rows, outputs: outputs)
            : loss == .binaryCrossEntropy ? Fixture.uniform(rows * outputs, seed: 5).map { ($0 + 1) / 2 }
            : loss == .poisson ? Fixture.uniform(rows * outputs, seed: 5).enumerated().map { i, v in i % 4 == 0 ? 0 : 3 * (v + 1) }
            : Fixture.uniform(rows * outputs, seed: 5)
        let labels = Fixture.classes(rows, classes: loss == .crossEntropy ? outputs : 2)
        labels.withUnsafeBufferPointer { labelBuffer in
            values.withUnsafeBufferPointer { valueBuffer in
                let targets: Targets = classes ? .classes(labelBuffer.baseAddress!) : .values(valueBuffer.baseAddress!)
                var grad = [Float](repeating: 0, count: rows * outputs)
                _ = logits.withUnsafeBufferPointer { z in
                    grad.withUnsafeMutableBufferPointer {
                        loss.forwardBackward(dlogits: $0.baseAddress!, logits: z.baseAddress!, targets: targets,
                                             rows: rows, outputs: outputs, normalizer: Double(rows), smoothing: smoothing)
                    }
                }
                let h: Float = 1e-2
                for i in 0..<logits.count {
                    var plus = logits, minus = logits
                    plus[i] += h
                    minus[i] -= h
                    let numeric = (cost(loss, plus, targets, outputs: outputs, smoothing: smoothing)
                        - cost(loss, minus, targets, outputs: outputs, smoothing: smoothing)) / Double(2 * h)
                    #expect(Fixture.close(Double(grad[i]), numeric, rtol: 1e-2, atol: 2e-4), "\(loss) logit \(i), smoothing \(smoothing)")
                }
            }
        }
    }

    @Test func costsMatchTheirFormulas() {
        // One row, direct formulas in Double.
        let z: [Float] = [0.5, -1.0, 2.0]
        let y: [Float] = [0.2, 0.3, 0.5]
        func run(_ loss: Loss) -> Double {
            z.withUnsafeBufferPointer { zs in
                y.withUnsafeBufferPointer { ys in
                    loss.forwardBackward(dlogits: nil, logits: zs.baseAddress!, targets: .values(ys.baseAddress!),
                                         rows: 1, outputs: 3, normalizer: 1)
                }
            }
        }
        let zd = z.map(Double.init), yd = y.map(Double.init)
        var mse = 0.0, bce = 0.0, ce = 0.0, expSum = 0.0
        for z in zd { expSum += z.exp() }
        let logSum: Double = expSum.log()
        for j in 0..<3 {
            let z: Double = zd[j], y: Double = yd[j]
            let a: Double = 1 / (1 + (-z).exp())
            mse += (z - y) * (z - y) / 3
            bce -= (y * a.log() + (1 - y) * (1 - a).log()) / 3
            ce -= y * (z - logSum)
        }
        #expect(Fixture.close(run(.meanSquaredError), mse, rtol: 1e-6, atol: 1e-7))
        #expect(Fixture.close(run(.binaryCrossEntropy), bce, rtol: 1e-5, atol: 1e-7))
        #expect(Fixture.close(run(.crossEntropy), ce, rtol: 1e-5, atol: 1e-7))
    }

    @Test func poissonIsHalfTheDeviance() {
        // scikit-learn's poisson_loss, per term y log(y / a) - y + a with a = e^z and
        // y log y = 0 at y = 0, mean over the outputs; in Double. A fit (a = y) costs 0.
        let z: [Float] = [0.5, -1.0, 2.0, 3.0]
        let y: [Float] = [0, 0.3, 7, 20.085537]
        func run(_ z: [Float]) -> Double {
            z.withUnsafeBufferPointer { zs in
                y.withUnsafeBufferPointer { ys in
                    Loss.poisson.forwardBackward(dlogits: nil, logits: zs.baseAddress!, targets: .values(ys.baseAddress!),
                                                 rows: 1, outputs: 4, normalizer: 1)
                }
            }
        }
        var expected = 0.0
        for j in 0..<4 {
            let a = Double(z[j]).exp(), t = Double(y[j])
            expected += ((t > 0 ? t * (t / a).log() : 0) - t + a) / 4
        }
        #expect(Fixture.close(run(z), expected, rtol: 1e-5, atol: 1e-7))
        let fit = y.map { $0 > 0 ? Float(Double($0).log()) : -30 }
        #expect(abs(run(fit)) < 1e-5)
        // Its outputs are e^z, and its correct count is undefined (0), as MSE's.
        var out = z
        out.withUnsafeMutableBufferPointer { Loss.poisson.output($0.baseAddress!, rows: 1, outputs: 4) }
        for j in 0..<4 { #expect(Fixture.close(Double(out[j]), Double(z[j]).exp(), rtol: 1e-6, atol: 0)) }
        #expect(Loss.poisson.isRegression && Loss.meanSquaredError.isRegression)
        #expect(!Loss.crossEntropy.isRegression && !Loss.binaryCrossEntropy.isRegression)
    }

    @Test func extremeLogitsGiveFiniteCosts() {
        let z: [Float] = [80, -80]
        let labels: [Int32] = [1]
        let cost = z.withUnsafeBufferPointer { zs in
            labels.withUnsafeBufferPointer { ys in
                Loss.crossEntropy.forwardBackward(dlogits: nil, logits: zs.baseAddress!, targets: .classes(ys.baseAddress!),
                                                  rows: 1, outputs: 2, normalizer: 1)
            }
        }
        #expect(cost.isFinite && abs(cost - 160) < 1e-3)
    }
}

extension Double {
    func exp() -> Double { _expD(self) }
    func log() -> Double { _log(self) }
}
