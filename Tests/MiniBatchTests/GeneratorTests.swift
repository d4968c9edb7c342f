import Testing
@testable import MiniBatch

/// The generator against its documented contract (include/minibatch.h): reference values
/// from an independent implementation of that text, and SplitMix64's published first output.
struct GeneratorTests {
    @Test func splitMix64MatchesItsReference() {
        // splitmix64.c (Vigna) started from state 0 gives 0xE220A8397B1DCDAF first.
        var state: UInt64 = 0
        #expect(Generator.splitMix64(&state) == 0xE220_A839_7B1D_CDAF)
    }

    @Test func streamMatchesIndependentImplementation() {
        var generator = Generator(seed: 42, stream: 7)
        let outputs = (0..<4).map { _ in generator.next() }
        #expect(outputs == [0x0719_e15c_f3d4_342f, 0x40ef_a5d3_e198_0cd0, 0x9175_6e0a_f066_88e2, 0x6133_4651_13c7_4853])
    }

    @Test func boundedDrawsStayBelowTheBoundAndCoverIt() {
        var generator = Generator(seed: 5, stream: 0)
        var seen = Set<UInt64>()
        for _ in 0..<2000 {
            let value = generator.below(7)
            #expect(value < 7)
            seen.insert(value)
        }
        #expect(seen.count == 7)
    }

    @Test func unitDoublesAreInTheUnitInterval() {
        var generator = Generator(seed: 9, stream: 1)
        var sum = 0.0
        for _ in 0..<10_000 {
            let u = generator.unitDouble()
            #expect(u >= 0 && u < 1)
            sum += u
        }
        #expect(abs(sum / 10_000 - 0.5) < 0.02)
    }

    @Test func normalDrawsHaveUnitVariance() {
        var normals = NormalSequence(seed: 3)
        let draws = (0..<20_000).map { _ in normals.next() }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
        #expect(abs(mean) < 0.03)
        #expect(abs(variance - 1) < 0.05)
    }
}
