import CMatrix

/// Inverted dropout of the hidden layers' outputs while training (PyTorch's `nn.Dropout`,
/// Keras's `Dropout` after each hidden layer): each unit of each row is zeroed with
/// probability `rate`, and the kept ones are scaled by 1 / (1 - rate), so that a unit's
/// expected value is unchanged and predictions need no rescaling. Only training's
/// mini-batches drop units; predictions, evaluation, validation and `Network.gradient` see
/// the whole network.
///
/// Which units are dropped is a function of the seed, the epoch (over the model's life, from
/// 0), the batch (within the epoch, from 0), the hidden layer, the row's position in its
/// mini-batch and the unit (the header's contract, `mb_train_options.dropout`): the same
/// for any threads, shards or ranks, and again when an interrupted epoch is run again.
///     k = mix(mix(mix(mix(seed) ^ (2^63 | epoch)) ^ batch) ^ layer)
///     unit j of row r (width units) is dropped when mix(k ^ (r * width + j)) >> 40 < threshold
/// with `mix` SplitMix64's output (`Generator.mix`) and threshold = round(rate * 2^24), halves
/// away from zero.
struct Dropout: Sendable {
    /// The probability of dropping a unit, in [0, 1).
    let rate: Double
    /// A unit is dropped when the top 24 bits of its draw are below this.
    let threshold: UInt32
    /// What a kept unit is multiplied by: 1 / (1 - rate), computed in double and rounded once.
    let scale: Float
    /// mix(seed), the start of every key.
    let seedKey: UInt64

    /// The draws' resolution: 24 bits, a float's significand.
    static let drawBits = 24

    /// nil for a rate of 0 (no dropout).
    init?(rate: Double, seed: UInt64) {
        guard rate > 0 else { return nil }
        self.rate = rate
        // (Halves away from zero, C's round.)
        threshold = UInt32((rate * Double(1 << Dropout.drawBits)).rounded())
        scale = Float(1 / (1 - rate))
        seedKey = Generator.mix(seed)
    }

    /// The key of batch `batch` of epoch `epoch`.
    func batchKey(epoch: Int, batch: Int) -> UInt64 {
        Generator.mix(Generator.mix(seedKey ^ (1 << 63 | UInt64(epoch))) ^ UInt64(batch))
    }

    /// The key of hidden layer `layer` in the batch of `batchKey`.
    static func layerKey(_ batchKey: UInt64, layer: Int) -> UInt64 { Generator.mix(batchKey ^ UInt64(layer)) }

    /// mask = 0 for the dropped units of `rows` rows of `a` (rows, width), scale for the
    /// others; dropped = a * mask. `firstRow` is the first row's position in its mini-batch.
    /// The C loop of `layers.h` (the CPU's vector width), bit-identical to `applyPlain`.
    func apply(
        _ a: UnsafePointer<Float>, dropped: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, key: UInt64, firstRow: Int
    ) {
        mbm_dropout(dropped, mask, a, rows, width, key, firstRow, threshold, scale)
    }

    /// `apply`, the readable form.
    func applyPlain(
        _ a: UnsafePointer<Float>, dropped: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, key: UInt64, firstRow: Int
    ) {
        for r in 0..<rows {
            for j in 0..<width {
                let i = r * width + j
                let draw = Generator.mix(key ^ UInt64((firstRow + r) * width + j)) >> (64 - Dropout.drawBits)
                mask[i] = draw < threshold ? 0 : scale
                dropped[i] = a[i] * mask[i]
            }
        }
    }

    /// The backward pass through dropout: d (count), the gradient with respect to the
    /// dropped output, becomes that with respect to the layer's output, d * mask. The C loop,
    /// bit-identical to `backwardPlain`.
    static func backward(_ d: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        mbm_multiply(d, mask, count)
    }

    /// `backward`, the readable form.
    static func backwardPlain(_ d: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { d[i] = d[i] * mask[i] }
    }
}

/// A mini-batch's dropout in a workspace: the rule, the batch's key, and the position in
/// the batch of the rows the next pass takes (set for each chunk of a shard).
struct DropoutPass {
    var dropout: Dropout
    var batchKey: UInt64
    var firstRow: Int
}
