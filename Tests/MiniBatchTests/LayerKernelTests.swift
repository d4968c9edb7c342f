import Testing
import CMatrix
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniBatch

/// The C loops of `layers.h` (compiled for this CPU's vector width) against the Swift loops
/// they stand in for, bit for bit: every width up to two AVX-512 vectors and a remainder,
/// with NaN, infinities, signed zeros and huge values in every position.
struct LayerKernelTests {
    static let widths = Array(1...40) + [127, 128, 131]
    static let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1e30, -1e30, .leastNonzeroMagnitude]

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    /// Rows of uniform values with `special` at `position` of the middle row.
    static func matrix(rows: Int, width: Int, seed: UInt64, special: (Int, Float)? = nil) -> [Float] {
        var m = Fixture.uniform(rows * width, seed: seed, scale: 3)
        if let (position, value) = special { m[(rows / 2) * width + position] = value }
        return m
    }

    @Test(arguments: [Activation.relu, .linear])
    func forwardEqualsThePlainLoop(activation: Activation) {
        for width in Self.widths {
            let bias = Self.matrix(rows: 1, width: width, seed: 7)
            var cases = [Self.matrix(rows: 3, width: width, seed: 8)]
            for value in Self.specials { cases.append(Self.matrix(rows: 3, width: width, seed: 8, special: (width - 1, value))) }
            var zeroBias = bias
            zeroBias[0] = -0.0
            for z in cases {
                for b in [bias, zeroBias] {
                    var fast = z, plain = z
                    fast.withUnsafeMutableBufferPointer { activation.forward($0.baseAddress!, bias: b, rows: 3, width: width) }
                    plain.withUnsafeMutableBufferPointer { activation.forwardPlain($0.baseAddress!, bias: b, rows: 3, width: width) }
                    #expect(Self.bits(fast) == Self.bits(plain), "\(activation), width \(width)")
                }
            }
        }
        // ReLU of -0 + -0 and of NaN, as Swift's max(x, 0) gives them.
        var edge: [Float] = [-0.0, .nan, -1, 2]
        edge.withUnsafeMutableBufferPointer { Activation.relu.forward($0.baseAddress!, bias: [-0.0, 0, 0, 0], rows: 1, width: 4) }
        #expect(edge[0].bitPattern == Float(0).bitPattern && edge[1].isNaN && edge[2] == 0 && edge[3] == 2)
    }

    /// Ulps between two floats (0 for two NaNs, the most for a NaN and a number; -0 and +0
    /// are 0 apart: `bits` compares where they must not be).
    static func ulpsApart(_ a: Float, _ b: Float) -> Int {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : Int.max }
        func ordered(_ v: Float) -> Int { v.sign == .minus ? -Int(v.bitPattern & 0x7FFF_FFFF) : Int(v.bitPattern) }
        return abs(ordered(a) - ordered(b))
    }

    /// The vector math's forms (vector_math.c) in the order the tests run them: the
    /// library's choice (nil), the scalar form (0: the fallback, bit for bit the Swift loop)
    /// and each libmvec width (those this CPU or C library lacks are skipped).
    static let vectorForms: [Int32?] = [nil, 0, 128, 256, 512]

    /// tanh and the logistic through the vector math (`mbm_bias_tanh`, `mbm_bias_sigmoid`):
    /// within 3 and 4 ulp of the plain loop (glibc's vector functions: measured over every
    /// float with glibc 2.36; another glibc's may differ by an ulp more), at every vector
    /// width this CPU runs (AVX-512, AVX2, SSE: each through vector_call.S), and bit for bit
    /// in the scalar form (the fallback without libmvec); every width of a layer, the
    /// specials in several positions, and a sweep of 200,001 values over [-20, 20]. ELU and
    /// SELU (0.10.0: libmvec's expm1f, `mbm_bias_elu`) within 2 (measured over a seventh of
    /// every float with glibc 2.36: 2). Each case runs with a bias and with a bias of -0
    /// (which leaves every value as it is, so the specials reach the functions themselves).
    @Test(arguments: [(Activation.tanh, 3), (.sigmoid, 4), (.elu, 2), (.selu, 2)])
    func vectorMathIsWithinUlpsOfThePlainLoop(activation: Activation, ulps: Int) {
        var cases: [(z: [Float], width: Int, rows: Int, biased: Bool)] = []
        for biased in [true, false] {
            for width in Self.widths {
                cases.append((Self.matrix(rows: 3, width: width, seed: 8), width, 3, biased))
                for value in Self.specials {
                    for position in Set([0, width / 2, width - 1]) {
                        cases.append((Self.matrix(rows: 3, width: width, seed: 8, special: (position, value)), width, 3, biased))
                    }
                }
            }
            cases.append(((0...200_000).map { Float(-20 + Double($0) * 2e-4) }, 200_001, 1, biased))
        }
        var vectorWidthsRun = 0
        for form in Self.vectorForms {
            var worst = 0, ran = true, sameBits = true
            for (z, width, rows, biased) in cases where ran {
                let bias = biased ? Self.matrix(rows: 1, width: width, seed: 7).map { $0 * 0.01 } : [Float](repeating: -0.0, count: width)
                var fast = z, plain = z
                fast.withUnsafeMutableBufferPointer { za in
                    guard let form else {
                        activation.forward(za.baseAddress!, bias: bias, rows: rows, width: width)
                        return
                    }
                    let z = za.baseAddress!
                    switch activation {
                    case .tanh: ran = mbm_bias_tanh_width(form, z, bias, rows, width) == 1
                    case .sigmoid: ran = mbm_bias_sigmoid_width(form, z, bias, rows, width) == 1
                    case .elu: ran = mbm_bias_elu_width(form, z, bias, rows, width, 1, 1) == 1
                    default:
                        ran = mbm_bias_elu_width(form, z, bias, rows, width, Activation.seluLambda,
                                                 Activation.seluLambdaAlpha) == 1
                    }
                }
                if !ran { break }
                plain.withUnsafeMutableBufferPointer { activation.forwardPlain($0.baseAddress!, bias: bias, rows: rows, width: width) }
                worst = max(worst, zip(fast, plain).map { Self.ulpsApart($0, $1) }.max() ?? 0)
                sameBits = sameBits && Self.bits(fast) == Self.bits(plain)
            }
            if !ran { continue }
            if let form, form > 0 { vectorWidthsRun += 1 }
            let exact = form == 0 || (form == nil && mbm_vector_math() == 0)
            #expect(worst <= (exact ? 0 : ulps), "\(activation), form \(String(describing: form)): \(worst) ulp apart")
            #expect(sameBits || !exact, "\(activation), form \(String(describing: form)): not bit for bit")
        }
        #expect(mbm_vector_math() == 0 || vectorWidthsRun >= 1)
    }

    /// GELU through the vector math (`mbm_bias_gelu`, `mbm_gelu_backward`, 0.9.0): the value
    /// within 5 ulp of the plain loop (4 measured over a seventh of the floats in [-30, 30]
    /// with glibc 2.36), z kept as the plain loop keeps it, bit for bit (and nothing kept
    /// where none is asked for); the derivative within 1e-6 of the size of its terms
    /// |Phi| + |z phi| (about 7.5 x 2^-24 measured; near z = -0.75 it is a difference of its
    /// terms); at every vector width this CPU runs, and bit for bit in the scalar form.
    /// Rows of 61 with a bias, -0 and the specials included. SiLU the same way (0.10.0:
    /// `mbm_bias_silu`, `mbm_silu_backward`, its sigma from libmvec's expf): the value within
    /// 5 ulp (5 measured over a seventh of every float, glibc 2.36), the derivative within
    /// 3e-6 of |s| + |z s (1 - s)| (22 x 2^-24 measured there, at z = 12.2: 1 - s carries
    /// s's few ulps times z, in both forms). The bias is -0 (every value reaches the
    /// functions as it is: the specials, -0 and the measured worst points); the bias add is
    /// the tests' above. Where z is not finite the derivatives are compared as values (a NaN
    /// both ways).
    @Test(arguments: [(Activation.gelu, 5, 1e-6), (.silu, 5, 1.5e-6)])
    func preactivationMathIsWithinUlpsOfThePlainLoop(activation: Activation, ulps: Int, share: Double) {
        let width = 61
        var zs: [Float] = (0...60_000).map { Float(-30 + Double($0) * 1e-3) }
        zs += Self.specials + [-3, -3.0000002, -2.9999998, 3, -0.7517916, 8.59155, 12.2411, -22.5271]
        while zs.count % width != 0 { zs.append(-0.0) }
        let n = zs.count, rows = n / width
        let bias = [Float](repeating: -0.0, count: width)
        let upstream = (0..<n).map { Float(1 + ($0 % 7)) * 0.25 }
        func run(_ form: Int32?, plain: Bool = false, keep: Bool = true) -> (a: [Float], kept: [Float], d: [Float])? {
            var a = zs, kept = [Float](repeating: .nan, count: n), d = upstream
            var ran = true
            a.withUnsafeMutableBufferPointer { za in
                kept.withUnsafeMutableBufferPointer { k in
                    let keeping = keep ? k.baseAddress! : nil
                    if plain {
                        activation.forwardPlain(za.baseAddress!, bias: bias, rows: rows, width: width, keeping: keeping)
                    } else if let form {
                        ran = (activation == .gelu
                            ? mbm_bias_gelu_width(form, za.baseAddress!, bias, rows, width, keeping)
                            : mbm_bias_silu_width(form, za.baseAddress!, bias, rows, width, keeping)) == 1
                    } else {
                        activation.forward(za.baseAddress!, bias: bias, rows: rows, width: width, keeping: keeping)
                    }
                }
            }
            guard ran, keep else { return ran ? (a, kept, d) : nil }
            d.withUnsafeMutableBufferPointer { dz in
                kept.withUnsafeBufferPointer { k in
                    if plain {
                        activation.backwardPlain(dz.baseAddress!, output: a, preactivation: k.baseAddress!, count: n)
                    } else if let form {
                        _ = activation == .gelu
                            ? mbm_gelu_backward_width(form, dz.baseAddress!, k.baseAddress!, n)
                            : mbm_silu_backward_width(form, dz.baseAddress!, k.baseAddress!, n)
                    } else {
                        activation.backward(dz.baseAddress!, output: a, preactivation: k.baseAddress!, count: n)
                    }
                }
            }
            return (a, kept, d)
        }
        let reference = run(nil, plain: true)!
        var vectorWidthsRun = 0
        for form in Self.vectorForms {
            guard let got = run(form) else { continue }
            if let form, form > 0 { vectorWidthsRun += 1 }
            let exact = form == 0 || (form == nil && mbm_vector_math() == 0)
            #expect(Self.bits(got.kept) == Self.bits(reference.kept), "form \(String(describing: form))")
            let worst = zip(got.a, reference.a).map { Self.ulpsApart($0, $1) }.max() ?? 0
            #expect(worst <= (exact ? 0 : ulps), "\(activation), form \(String(describing: form)): \(worst) ulp apart")
            // The derivative's error over the size of its terms, the worst over the rows.
            var worstShare = 0.0
            for i in 0..<n where !reference.kept[i].isFinite {
                #expect(Self.ulpsApart(got.d[i], reference.d[i]) == 0, "\(activation)' at \(reference.kept[i])")
            }
            if exact { #expect(Self.bits(got.d) == Self.bits(reference.d) && Self.bits(got.a) == Self.bits(reference.a)) }
            for i in 0..<n where reference.kept[i].isFinite {
                let z = Double(reference.kept[i])
                let terms: Double
                if activation == .gelu {
                    terms = 0.5 * erfc(-z / 2.0.squareRoot()) + abs(z) * exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
                } else {
                    let s = 1 / (1 + exp(-z))
                    terms = s + abs(z * s * (1 - s))
                }
                let error = abs(Double(got.d[i]) - Double(reference.d[i]))
                worstShare = max(worstShare, terms > 0 ? error / (terms * Double(upstream[i])) : error)
            }
            #expect(worstShare <= (exact ? 0 : share), "\(activation)', form \(String(describing: form)): \(worstShare) of its terms")
            // Nothing kept where none is asked for, the same values.
            if let unkept = run(form, keep: false) {
                #expect(Self.bits(unkept.a) == Self.bits(got.a) && unkept.kept.allSatisfy(\.isNaN))
            }
        }
        #expect(mbm_vector_math() == 0 || vectorWidthsRun >= 1)
    }

    @Test func reluBackwardEqualsThePlainLoop() {
        for width in Self.widths {
            let da = Self.matrix(rows: 3, width: width, seed: 9)
            var outputs = [Self.matrix(rows: 3, width: width, seed: 10).map { max($0, 0) }]
            for value in Self.specials { outputs.append(Self.matrix(rows: 3, width: width, seed: 10, special: (0, value))) }
            for a in outputs {
                var fast = da, plain = da
                fast.withUnsafeMutableBufferPointer { Activation.relu.backward($0.baseAddress!, output: a, count: a.count) }
                plain.withUnsafeMutableBufferPointer { Activation.relu.backwardPlain($0.baseAddress!, output: a, count: a.count) }
                #expect(Self.bits(fast) == Self.bits(plain), "width \(width)")
            }
        }
    }

    @Test func columnSumsEqualThePlainLoop() {
        for width in Self.widths {
            for rows in [1, 2, 5, 64] {
                var cases = [Self.matrix(rows: rows, width: width, seed: 11)]
                for value in Self.specials { cases.append(Self.matrix(rows: rows, width: width, seed: 11, special: (width / 2, value))) }
                for dz in cases {
                    let start = Self.matrix(rows: 1, width: width, seed: 12)
                    var fast = start, plain = start
                    fast.withUnsafeMutableBufferPointer { mbm_column_sums($0.baseAddress!, dz, rows, width) }
                    plain.withUnsafeMutableBufferPointer { Dense.columnSumsPlain($0.baseAddress!, dz, rows: rows, width: width) }
                    #expect(Self.bits(fast) == Self.bits(plain), "width \(width), rows \(rows)")
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func softmaxCrossEntropyEqualsThePlainLoop(weighted: Bool) {
        let rows = 6
        for outputs in [1, 2, 3, 10, 16, 17, 33] {
            let labels = Fixture.classes(rows, classes: outputs)
            let weights = Fixture.uniform(rows, seed: 13).map { $0 + 1.5 }
            var cases = [Self.matrix(rows: rows, width: outputs, seed: 14), [Float](repeating: 0.5, count: rows * outputs)]
            for value in Self.specials + [88, -88, 200] {
                for position in Set([0, outputs / 2, outputs - 1]) {
                    cases.append(Self.matrix(rows: rows, width: outputs, seed: 14, special: (position, value)))
                }
            }
            for z in cases {
                func run(_ plain: Bool) -> (Double, [Float]) {
                    var dz = [Float](repeating: -7, count: rows * outputs)
                    let cost = labels.withUnsafeBufferPointer { y in
                        weights.withUnsafeBufferPointer { w in
                            dz.withUnsafeMutableBufferPointer { out in
                                plain
                                    ? Loss.crossEntropy.forwardBackwardPlain(
                                        dlogits: out.baseAddress!, logits: z, targets: .classes(y.baseAddress!), rows: rows,
                                        outputs: outputs, normalizer: 3.5, weights: weighted ? w.baseAddress! : nil)
                                    : Loss.crossEntropy.forwardBackward(
                                        dlogits: out.baseAddress!, logits: z, targets: .classes(y.baseAddress!), rows: rows,
                                        outputs: outputs, normalizer: 3.5, weights: weighted ? w.baseAddress! : nil)
                            }
                        }
                    }
                    return (cost, dz)
                }
                let (fastCost, fast) = run(false), (plainCost, plain) = run(true)
                #expect(fastCost.bitPattern == plainCost.bitPattern, "outputs \(outputs)")
                #expect(Self.bits(fast) == Self.bits(plain), "outputs \(outputs)")
            }
        }
    }

    /// The softmax's gradient against its definition, p - onehot, from float64.
    @Test func softmaxGradientMatchesFloat64() {
        let rows = 4, outputs = 10
        let z = Fixture.uniform(rows * outputs, seed: 15, scale: 20)
        let labels = Fixture.classes(rows, classes: outputs)
        var dz = [Float](repeating: 0, count: rows * outputs)
        let cost = labels.withUnsafeBufferPointer { y in
            dz.withUnsafeMutableBufferPointer {
                Loss.crossEntropy.forwardBackward(
                    dlogits: $0.baseAddress!, logits: z, targets: .classes(y.baseAddress!), rows: rows, outputs: outputs,
                    normalizer: Double(rows))
            }
        }
        var expectedCost = 0.0
        for r in 0..<rows {
            let row = z[r * outputs..<(r + 1) * outputs].map(Double.init)
            let top = row.max()!
            let sum = row.map { _expD($0 - top) }.reduce(0, +)
            let c = Int(labels[r])
            expectedCost += -(row[c] - top - _log(sum))
            for j in 0..<outputs {
                let p = _expD(row[j] - top) / sum
                let expected = (p - (j == c ? 1 : 0)) / Double(rows)
                #expect(Fixture.close(Double(dz[r * outputs + j]), expected, rtol: 1e-5, atol: 1e-7), "row \(r), output \(j)")
            }
        }
        #expect(Fixture.close(cost, expectedCost, rtol: 1e-5, atol: 1e-6))
    }
}
