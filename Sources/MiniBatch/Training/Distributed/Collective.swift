/// A training call's side of distributed training: the collectives it runs over its
/// communicator, in the same order on every rank (see the C header's `mb_communicator`).
///
/// - Start: every rank's setup either failed (its error) or gave a fingerprint of the
///   call (`Fingerprint`); one allgather tells every rank both, so that a rank that failed,
///   or ranks that disagree, stop every rank with the same error before the first step.
/// - Each mini-batch: `exchange`, one allgather (deterministic) or one allreduce (fast) of
///   the gradient with the cost and a failure flag.
/// - Each epoch: `endEpoch` (failures, rank 0's validation result, a hash of the weights)
///   and `anyStop` (the progress callbacks' answers).
/// - A failure any rank flags: `agree`, one allgather of every rank's error, and every rank
///   throws the first rank's.
/// Without a communicator training makes none of these calls.
final class Collective {
    let communicator: any Communicator
    let mode: Distribution.Mode
    let rank: Int
    let ranks: Int
    /// A failure of this rank outside a mini-batch (the epoch's start, validation), told to
    /// the others at the next collective.
    var pending: MiniBatchError?

    private var parameterCount = 0
    /// Deterministic: one rank's block of the allgather (a flag, the costs and the
    /// gradients of up to `blockShards` shards) and the blocks of every rank.
    private var blockShards = 0
    private var send: UnsafeMutablePointer<UInt8>?
    private var receive: UnsafeMutablePointer<UInt8>?
    /// Fast: the summed gradient, then the cost (two floats) and the failure count.
    private var sum: UnsafeMutablePointer<Float>?

    init(_ distribution: Distribution) {
        communicator = distribution.communicator
        mode = distribution.mode
        rank = distribution.rank
        ranks = distribution.size
    }

    deinit {
        deallocate(send)
        deallocate(receive)
        deallocate(sum)
    }

    /// The shards of a batch cut into `shards` that this rank computes.
    func owned(_ shards: Int) -> Range<Int> { Network.part(rank, of: ranks, in: 0..<shards) }

    /// The most shards any rank computes of a batch cut into `shards`.
    func mostOwned(_ shards: Int) -> Int { (shards + ranks - 1) / ranks }

    // MARK: - Buffers

    /// Allocates the exchange's buffers for `parameterCount` parameters and batches of at
    /// most `shards` shards.
    func prepare(parameterCount: Int, shards: Int) throws(MiniBatchError) {
        self.parameterCount = parameterCount
        switch mode {
        case .deterministic:
            blockShards = mostOwned(shards)
            let block = try blockBytes(blockShards)
            let (all, overflow) = block.multipliedReportingOverflow(by: ranks)
            guard !overflow else { throw .invalid("the exchange of \(ranks) ranks' gradients is too large") }
            send = try allocate(UInt8.self, count: block, for: "the gradients sent to the other ranks")
            receive = try allocate(UInt8.self, count: all, for: "the gradients of every rank")
        case .fast:
            sum = try allocate(Float.self, count: parameterCount + 3, for: "the gradient summed over the ranks")
        }
    }

    /// Bytes of one rank's block for `shards` shards: a flag, their costs, their gradients,
    /// rounded up to 64 so that every block starts aligned.
    private func blockBytes(_ shards: Int) throws(MiniBatchError) -> Int {
        let floats = try Validate.product(shards, parameterCount, "the gradients of a rank's shards")
        guard floats <= (Int.max - 4096) / 4 else { throw .invalid("the gradients of a rank's shards are too large") }
        return (8 + 8 * shards + 4 * floats + 63) & ~63
    }

    /// The ranks' failure flags and failure records, as the collectives returned them,
    /// disagree: the flags said a rank failed where no record holds a failure (`agree`
    /// returned), or this rank failed and the flags lost it (`fail`). Only a communicator
    /// that returns values the ranks did not send can make that (an allreduce that does not
    /// sum, an allgather that garbles): the communicator's failure.
    static let notAgreed = MiniBatchError(
        .communication,
        "distributed training: the ranks' failure flags and failure records disagree: the communicator's collectives returned values the ranks did not send")

    // MARK: - Start

    /// This rank's setup failed: tells every rank, and throws the first failing rank's
    /// error (every rank throws the same).
    func fail(_ error: MiniBatchError) throws(MiniBatchError) -> Never {
        try start(nil, failure: error)
        throw Collective.notAgreed
    }

    /// This rank's setup succeeded with `fingerprint`: returns when every rank's did, with
    /// the same fingerprint; otherwise throws on every rank the same error, naming the
    /// first rank that failed or the first field that differs.
    func open(_ fingerprint: Fingerprint) throws(MiniBatchError) {
        try start(fingerprint, failure: nil)
    }

    private func start(_ fingerprint: Fingerprint?, failure: MiniBatchError?) throws(MiniBatchError) {
        let fields = Fingerprint.names.count
        var words = [UInt64](repeating: 0, count: fields + 1)
        words[0] = failure == nil ? 0 : 1
        if let fingerprint { for f in 0..<fields { words[f + 1] = fingerprint.values[f] } }
        let (failed, difference) = try gather(words) { all -> (Bool, String?) in
            guard (0..<ranks).allSatisfy({ all[$0 * (fields + 1)] == 0 }) else { return (true, nil) }
            for f in 0..<fields {
                let first = all[f + 1]
                for r in 1..<max(ranks, 1) where all[r * (fields + 1) + f + 1] != first {
                    return (false, Fingerprint.describe(f, first, rank: 0, all[r * (fields + 1) + f + 1], rank: r))
                }
            }
            return (false, nil)
        }
        guard !failed else {
            try agree(failure)
            throw Collective.notAgreed
        }
        if let difference {
            throw .invalid("the ranks' training calls differ: \(difference) (every rank must make the same call on the same model and data)")
        }
    }

    // MARK: - Each mini-batch

    /// Deterministic mode: sends the costs and gradients of this rank's `local` shards of a
    /// batch cut into `shards` (`localGradients[i]`, `costs[i]` for local shard i), or
    /// that it failed, and receives every rank's. On success `gradients[0..<shards]` point to
    /// every shard's gradient in shard order and the result is the sum of the costs in
    /// shard order; nil if any rank failed.
    func exchange(
        shards: Int, local: Range<Int>, localGradients: (Int) -> UnsafePointer<Float>, costs: UnsafePointer<Double>,
        failed: Bool, into gradients: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    ) throws(MiniBatchError) -> Double? {
        let count = mostOwned(shards), block = try blockBytes(count)
        let send = UnsafeMutableRawPointer(self.send!), receive = UnsafeMutableRawPointer(self.receive!)
        send.storeBytes(of: failed ? 1 : 0, as: UInt64.self)
        let sentCosts = (send + 8).assumingMemoryBound(to: Double.self)
        let sentGradients = (send + 8 + 8 * count).assumingMemoryBound(to: Float.self)
        if !failed {
            for i in 0..<local.count {
                sentCosts[i] = costs[i]
                (sentGradients + i * parameterCount).update(from: localGradients(i), count: parameterCount)
            }
        }
        try communicator.allgather(UnsafeRawBufferPointer(start: send, count: block),
                                   into: UnsafeMutableRawBufferPointer(start: receive, count: block * ranks))
        for r in 0..<ranks where receive.load(fromByteOffset: r * block, as: UInt64.self) != 0 { return nil }
        var cost = 0.0
        for r in 0..<ranks {
            let shardsOfRank = Network.part(r, of: ranks, in: 0..<shards)
            let base = receive + r * block
            let rankCosts = (base + 8).assumingMemoryBound(to: Double.self)
            let rankGradients = (base + 8 + 8 * count).assumingMemoryBound(to: Float.self)
            for (i, s) in shardsOfRank.enumerated() {
                gradients[s] = rankGradients + i * parameterCount
                cost += rankCosts[i]  // (ranks in order, their shards in order: shard order)
            }
        }
        return cost
    }

    /// Fast mode: sums this rank's shards' gradients (`localGradients`, in order) and costs,
    /// and adds the ranks' sums with one allreduce. Returns the summed gradient and cost, or
    /// nil if any rank failed.
    func exchange(
        localShards: Int, localGradients: (Int) -> UnsafePointer<Float>, costs: UnsafePointer<Double>, failed: Bool
    ) throws(MiniBatchError) -> (gradient: UnsafeMutablePointer<Float>, cost: Double)? {
        let sum = self.sum!, n = parameterCount
        var cost = 0.0
        if failed || localShards == 0 {
            sum.update(repeating: 0, count: n)
        } else {
            sum.update(from: localGradients(0), count: n)
            for i in 1..<localShards {
                let g = localGradients(i)
                for j in 0..<n { sum[j] += g[j] }
            }
            for i in 0..<localShards { cost += costs[i] }
        }
        // The cost as two floats whose sum is it to about 2^-48: their sums over the ranks
        // add up to the total cost within float rounding of each part.
        let high = Float(cost)
        sum[n] = high
        sum[n + 1] = Float(cost - Double(high))
        sum[n + 2] = failed ? 1 : 0
        try communicator.allreduceSum(UnsafeMutableBufferPointer(start: sum, count: n + 3))
        if sum[n + 2] != 0 { return nil }
        return (sum, Double(sum[n]) + Double(sum[n + 1]))
    }

    // MARK: - Failures and epochs

    /// Every rank tells the others its error, if any: when some rank has one, every rank
    /// throws the first such rank's (its kind, its message prefixed with the rank); when
    /// none has, returns.
    func agree(_ error: MiniBatchError?) throws(MiniBatchError) {
        let recordBytes = 1024
        let record = UnsafeMutableRawBufferPointer.allocate(byteCount: recordBytes, alignment: 8)
        defer { record.deallocate() }
        record.initializeMemory(as: UInt8.self, repeating: 0)
        if let error {
            record.storeBytes(of: Int32(error.kind.rawValue), as: Int32.self)
            let bytes = Array(error.message.utf8.prefix(recordBytes - 8))
            record.storeBytes(of: Int32(bytes.count), toByteOffset: 4, as: Int32.self)
            for (i, byte) in bytes.enumerated() { record[8 + i] = byte }
        }
        // The library's allocator: 1 KiB for each of up to 2^20 ranks (Swift's allocator ended
        // the process where it failed).
        let allBytes = try allocate(UInt8.self, count: recordBytes * ranks, for: "the ranks' failures")
        defer { deallocate(allBytes) }
        let all = UnsafeMutableRawBufferPointer(start: allBytes, count: recordBytes * ranks)
        try communicator.allgather(UnsafeRawBufferPointer(record), into: all)
        for r in 0..<ranks {
            let base = r * recordBytes
            let kind = all.load(fromByteOffset: base, as: Int32.self)
            guard kind != 0 else { continue }
            // A record no rank wrote (a communicator whose allgather returned other bytes) is
            // the communicator's failure, and its text is shown printable.
            guard let known = MiniBatchError.Kind(rawValue: Int(kind)) else {
                throw MiniBatchError(.communication, "rank \(r)'s failure record has no error kind (\(kind)): the communicator's allgather returned bytes that no rank sent")
            }
            let length = max(0, min(Int(all.load(fromByteOffset: base + 4, as: Int32.self)), recordBytes - 8))
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: all[(base + 8)..<(base + 8 + length)]), as: UTF8.self)
            let message = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
            throw MiniBatchError(known, "rank \(r): \(message)")
        }
    }

    /// After an epoch: throws on every rank the first rank's failure (this rank's
    /// `pending` or `failure`), else returns rank 0's validation result. The weights are
    /// compared by hash: in fast mode they are made rank 0's where they differ
    /// (`synchronize`); in deterministic mode a difference is an internal error.
    func endEpoch(
        _ network: Network, failure: MiniBatchError?, validation: (cost: Double, score: Double)
    ) throws(MiniBatchError) -> (cost: Double, score: Double) {
        let failure = pending ?? failure
        pending = nil
        let words: [UInt64] = [failure == nil ? 0 : 1, validation.cost.bitPattern, validation.score.bitPattern,
                               Fingerprint.hash(network.parameters, count: network.parameterCount)]
        let (failed, differ, result) = try gather(words) { all in
            ((0..<ranks).contains(where: { all[$0 * 4] != 0 }), (1..<max(ranks, 1)).contains(where: { all[$0 * 4 + 3] != all[3] }),
             (Double(bitPattern: all[1]), Double(bitPattern: all[2])))
        }
        if failed {
            try agree(failure)
            throw Collective.notAgreed
        }
        if differ {
            guard mode == .fast else {
                throw MiniBatchError(.internal, "distributed training: the ranks' weights differ after an epoch in deterministic mode (a communicator whose allgather differs between ranks?)")
            }
            try synchronize(network)
        }
        return result
    }

    /// Whether any rank's progress callback asked to stop: the first such rank, or nil.
    func anyStop(_ stop: Bool) throws(MiniBatchError) -> Int? {
        try gather([stop ? 1 : 0]) { all in (0..<ranks).first { all[$0] != 0 } }
    }

    /// Makes the weights and the update rule's state rank 0's (fast mode, after an
    /// allreduce that did not give every rank the same sum).
    func synchronize(_ network: Network) throws(MiniBatchError) {
        try broadcast(network.parameters, count: network.parameterCount)
        for slot in network.trainingState.slots { try broadcast(slot, count: network.parameterCount) }
    }

    private func broadcast(_ data: UnsafeMutablePointer<Float>, count: Int) throws(MiniBatchError) {
        try communicator.broadcast(UnsafeMutableRawBufferPointer(start: data, count: count * 4), root: 0)
    }

    /// `body` of every rank's `words`, rank after rank. The ranks' words are in a buffer of
    /// the library's allocator (`.outOfMemory` where it fails; up to 2^20 ranks, a Swift
    /// array of them ended the process under `ulimit -v`).
    private func gather<T>(
        _ words: [UInt64], _ body: (UnsafePointer<UInt64>) throws(MiniBatchError) -> T
    ) throws(MiniBatchError) -> T {
        let send = try allocate(UInt64.self, count: words.count, for: "a gather's words")
        defer { deallocate(send) }
        let receive = try allocate(UInt64.self, count: words.count * ranks, for: "the ranks' words")
        defer { deallocate(receive) }
        for (i, word) in words.enumerated() { send[i] = word }
        try communicator.allgather(UnsafeRawBufferPointer(start: send, count: words.count * 8),
                                   into: UnsafeMutableRawBufferPointer(start: receive, count: words.count * ranks * 8))
        return try body(receive)
    }
}

extension Collective {
    /// The collective of a training call's options (nil without a communicator), once the
    /// communicator itself is usable: its rank and size are checked here, on each rank,
    /// since no collective can run without them.
    static func make(_ options: TrainingOptions) throws(MiniBatchError) -> Collective? {
        guard let distribution = options.distribution else { return nil }
        return try make(distribution)
    }

    /// The collective over `distribution`'s communicator, once its rank and size are checked.
    static func make(_ distribution: Distribution) throws(MiniBatchError) -> Collective {
        let size = distribution.size, rank = distribution.rank
        guard (1...Distribution.maxRanks).contains(size) else {
            throw .invalid("communicator size must be 1...\(Distribution.maxRanks), got \(size)")
        }
        guard (0..<size).contains(rank) else {
            throw .invalid("communicator rank must be 0...\(size - 1) (size \(size)), got \(rank)")
        }
        return Collective(distribution)
    }
}

extension Distribution {
    /// In place of a training call this rank will not make, because what it prepares for the
    /// call failed (data it could not read, arguments it could not build): the training call
    /// the other ranks make with this communicator (`Network.train`, `trainDataset`) fails on
    /// every rank with `error` as this rank's failure, as a failure of this rank's setup would
    /// ("rank k: message", the message's first 1,016 bytes), so that no rank waits for this
    /// one. Collective: the other ranks must be in, or enter, a training call with this
    /// communicator. Throws the error every rank throws: this rank's, or the lowest failing
    /// rank's where several failed; a communicator whose rank or size is out of range, or
    /// whose collective fails, throws that error instead (nothing could be told then).
    public func failTraining(_ error: MiniBatchError) throws(MiniBatchError) -> Never {
        try Collective.make(self).fail(error)
    }
}

/// A training call refused before it reached training (by the C layer: a NULL model, bad
/// data pointers, an option it cannot convert) on a rank whose communicator is usable: the
/// refusal is told to every rank, whose calls wait in the exchange that opens training
/// (`Distribution.failTraining`), and the error every rank throws is returned. Without a
/// usable communicator, `error` as it is.
package func refusedBeforeTraining(_ distribution: Distribution, _ error: MiniBatchError) -> MiniBatchError {
    guard let collective = try? Collective.make(distribution) else { return error }
    do {
        try collective.fail(error)
    } catch {
        return error
    }
}

/// Runs a part of a training call's setup: with a collective, a failure is told to every
/// rank first (`Collective.fail`), and every rank throws the same error.
func gated<T>(_ collective: Collective?, _ body: () throws(MiniBatchError) -> T) throws(MiniBatchError) -> T {
    do {
        return try body()
    } catch {
        guard let collective else { throw error }
        try collective.fail(error)
    }
}
