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
    static let minimumSplitUpdate = 32768

    let network: Network
    let team: Team
    let workspaces: [Workspace]
    /// Each member's summed cost and gradient buffer, and whether its slice of the update
    /// is finite.
    let costs: UnsafeMutablePointer<Double>
    let gradients: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    let finite: UnsafeMutablePointer<Bool>
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
        gradients = .allocate(capacity: size)
        for t in 0..<size { gradients[t] = workspaces[t].gradients! }
        do {
            team = try Team(size: size)
        } catch {
            deallocate(spare)
            costs.deallocate()
            finite.deallocate()
            gradients.deallocate()
            throw error
        }
        holdsBLAS = size > 1
        if holdsBLAS { BLASThreads.acquire() }
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
        gradients.deallocate()
    }

    /// Gathers batch `index` of `source` (`rows` rows), runs forward, the cost and backward,
    /// and returns the batch's mean cost; the gradient is left for `update`.
    func costAndGradient(_ source: BatchSource, batch index: Int, rows: Int) throws(MiniBatchError) -> Double {
        let shards = TrainingStep.shards(rows: rows, network: network, team: team.size)
        shardsUsed = shards
        let work: (Int) -> Void
        if network.trainsRowByRow, let inPlace = source.rowsInPlace(index) {
            // Models without a hidden layer read each row where it is: no gather.
            work = { t in
                guard t < shards else { return }
                let start = t * rows / shards, end = (t + 1) * rows / shards
                self.costs[t] = self.network.rowByRowCostAndGradient(
                    x: inPlace.x, indices: inPlace.indices, targets: inPlace.targets,
                    rows: start..<end, of: rows, self.workspaces[t])
            }
        } else {
            let (input, targets) = try source.batch(index)
            let nIn = network.inputCount, nOut = network.outputCount
            work = { t in
                guard t < shards else { return }
                let start = t * rows / shards, end = (t + 1) * rows / shards
                source.fill(index, rows: start..<end)
                self.costs[t] = self.network.costAndGradient(
                    input + start * nIn, targets.advanced(by: start, width: nOut), rows: end - start,
                    of: rows, self.workspaces[t])
            }
        }
        if shards == 1 { work(0) } else { team.run(work) }
        var sum = 0.0
        for t in 0..<shards { sum += costs[t] }
        return sum / Double(rows)
    }

    /// Applies the gradient of the last `costAndGradient`: false, with the parameters
    /// unchanged, if any new value would not be finite.
    func update() -> Bool {
        let count = network.parameterCount, shards = shardsUsed
        let from = UnsafePointer(network.parameters), into = spare
        let members = count >= TrainingStep.minimumSplitUpdate ? team.size : 1
        let work = { (t: Int) in
            let range = (t * count / members)..<((t + 1) * count / members)
            self.finite[t] = self.rule.step(from, into: into, gradients: self.gradients, shards: shards, range)
        }
        if members == 1 { work(0) } else { team.run(work) }
        for t in 0..<members where !finite[t] { return false }
        spare = network.parameters
        network.parameters = into
        return true
    }
}
