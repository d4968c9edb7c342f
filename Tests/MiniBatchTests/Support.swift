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
