/// The library's seeded random generator: xoshiro256** (Blackman and Vigna, 2018) seeded
/// through SplitMix64, identical on every machine and version.
///
/// A generator is identified by a `(seed, stream)` pair. The stream's key is
/// `mix(mix(seed) ^ stream)`, and the four state words are the first four outputs of
/// SplitMix64 started from that key. Epoch `e` of training draws its order from stream `e`,
/// so any epoch's permutation is computed directly; initial weights and built-in datasets
/// use stream `Generator.initStream`. This contract is documented in `minibatch.h`.
public struct Generator: RandomNumberGenerator, Sendable {
    /// The stream used for initial weights and built-in datasets (2^64 - 1).
    public static let initStream: UInt64 = .max

    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The generator of stream `stream` under `seed`.
    public init(seed: UInt64, stream: UInt64) {
        var state = Generator.mix(Generator.mix(seed) ^ stream)
        s0 = Generator.splitMix64(&state)
        s1 = Generator.splitMix64(&state)
        s2 = Generator.splitMix64(&state)
        s3 = Generator.splitMix64(&state)
    }

    /// One SplitMix64 step: advances `state` and returns its output.
    @inlinable
    public static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The output of SplitMix64 with its state set to `value` (one step).
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var state = value
        return splitMix64(&state)
    }

    /// The next 64-bit output of xoshiro256**.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = (s1 &* 5).rotatedLeft(by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3.rotatedLeft(by: 45)
        return result
    }

    /// An integer uniform in `0..<bound` (bound > 0; a bound of 0 gives 0, and draws one
    /// number), by Lemire's multiply-shift with rejection ("Fast random integer generation
    /// in an interval", 2019).
    @inlinable
    public mutating func below(_ bound: UInt64) -> UInt64 {
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }

    /// A double uniform in [0, 1): the top 53 bits of one output.
    @inlinable
    public mutating func unitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A pair of independent standard normal draws (Box-Muller on two `unitDouble`s;
    /// the first uniform is taken as 1 - u so that its logarithm is finite).
    @inlinable
    public mutating func normalPair() -> (Double, Double) {
        let u1 = 1.0 - unitDouble()
        let u2 = unitDouble()
        let radius = (-2.0 * _log(u1)).squareRoot()
        let angle = 2.0 * Double.pi * u2
        return (radius * _cos(angle), radius * _sin(angle))
    }
}

extension UInt64 {
    @inlinable
    func rotatedLeft(by k: UInt64) -> UInt64 { (self << k) | (self >> (64 &- k)) }
}
