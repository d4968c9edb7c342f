import Testing

@testable import MiniBatch

/// A rule with a C kernel beside its Swift loop (`applyVectorised` beside `apply`).
protocol VectorisedRule: UpdateRule {
    func applyVectorised(
        _ b: UpdateBuffers, _ range: Range<Int>, rate: Float, step: Int, terms: GradientTerms,
        segments: [(range: Range<Int>, isWeight: Bool)]
    ) -> Bool
}

extension MomentumRule: VectorisedRule {}
extension RMSpropRule: VectorisedRule {}
extension AdagradRule: VectorisedRule {}
extension AdamRule: VectorisedRule {}
extension AMSGradRule: VectorisedRule {}
extension AdamaxRule: VectorisedRule {}
extension NAdamRule: VectorisedRule {}
extension RAdamRule: VectorisedRule {}
extension RMSpropGeneralRule: VectorisedRule {}
extension AdadeltaRule: VectorisedRule {}

/// Buffers for comparing a rule's Swift loop (path 0) with its C kernel (path 1), bit for
/// bit: parameters, two gradient buffers and up to three slots of state, filled with uniform
/// values from seeds `seed`, `seed + 1`, ... (`OptimizerTests.uniformBuffer`), and each path's
/// outputs (the parameters and every slot).
final class KernelFixture {
    static let n = 1000
    /// Weights 0..<700 (where L2 applies), biases after.
    static let segments = [(range: 0..<700, isWeight: true), (range: 700..<n, isWeight: false)]

    let shards: Int
    let p, g0, g1: UnsafeMutablePointer<Float>
    let state: [UnsafeMutablePointer<Float>]
    private let outs: [[UnsafeMutablePointer<Float>]]
    private let gradients: UnsafeMutablePointer<UnsafeMutablePointer<Float>>

    /// `scales`: each slot's scale. Every slot holds magnitudes (second moments are never
    /// negative), but the first when `firstSigned` (a first moment).
    init(shards: Int, seed: UInt64, scales: [Float], firstSigned: Bool = true) {
        let n = Self.n
        self.shards = shards
        p = OptimizerTests.uniformBuffer(n, seed: seed)
        g0 = OptimizerTests.uniformBuffer(n, seed: seed + 1)
        g1 = OptimizerTests.uniformBuffer(n, seed: seed + 2)
        state = scales.enumerated().map { k, scale in
            let slot = OptimizerTests.uniformBuffer(n, seed: seed + 3 + UInt64(k), scale: scale)
            if k > 0 || !firstSigned { for i in 0..<n { slot[i] = abs(slot[i]) } }
            return slot
        }
        outs = (0..<2).map { _ in (0...scales.count).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: n) } }
        gradients = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: 2)
        gradients[0] = g0
        gradients[1] = g1
    }

    deinit {
        for q in [p, g0, g1] + state + outs.joined() { q.deallocate() }
        gradients.deallocate()
    }

    /// Output `k` of `path`: 0 the parameters, 1 ... the slots.
    func out(_ path: Int, _ k: Int) -> UnsafeMutablePointer<Float> { outs[path][k] }

    /// Where `path` reads and writes (slots the rule lacks: the last one's, never touched).
    func buffers(_ path: Int) -> UpdateBuffers {
        let o = outs[path]
        func now(_ k: Int) -> UnsafePointer<Float> { UnsafePointer(state[min(k, state.count - 1)]) }
        func next(_ k: Int) -> UnsafeMutablePointer<Float> { o[min(k + 1, o.count - 1)] }
        return UpdateBuffers(
            parameters: p, out: o[0], gradients: UnsafePointer(gradients), shards: shards,
            state: (now(0), now(1), now(2)), stateOut: (next(0), next(1), next(2)))
    }

    /// Both paths on `range`: whether each reported every new parameter finite.
    func run<R: VectorisedRule>(_ rule: R, _ range: Range<Int>, _ terms: GradientTerms, rate: Float = 0.01) -> (Bool, Bool) {
        (rule.apply(buffers(0), range, rate: rate, step: 7, terms: terms, segments: Self.segments),
         rule.applyVectorised(buffers(1), range, rate: rate, step: 7, terms: terms, segments: Self.segments))
    }

    /// Both paths on `range`, each finite, every output the rule writes (the parameters and
    /// its slots) equal bit for bit (the first difference recorded as an issue naming `what`).
    func compare<R: VectorisedRule>(_ rule: R, _ range: Range<Int>, _ terms: GradientTerms, _ what: String) {
        let (swift, c) = run(rule, range, terms)
        #expect(swift && c, "\(what): a step was not finite")
        for k in 0...R.slots {
            for i in range where out(0, k)[i].bitPattern != out(1, k)[i].bitPattern {
                Issue.record("\(what): output \(k) differs at \(i): \(out(0, k)[i]) against \(out(1, k)[i])")
                return
            }
        }
    }

    /// A NaN or an infinite gradient in one lane (inside a vector, and in the tail): both
    /// paths report a step that is not finite without value clipping; with `terms`'
    /// clipping, the infinite one is clipped to the bound and the step is finite.
    func expectNonFiniteLanes<R: VectorisedRule>(_ rule: R, _ terms: GradientTerms) {
        let unclipped = GradientTerms(l2: terms.l2, scale: terms.scale)
        for (i, bad) in [(5, Float.nan), (Self.n - 2, Float.infinity)] {
            let saved = g0[i]
            g0[i] = bad
            let (swift, c) = run(rule, 0..<Self.n, unclipped)
            #expect(!swift && !c)
            let clips = terms.clip.isFinite && bad.isInfinite
            let (swiftClipped, cClipped) = run(rule, 0..<Self.n, terms)
            #expect(swiftClipped == clips && cClipped == clips)
            g0[i] = saved
        }
    }
}
