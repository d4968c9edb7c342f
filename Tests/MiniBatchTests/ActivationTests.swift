import Testing
#if canImport(Glibc)
import Glibc
#endif
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
        // a, and z where the activation's derivative needs it (kept as training keeps it)
        var a = z, kept = [Float](repeating: .nan, count: n)
        a.withUnsafeMutableBufferPointer { out in
            kept.withUnsafeMutableBufferPointer {
                activation.forward(out.baseAddress!, bias: zeroBias, rows: 1, width: n, keeping: $0.baseAddress!)
            }
        }
        #expect(a == g(z))
        #expect(activation.needsPreactivation ? kept == z : kept.allSatisfy(\.isNaN))
        // Upstream gradient: arbitrary weights, so each element is checked separately.
        let upstream: [Float] = [0.3, -1.1, 0.7, 2.0, -0.4, 1.3, 0.9]
        var dz = upstream
        a.withUnsafeBufferPointer { out in
            kept.withUnsafeBufferPointer { zs in
                dz.withUnsafeMutableBufferPointer {
                    activation.backward($0.baseAddress!, output: out.baseAddress!, preactivation: zs.baseAddress!, count: n)
                }
            }
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

    /// PyTorch's values (torch.nn.functional.leaky_relu, elu, selu in float64, rounded to
    /// float) at a few points, and the derivatives at 0 PyTorch's backward gives.
    @Test func pyTorchsNewerActivations() {
        func g(_ activation: Activation, _ z: [Float]) -> [Float] {
            var out = z
            out.withUnsafeMutableBufferPointer {
                activation.forward($0.baseAddress!, bias: [Float](repeating: 0, count: z.count), rows: 1, width: z.count)
            }
            return out
        }
        func derivative(_ activation: Activation, at z: Float) -> Float {
            var d: [Float] = [1]
            let a = g(activation, [z])
            d.withUnsafeMutableBufferPointer { activation.backward($0.baseAddress!, output: a, count: 1) }
            return d[0]
        }
        let z: [Float] = [-2, -0.5, 0, 1.5]
        #expect(g(.leakyRelu, z) == [-0.02, -0.005, 0, 1.5])
        let elu: [Double] = [-0.8646647167633873, -0.3934693402873666, 0, 1.5]
        let selu: [Double] = [-1.5201664685956948, -0.6917581878028713, 0, 1.5760514810332207]
        for (got, want) in zip(g(.elu, z), elu) { #expect(abs(Double(got) - want) <= 2e-7 * max(1, abs(want))) }
        for (got, want) in zip(g(.selu, z), selu) { #expect(abs(Double(got) - want) <= 2e-7 * max(1, abs(want))) }
        #expect(derivative(.leakyRelu, at: 0) == 0.01 && derivative(.elu, at: 0) == 1)
        #expect(derivative(.selu, at: 0) == Activation.seluLambdaAlpha && derivative(.selu, at: 1) == Activation.seluLambda)
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

/// GELU in its lower tail, where the float 1 + erf(z / sqrt 2) of PyTorch's form cancels
/// (z Phi(z) came out -0 below z = -5.6, the derivative 3 % off at -6): value (to 2e-6) and
/// derivative (to 1e-5) against a double-precision reference (Phi from the C library's
/// double erfc), on a grid of z that are not multiples of a power of 2 (their float
/// products with 1 / sqrt 2 round).
struct GELUTailTests {
    @Test func valueAndDerivativeFollowADoubleReference() {
        let z: [Float] = stride(from: -12.0, through: 12, by: 0.0137).map { Float($0) }
        let n = z.count
        var a = z, kept = [Float](repeating: 0, count: n)
        a.withUnsafeMutableBufferPointer { out in
            kept.withUnsafeMutableBufferPointer {
                Activation.gelu.forward(out.baseAddress!, bias: [Float](repeating: 0, count: n), rows: 1, width: n,
                                        keeping: $0.baseAddress!)
            }
        }
        var d = [Float](repeating: 1, count: n)
        a.withUnsafeBufferPointer { out in
            kept.withUnsafeBufferPointer { zs in
                d.withUnsafeMutableBufferPointer {
                    Activation.gelu.backward($0.baseAddress!, output: out.baseAddress!, preactivation: zs.baseAddress!, count: n)
                }
            }
        }
        for i in 0..<n {
            let x = Double(z[i])
            let phiCDF = 0.5 * erfc(-x / 2.0.squareRoot())
            let density = exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
            let value = x * phiCDF
            // The derivative Phi + z phi is a difference near z = -0.75 (where it is 0):
            // its error is measured against the size of its terms.
            let derivative = phiCDF + x * density, scale = phiCDF + abs(x) * density
            #expect(abs(Double(a[i]) - value) <= 2e-6 * abs(value), "GELU(\(z[i])) = \(a[i]), want \(value)")
            #expect(abs(Double(d[i]) - derivative) <= 1e-5 * scale, "GELU'(\(z[i])) = \(d[i]), want \(derivative)")
        }
    }
}
