/// One training step (a mini-batch's gradient, then the update) split across a team of
/// threads: data parallelism inside each mini-batch.
///
/// The batch's rows are cut into contiguous shards, one per member; each member gathers
/// its shard, runs forward, the cost and backward into its own gradient buffer, and the
/// update sums the members' gradients in member order, each member for a slice of the
/// parameters. The result depends on the number of shards, never on timing, so the same
/// seed and thread count give bit-identical weights. One shard is the plain sequential step.
///
/// The update writes the new parameters into a second buffer and the network switches to
/// it only if every value is finite, so a diverging step leaves the last finite weights.
final class TrainingStep {
    /// Rows below which a batch is not split further.
    static let minimumShardRows = 64
    /// Work (rows times parameters and inputs) below which a shard is not worth a thread.
    static let minimumShardWork = 8192
    /// Parameters below which the update runs on one thread.
    static let minimumSplitUpdate = 16384

    let network: Network
    let team: Team
    let workspaces: [Workspace]
    /// Each member's summed cost and gradient buffer, and whether its slice of the update
    /// is finite.
    let costs: UnsafeMutablePointer<Double>
    let gradients: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    let finite: UnsafeMutablePointer<Bool>
    /// What stopped each member's shard of the last gradient: its rows could not be had,
    /// or (when values are checked) hold a NaN or Inf.
    let failures: UnsafeMutablePointer<MiniBatchError?>
    /// Whether the gradient checks X's values as it reads them (`checkValues`).
    var checksValues = false
    /// The parameter buffer that is not the network's current one.
    var spare: UnsafeMutablePointer<Float>
    var rule: GradientDescent
    /// Shards of the last gradient.
    private var shardsUsed = 1
    private let holdsBLAS: Bool

    /// How many shards `rows` rows of `network`'s batch are cut into by a team of `size`.
    static func shards(rows: Int, network: Network, team size: Int) -> Int {
        let work = rows * (network.parameterCount + network.inputCount)
        return max(1, min(size, rows / minimumShardRows, work / minimumShardWork))
    }

    /// The members `options.threads` asks for (0: as many as OpenBLAS uses).
    static func teamSize(_ options: TrainingOptions) -> Int {
        options.threads > 0 ? options.threads : max(1, min(BLASThreads.available, BLASThreads.maxTeam))
    }

    init(for network: Network, partition: Partition, options: TrainingOptions) throws(MiniBatchError) {
        self.network = network
        rule = GradientDescent(learningRate: options.learningRate)
        // The team is as large as the largest batch splits; the last batch may be smaller.
        let asked = TrainingStep.teamSize(options)
        let sizes = [partition.batchSize, partition.batch(partition.batchCount - 1).count]
        let size = sizes.map { TrainingStep.shards(rows: $0, network: network, team: asked) }.max()!
        let capacity = sizes.map { rows in
            let shards = TrainingStep.shards(rows: rows, network: network, team: size)
            return (rows + shards - 1) / shards
        }.max()!
        var workspaces: [Workspace] = []
        for _ in 0..<size { workspaces.append(try Workspace(for: network, capacity: capacity, backward: true)) }
        self.workspaces = workspaces
        spare = try allocate(Float.self, count: network.parameterCount, for: "the updated parameters")
        costs = .allocate(capacity: size)
        finite = .allocate(capacity: size)
        failures = .allocate(capacity: size)
        failures.initialize(repeating: nil, count: size)
        gradients = .allocate(capacity: size)
        for t in 0..<size { gradients[t] = workspaces[t].gradients! }
        do {
            team = try Team(size: size)
        } catch {
            deallocate(spare)
            costs.deallocate()
            finite.deallocate()
            failures.deinitialize(count: size)
            failures.deallocate()
            gradients.deallocate()
            throw error
        }
        holdsBLAS = size > 1
        if holdsBLAS { BLASThreads.acquire() }
        job = { [unowned self] t in self.member(t) }
    }

    /// Leaves the network's parameters in its own buffer and frees the rest.
    func finish() {
        team.stop()
        if holdsBLAS { BLASThreads.release() }
        if network.parameters != network.storage {
            network.storage.update(from: network.parameters, count: network.parameterCount)
            spare = network.parameters
            network.parameters = network.storage
        }
        deallocate(spare)
        costs.deallocate()
        finite.deallocate()
        failures.deinitialize(count: team.size)
        failures.deallocate()
        gradients.deallocate()
    }

    /// Gathers batch `index` of `source` (`rows` rows), runs forward, the cost and backward,
    /// and returns the batch's mean cost; the gradient is left for `update`.
    func costAndGradient(_ source: BatchSource, batch index: Int, rows: Int) throws(MiniBatchError) -> Double {
        let shards = TrainingStep.shards(rows: rows, network: network, team: team.size)
        shardsUsed = shards
        // Models without a hidden layer read each row where it is: no gather.
        let inPlace = network.trainsRowByRow ? source.rowsInPlace(index) : nil
        let input: UnsafePointer<Float>, targets: Targets
        if let inPlace {
            (input, targets) = (inPlace.x, inPlace.targets)
        } else {
            (input, targets) = try source.batch(index)
        }
        batch = Batch(source: source, index: index, rows: rows, shards: shards, inPlace: inPlace,
                      input: input, targets: targets)
        defer { batch = nil }
        run(.gradient, members: shards)
        var first: MiniBatchError?
        for t in 0..<shards where failures[t] != nil {
            if first == nil { first = failures[t] }
            failures[t] = nil
        }
        if let first { throw first }
        var sum = 0.0
        for t in 0..<shards { sum += costs[t] }
        return sum / Double(rows)
    }

    /// Throws the first NaN or Inf of X in batch `index` of `source`, if values are checked.
    ///
    /// Rows read in place are not checked as they are read (it would cost a pass over
    /// them): a non-finite value there makes the gradient non-finite (every product with
    /// it is NaN or infinite, and so is any sum it enters), so the training loop calls this
    /// when a batch's cost or update is not finite. Gathered rows are checked as they are
    /// copied (`BatchSource.fillChecked`).
    func checkValues(_ source: BatchSource, batch index: Int, rows: Int) throws(MiniBatchError) {
        if checksValues, let bad = source.nonFinite(index, rows: 0..<rows) { throw bad.error }
    }

    /// Applies the gradient of the last `costAndGradient`: false, with the parameters
    /// unchanged, if any new value would not be finite.
    func update() -> Bool {
        let members = updateMembers
        run(.update, members: members)
        for t in 0..<members where !finite[t] { return false }
        swap(&spare, &network.parameters)
        return true
    }

    // MARK: - The members' work

    /// What the members work on: a batch's gradient, or the update.
    private enum Phase {
        case gradient
        case update
    }

    /// The batch of the current gradient phase.
    private struct Batch {
        var source: BatchSource
        var index: Int
        var rows: Int
        var shards: Int
        var inPlace: RowsInPlace?
        var input: UnsafePointer<Float>
        var targets: Targets
    }

    private var phase = Phase.gradient
    private var batch: Batch?
    /// `member`, made once: a closure made per batch would allocate per batch.
    private var job: ((Int) -> Void)?
    /// Members of the update: the whole team, unless the parameters are too few to share.
    private var updateMembers: Int {
        network.parameterCount >= TrainingStep.minimumSplitUpdate ? team.size : 1
    }

    /// Runs `phase` on members 0..<members: on the calling thread alone if that is one.
    private func run(_ phase: Phase, members: Int) {
        self.phase = phase
        if members == 1 { member(0) } else { team.run(job!) }
    }

    private func member(_ t: Int) {
        switch phase {
        case .gradient:
            guard let batch, t < batch.shards else { return }
            let start = t * batch.rows / batch.shards, end = (t + 1) * batch.rows / batch.shards
            if let inPlace = batch.inPlace {
                costs[t] = network.rowByRowCostAndGradient(
                    x: inPlace.x, indices: inPlace.indices, targets: inPlace.targets,
                    rows: start..<end, of: batch.rows, workspaces[t])
            } else {
                do throws(MiniBatchError) {
                    if checksValues {
                        try batch.source.fillChecked(batch.index, rows: start..<end)
                    } else {
                        try batch.source.fill(batch.index, rows: start..<end)
                    }
                } catch {
                    failures[t] = error
                    return
                }
                costs[t] = network.costAndGradient(
                    batch.input + start * network.inputCount,
                    batch.targets.advanced(by: start, width: network.outputCount),
                    rows: end - start, of: batch.rows, workspaces[t])
            }
        case .update:
            let count = network.parameterCount, members = updateMembers
            let range = (t * count / members)..<((t + 1) * count / members)
            finite[t] = rule.step(network.parameters, into: spare, gradients: gradients, shards: shardsUsed, range)
        }
    }
}
