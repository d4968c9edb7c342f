/// The layout of a training step: how a batch is cut into shards (the header's "The
/// layout", on which the weights depend), how many threads share it, and the workspaces
/// that follow (their count and the rows they take at a time), which the automatic batch
/// size's budget counts as `TrainingStep.init` makes them.
extension TrainingStep {
    /// Rows forward and backward take at a time for shards of up to `shardRows` rows: all
    /// of them when the first layer's update may be fused (it reads the whole shard's dz)
    /// or the model trains row by row (its kernel reads each row once anyway), else at
    /// most `Network.chunkRows`, so that a chunk's rows and activations stay in the core's cache
    /// between forward and backward, and working memory does not grow with the batch.
    static func rowsAtATime(_ network: Network, shardRows: Int, mayFuse: Bool) -> Int {
        mayFuse || network.trainsRowByRow ? shardRows : min(shardRows, Network.chunkRows)
    }

    /// The workspaces' shape for `partition`: the shards its largest batch and its last are
    /// cut into (by a team of `team`), and the rows every workspace takes at a time, those
    /// of the larger shard of either (a smaller last batch may make fewer shards of more
    /// rows). `TrainingStep.init` makes its workspaces so, and the automatic batch size's
    /// budget counts them so.
    static func workspaceShape(
        _ network: Network, partition: Partition, team: Int, mayFuse: Bool
    ) -> (shards: [Int], capacity: Int) {
        let sizes = [partition.batchSize, partition.batch(partition.batchCount - 1).count]
        let counts = sizes.map { shards(rows: $0, network: network, team: team) }
        let shardRows = zip(sizes, counts).map { rows, shards in (rows + shards - 1) / shards }.max()!
        return (counts, rowsAtATime(network, shardRows: shardRows, mayFuse: mayFuse))
    }

    /// The least work of one of `network`'s shards (`minimumShardWork`).
    static func shardWork(_ network: Network) -> Int {
        minimumShardWork + shardWorkPerParameter * network.parameterCount
    }

    /// How many shards `rows` rows of `network`'s batch are cut into with a layout of `size`.
    static func shards(rows: Int, network: Network, team size: Int) -> Int {
        // (Saturated: a batch of 2^31 rows of a model of 2^33 parameters has no Int work.)
        let work = rows.multipliedSaturated(network.parameterCount + network.inputCount)
        let shardRows = fusesFirstWeights(network) ? minimumFusedShardRows : minimumShardRows
        return max(1, min(size, rows / shardRows, work / shardWork(network)))
    }

    /// The members `options.threads` asks for (0: as many as OpenBLAS uses).
    static func teamSize(_ options: TrainingOptions) -> Int {
        options.threads > 0 ? options.threads : max(1, min(BLASThreads.available, BLASThreads.maxTeam))
    }

    /// The layout `options` ask for: `shards`, else the team size times the ranks.
    static func layout(_ options: TrainingOptions) -> Int {
        options.shards > 0 ? options.shards : teamSize(options) * (options.distribution?.size ?? 1)
    }
}
