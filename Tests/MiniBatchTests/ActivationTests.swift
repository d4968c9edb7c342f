import Testing
@testable import MiniBatch

/// Each activation's backward against central finite differences of its forward.
struct ActivationTests {
    @Test(arguments: Activation.allCases)
    func backwardMatchesFiniteDifferences(activation: Activation) {
        // Avoid z = 0 exactly: ReLU has a kink there.
        let z: [Float] = [-3, -1.2, -0.31, 0.17, 0.8, 2.5, 4]
        let n = z.count
        let zeroBias = [Float](repeating: 0, count: n)
        func g(_ values: [Float]) -> [Float] {
            var out = values
            out.withUnsafeMutableBufferPointer { activation.forward($0.baseAddress!, bias: zeroBias, rows: 1, width: n) }
            return out
        }
        let a = g(z)
        // Upstream gradient: arbitrary weights, so each element is checked separately.
        let upstream: [Float] = [0.3, -1.1, 0.7, 2.0, -0.4, 1.3, 0.9]
        var dz = upstream
        a.withUnsafeBufferPointer { out in
            dz.withUnsafeMutableBufferPointer { activation.backward($0.baseAddress!, output: out.baseAddress!, count: n) }
        }
        let h: Float = 1e-3
        for i in 0..<n {
            var plus = z, minus = z
            plus[i] += h
            minus[i] -= h
            let numeric = Double(upstream[i]) * Double(g(plus)[i] - g(minus)[i]) / Double(2 * h)
            #expect(Fixture.close(Double(dz[i]), numeric, rtol: 1e-2, atol: 1e-3), "\(activation) at z = \(z[i])")
        }
    }

    @Test func forwardAddsTheBiasPerColumn() {
        var za: [Float] = [1, 2, 3, 4]
        za.withUnsafeMutableBufferPointer { Activation.linear.forward($0.baseAddress!, bias: [10, 20], rows: 2, width: 2) }
        #expect(za == [11, 22, 13, 24])
    }

    @Test func sigmoidIsStableForLargeInputs() {
        #expect(logistic(-200) == 0)
        #expect(logistic(200) == 1)
        #expect(logistic(0) == 0.5)
    }
}

/// The finiteness check every update and X's first read use, against `Float.isFinite`.
struct NonFiniteFlagsTests {
    static let edges: [Float] = [
        0, -0, 1, -1, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, -.nan,
        .signalingNaN, Float(bitPattern: 0x7FFF_FFFF), Float(bitPattern: 0xFF80_0001),
        Float(bitPattern: 0x7F7F_FFFF), Float(bitPattern: 0x0080_0000),
    ]

    @Test(arguments: edges)
    func oneValue(value: Float) {
        var flags = NonFiniteFlags()
        flags.add(value)
        #expect(flags.allFinite == value.isFinite, "\(value) (bits \(String(value.bitPattern, radix: 16)))")
    }

    @Test func anyNonFiniteValueAmongManyIsFound() {
        // Long enough that the vectorised loop runs, with each bad value in every position
        // of a vector and in the scalar tail.
        let finite = (0..<37).map { Float($0) / 37 * 1e37 - 5e36 }
        #expect(Validate.allFinite(finite, count: finite.count))
        #expect(Validate.firstNonFinite(finite, count: finite.count) == nil)
        for bad in NonFiniteFlagsTests.edges where !bad.isFinite {
            for position in finite.indices {
                var values = finite
                values[position] = bad
                #expect(!Validate.allFinite(values, count: values.count))
                #expect(Validate.firstNonFinite(values, count: values.count) == position)
            }
        }
    }
}
