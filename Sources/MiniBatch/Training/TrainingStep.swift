/// One training step (a mini-batch's gradient, then the update) split across a team of
/// threads: data parallelism inside each mini-batch.
///
/// The gradient: the batch's rows are cut into contiguous shards, one per member; each
/// member gathers its shard, runs forward, the cost and backward into its own gradient
/// buffer (a chunk of up to `Network.chunkRows` rows at a time, the chunks' gradients added
/// up). The batch's gradient is the sum of the members' buffers in member order.
///
/// The shards are the layout (`layout`: `TrainingOptions.shards`, else the threads times
/// the ranks), not the threads: a team smaller than the shards runs several each, so the
/// weights depend on the layout alone. Distributed (`Collective`), each rank computes its
/// own run of shards and the ranks exchange them once per batch: in deterministic mode every
/// rank then holds every shard's gradient and the update below runs exactly as one process
/// with the same layout runs it; in fast mode it runs on the ranks' summed gradient.
///
/// The update (the general path): each member applies the update rule (`UpdateRule`, with
/// its state from `TrainingState`) to its slice of the parameters, summing the shards'
/// gradients as it reads them, adding the L2 term and scaling by the clipping factor
/// (a pass of its own measures the norm first when clipping is on). The result depends on
/// the number of shards, never on timing, so the same seed and thread count give
/// bit-identical weights. One shard is the plain sequential step.
///
/// The update writes the new parameters, and the rule's new state, into second buffers, and
/// the network switches to them only if every parameter is finite, so a diverging step
/// leaves the last finite weights and the state that goes with them.
///
/// Plain gradient descent without L2 or clipping (the default) takes a fast path beside the
/// general one (`GradientDescent`: the same formula, tested equal), and a large first
/// layer's weights (units times inputs: most of a network's parameters, from
/// `minimumFusedWeights`) a shorter way still when the batch's rows were measured as they
/// were read (`BatchSource.measuresRows`: every batch, unless one batch holds all rows).
/// The shards leave their dW out of backward, and the update adds -learningRate * dz^T x,
/// shard by shard, straight into W with BLAS (each member for a share of the units; with W
/// kept transposed, below, x^T (-learningRate * dz) into W^T, each member for a share of
/// the inputs): no gradient buffer is written, summed or read back, which is four passes
/// over the largest matrix per batch. It is done only when the step is proven to stay
/// finite: a bound on |W| (kept from step to step) plus learningRate * rows * max|dz| *
/// max|x| must be far below Float's largest value, and the other parameters' new values are
/// checked before anything is written. Otherwise the step takes the checked way above, and
/// the bound is measured again from W.
///
/// While a training call's mini-batches run, a first layer of fewer than 2^18 weights (of any
/// size where libxsmm's kernels are AVX-512) is kept transposed, as W^T
/// (`transposesFirstWeights`, `mbm_training_transposes_first_weights`):
/// its forward product is then x (W^T), which libxsmm runs without packing W (OpenBLAS
/// packs it on every call), and its gradient is made as dW^T = x^T dz, in the same layout.
/// The update rules work element by element, on the parameters, the gradient and the
/// rule's state alike, so they run unchanged on that layout. `arrangeFirstWeights` puts W,
/// its kept previous values and the rule's state for it into that layout before an epoch's
/// first batch and back after its last (or a failure): everything outside the batches
/// (validation, early stopping, the progress callback, the distributed epoch's end, the
/// caller) sees the model's own layout.
///
/// The update is in TrainingStep+Update.swift, what each member runs in each phase in
/// TrainingStep+Members.swift.
final class TrainingStep {
    /// Rows below which a batch is not split further. With libxsmm running d input and dW
    /// (230-250 GFLOP/s from 4 rows up on one Zen 5 core), two shards of 4 rows train
    /// faster than one batch of 8 on one thread (784-128-10, 2 threads: 0.12 s against
    /// 0.17 s an epoch of 16,384 rows at batch 8; 8-row shards: 15-20 % faster than one
    /// shard at batches 16 and 24; batches 32 and up unchanged). Measured with the backend
    /// of Sources/CMatrix (libxsmm 1.17, OpenBLAS 0.3.34); with Debian's OpenBLAS 0.3.21
    /// alone the rule was 16 rows.
    static let minimumShardRows = 4
    /// The same for a first layer that takes the fused update, which passes over its weights
    /// once per shard: more shards of fewer rows cost more than they share (784-512-10 and
    /// 784-1024-10: 16-row shards 4-11 % slower, 32-row shards 0-4 %).
    static let minimumFusedShardRows = 64
    /// The least work (rows times parameters and inputs) of a shard is this plus
    /// `shardWorkPerParameter` times the parameters: the layout's rule (the header's), on
    /// which the weights depend. A second shard pays a hand-over to another thread (about
    /// this much work) and one more gradient to sum into the update (a few passes over the
    /// parameters); below that it costs more than it shares.
    ///
    /// Measured on the Zen 3 (2 vCPUs), an epoch at 2 threads, two shards against one
    /// (`bench/shard_work.py` on the build before this rule; `bench/runs/zen3/shard-work.txt`):
    /// two shards first paid at about 70,000 work a batch at 20-16-2 (386 parameters),
    /// 80,000 at 64-32-4 (2,212), 150,000 at 100-64-10 (7,114), 230,000 at 784-32-10
    /// (25,450), and at 8 rows (820,000, the fewest `minimumShardRows` allows) at
    /// 784-128-10 (101,770: 0.79-0.93 of one shard's time). The rule puts two shards at
    /// 2 (32,768 + 3 P): 73,000, 79,000, 108,000, 218,000 and 676,000 for those models.
    /// Below the crossing two shards cost up to 1.3 times one (64-32-4 at batch 8: 8.1
    /// against 6.2 ms an epoch of 20,000 rows); above it they save up to 0.4 of one. The
    /// rule before (8,192 work a shard, no parameter term, never measured) cut such small
    /// batches in two, and ran them on the calling thread below 2^16 work a batch; that
    /// second rule went with it (no batch of two shards has less work now). W1
    /// (784-128-10) is cut as before: `minimumShardRows` binds first at every batch size.
    static let minimumShardWork = 1 << 15
    static let shardWorkPerParameter = 3
    /// Parameters below which the update runs on one thread (measured on the Zen 5, 1 MiB
    /// of L2: from 16,384 rather than 32,768, about 2 % faster at a hidden width of 32).
    static let minimumSplitUpdate = 16384
    /// Floats of the first layer's weight gradient made and applied as one block when a
    /// step takes the checked way (256 KiB: a quarter of the Zen 5's 1 MiB L2, where it was
    /// chosen; half of the Zen 3's 512 KiB), at most `firstWeightBlockMaximumRows` rows of
    /// the matrix; the fused update's products run on the same blocks (the members' shares
    /// are whole blocks: `forEachFirstWeightBlock`).
    static let firstWeightBlockFloats = 65536
    /// At most this many rows of the matrix to a block, so that the members' shares of whole
    /// blocks stay even (784 inputs: 17 blocks; 48 rows are 8 of the 6-row blocks libxsmm's
    /// AVX-512 kernels cut a product's m into).
    static let firstWeightBlockMaximumRows = 48
    /// The largest bound on the first layer's |W| a fused update may reach (Float's
    /// largest value is about 2^128; the margin covers the rounding of any sum order).
    var fusedBound = 0x1p120
    /// First-layer weights below which the update is not fused: a matrix that stays in a
    /// core's L2 (1 MiB on the Zen 5 it was measured on) costs little to update, and the
    /// fused products read every shard's x (measured there: 3 % slower at 784-128-10, batch
    /// 512; 10 % faster at 784-1024-10).
    static let minimumFusedWeights = 1 << 18
    let network: Network
    let team: Team
    /// One per shard this process computes (`localShards`): its rows' activations and
    /// gradient.
    let workspaces: [Workspace]
    /// The layout: the most shards a batch is cut into (`shards(rows:network:team:)`), over
    /// all ranks. The weights depend on it, never on the threads.
    let layout: Int
    /// The other ranks, when training is distributed (see `Collective`).
    let collective: Collective?
    /// Each local shard's summed cost; the gradient buffers the update reads (the local
    /// shards', or after a distributed exchange every shard's, or the ranks' sum); each
    /// member's slice of the update is finite.
    let costs: UnsafeMutablePointer<Double>
    let gradients: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    let finite: UnsafeMutablePointer<Bool>
    /// What stopped each local shard of the last gradient: its rows could not be had,
    /// or (when values are checked) hold a NaN or Inf.
    let failures: UnsafeMutablePointer<MiniBatchError?>
    /// Whether the gradient checks X's values as it reads them (`checkValues`).
    var checksValues = false
    /// The parameter buffer that is not the network's current one.
    var spare: UnsafeMutablePointer<Float>
    /// The plain path's rule; its rate is the epoch's (`rate`).
    var rule: GradientDescent
    /// The learning rate of the current epoch (of the current batch with
    /// `TrainingOptions.schedulePerBatch`), set before the batch's gradient.
    var rate: Float {
        get { rule.learningRate }
        set { rule.learningRate = newValue }
    }
    /// The update rule and gradient terms of the general path (`TrainingOptions.updateRule`).
    let optimizer: Optimizer
    /// The momentum or beta1 of the current step when the schedule cycles it
    /// (`Schedule.momentum`), set with `rate`; nil: the rule's own.
    var momentum: Float?
    let l2: Float
    let clipNorm: Float
    /// Value clipping's bound, +Inf for none (`GradientTerms.clip`).
    let clipValue: Float
    /// PyTorch's coupled weight_decay (`TrainingOptions.coupledWeightDecay`, `GradientTerms.decay`).
    let coupledWeightDecay: Float
    /// Whether the members flush subnormals to zero while they work (`work`).
    let flushesDenormals: Bool
    /// For tests: where each member ORs its FTZ and DAZ bits in every phase
    /// (`SubnormalMode.bits`), one Int32 a member; nil (the default) records nothing.
    var subnormalModes: UnsafeMutablePointer<Int32>?
    /// The hidden layers' dropout (nil: none), and the epoch it draws for (the model's
    /// epochs trained when the epoch started).
    let dropout: Dropout?
    var epoch = 0
    /// Whether the step takes the plain gradient descent path (`GradientDescent`).
    let plain: Bool
    /// The rule's state (the network's) and the buffers its next state is written into.
    let state: TrainingState
    var stateSpares: [UnsafeMutablePointer<Float>] = []
    /// The flat layout's weight and bias ranges, in order (L2 applies to weights only).
    let segments: [(range: Range<Int>, isWeight: Bool)]
    /// The sums of squares of the gradient's `normParts` parts (clipping): a fixed number of
    /// parts, so that the norm does not depend on the threads.
    let norms: UnsafeMutablePointer<Double>
    static let normParts = 64
    /// The terms of the current update.
    var terms = GradientTerms()
    /// NAdam's product of momentum factors, kept from one step to the next, and the current
    /// step's (`NAdamRule.MomentumProducts`).
    var momentumProducts = NAdamRule.MomentumProducts()
    var momentumProduct = 1.0
    /// Gradient buffers the rule sums (`sumShards` leaves one of more than two).
    var ruleShards = 1
    /// The divisor of the last batch's mean: its rows, or its total sample weight.
    var normalizer = 1.0
    /// The divisor of the L2 term: the batch's rows, or the caller's total weight
    /// (`Weighting.penaltyTotal`: `normalizer` unless the weights were scaled).
    var penaltyNormalizer = 1.0
    /// Shards of the last gradient (over all ranks), and the gradient buffers the update reads.
    var shardsUsed = 1
    var updateShards = 1
    /// The shards of the last gradient this process computed (all of them, alone).
    var local = 0..<1
    /// Whether the first layer's weights can take the fused update (the layered path, with
    /// at least `minimumFusedWeights` of them).
    private let fusesFirstWeights: Bool
    /// Whether the batches run with the first layer's W kept transposed (the type's notes),
    /// and whether it is so now.
    let transposesFirstWeights: Bool
    private(set) var firstWeightsTransposed = false
    /// The last gradient left the first layer's dW to the update: its input rows and row
    /// count (nil when the gradient made dW).
    var pending: (input: UnsafePointer<Float>, rows: Int)?
    /// Each shard's largest |x| and first-layer |dz| in the last such gradient.
    let inputMagnitudes: UnsafeMutablePointer<Magnitude?>
    let deltaMagnitudes: UnsafeMutablePointer<Magnitude>
    /// A bound on the first layer's |W|: measured, then raised by each fused update.
    var weightBound = 0.0
    /// Updates of the last training call that were fused (for tests).
    var fusedUpdates = 0
    /// Whether the parameters (and the rule's state) before the last update are still in the
    /// spare buffers: after an update that switched buffers, until the next update writes
    /// them (a fused update changes the weights in place and keeps none).
    var keepsPrevious = false

    /// Whether `network`'s first-layer weights can take the fused update: the layered path,
    /// with at least `minimumFusedWeights` of them.
    static func fusesFirstWeights(_ network: Network) -> Bool {
        !network.trainsRowByRow && network.layers[0].nOut * network.layers[0].nIn >= minimumFusedWeights
    }

    /// Whether training keeps `network`'s first-layer W transposed while its batches run (the
    /// type's notes): the layered path, and the backend's rule
    /// (`mbm_training_transposes_first_weights`: a W of fewer than 2^18 floats, or of any
    /// size with libxsmm's AVX-512 kernels). From 2^18 weights the first layer may also take
    /// the fused update, in either layout.
    /// Distributed, the ranks sum their gradients element by element, so they must hold W in
    /// the same layout: from 2^18 weights that depends on each rank's libxsmm kernels, and
    /// the ranks compare it before the first step (`Fingerprint`).
    static func transposesFirstWeights(_ network: Network) -> Bool {
        !network.trainsRowByRow && network.layers[0].trainsTransposed
    }

    /// Puts the first layer's W into training's layout (`transposed`: W^T, when
    /// `transposesFirstWeights`) or back into the model's: in the parameters, in the previous
    /// parameters while they are kept for a roll-back, and in the rule's state and its kept
    /// previous state. Two transposes of W per epoch, through the first workspace's gradient
    /// buffer, which no batch is using then.
    func arrangeFirstWeights(transposed: Bool) {
        guard transposesFirstWeights, transposed != firstWeightsTransposed else { return }
        firstWeightsTransposed = transposed
        let first = network.layers[0]
        let scratch = workspaces[0].gradients!
        // No array of the buffers: nothing is allocated per epoch.
        func arrange(_ buffer: UnsafeMutablePointer<Float>) {
            first.transposeWeights(buffer, into: scratch, toTraining: transposed)
            (buffer + first.weightOffset).update(from: scratch + first.weightOffset, count: first.nOut * first.nIn)
        }
        arrange(network.parameters)
        for k in 0..<state.slots.count { arrange(state.slots[k]) }
        guard keepsPrevious else { return }
        arrange(spare)
        if !plain { for k in 0..<stateSpares.count { arrange(stateSpares[k]) } }
    }

    /// - Parameter collective: the other ranks, when training is distributed; its buffers
    ///   are made here.
    init(
        for network: Network, partition: Partition, options: TrainingOptions, collective: Collective? = nil
    ) throws(MiniBatchError) {
        self.network = network
        self.collective = collective
        optimizer = options.updateRule
        l2 = options.l2
        clipNorm = options.clipNorm
        clipValue = options.clipValue > 0 ? options.clipValue : .infinity
        coupledWeightDecay = options.coupledWeightDecay
        flushesDenormals = options.flushesDenormals
        dropout = network.trainsRowByRow ? nil : Dropout(rate: options.dropout, seed: options.seed)
        plain = options.updateRule == .gradientDescent && options.l2 == 0 && options.clipNorm == 0 && options.clipValue == 0
            && options.coupledWeightDecay == 0
            && !options.generalPath
        // The fused update reads every shard's rows and dz: not across ranks.
        fusesFirstWeights = plain && collective == nil && TrainingStep.fusesFirstWeights(network)
        rule = GradientDescent(learningRate: options.learningRate)
        state = network.trainingState
        try state.prepare(options.updateRule.kind, initial: options.updateRule.initialState)
        // Arrays get their capacity first: one grown by appending reallocates when the
        // allocator's block is full, which depends on the allocator's state (glibc's block
        // may be larger than asked), so a call's count of allocations would too (the
        // benchmark counts them: 71 or 73 in a call of one epoch at batch 32, with the same
        // data and order).
        var segments: [(range: Range<Int>, isWeight: Bool)] = []
        segments.reserveCapacity(2 * network.layers.count)
        for layer in network.layers {
            segments.append((layer.weightOffset..<(layer.weightOffset + layer.nOut * layer.nIn), true))
            segments.append((layer.biasOffset..<(layer.biasOffset + layer.nOut), false))
        }
        self.segments = segments
        // A workspace for each shard this process computes of the largest batch (the last
        // batch may be smaller), and a member for each, up to the threads asked for.
        let layout = TrainingStep.layout(options)
        self.layout = layout
        let (counts, capacity) = TrainingStep.workspaceShape(
            network, partition: partition, team: layout, mayFuse: fusesFirstWeights && !partition.isWholeBatch)
        let localCounts = counts.map { collective?.owned($0).count ?? $0 }
        transposesFirstWeights =
            !network.trainsRowByRow
            && (options.transposingFirstWeights ?? TrainingStep.transposesFirstWeights(network))
        let workspaceCount = max(1, localCounts.max()!)
        var workspaces: [Workspace] = []
        workspaces.reserveCapacity(workspaceCount)
        for _ in 0..<workspaceCount {
            let workspace = try Workspace(
                for: network, capacity: capacity, backward: true, firstWeightsTransposed: transposesFirstWeights,
                dropout: dropout != nil)
            workspace.labelSmoothing = Float(options.labelSmoothing)
            workspaces.append(workspace)
        }
        self.workspaces = workspaces
        let size = workspaces.count
        let members = max(1, min(size, TrainingStep.teamSize(options)))
        let pointers = max(size, counts.max()!)
        try collective?.prepare(parameterCount: network.parameterCount, shards: counts.max()!)
        spare = try allocate(Float.self, count: network.parameterCount, for: "the updated parameters")
        stateSpares.reserveCapacity(state.slots.count)
        for _ in state.slots {
            do {
                stateSpares.append(try allocate(Float.self, count: network.parameterCount, for: "the update rule's next state"))
            } catch {
                deallocate(spare)
                for slot in stateSpares { deallocate(slot) }
                throw error
            }
        }
        norms = .allocate(capacity: TrainingStep.normParts)
        costs = .allocate(capacity: size)
        finite = .allocate(capacity: size)
        failures = .allocate(capacity: size)
        failures.initialize(repeating: nil, count: size)
        inputMagnitudes = .allocate(capacity: size)
        inputMagnitudes.initialize(repeating: nil, count: size)
        deltaMagnitudes = .allocate(capacity: size)
        deltaMagnitudes.initialize(repeating: Magnitude(), count: size)
        gradients = .allocate(capacity: pointers)
        for t in 0..<size { gradients[t] = workspaces[t].gradients! }
        finite.initialize(repeating: true, count: members)
        do {
            team = try Team.borrow(size: members)
        } catch {
            deallocate(spare)
            for slot in stateSpares { deallocate(slot) }
            norms.deallocate()
            costs.deallocate()
            finite.deallocate()
            failures.deinitialize(count: size)
            failures.deallocate()
            inputMagnitudes.deallocate()
            deltaMagnitudes.deallocate()
            gradients.deallocate()
            throw error
        }
        // OpenBLAS runs on its caller's thread while training runs, one member or many:
        // OpenBLAS's threaded products allocate on every call (0.3.21 and 0.3.34 alike), and
        // a batch that one thread trains is too small for its threads to pay (see
        // `minimumShardRows`).
        BLASThreads.acquire()
        job = { [unowned self] t in self.work(t) }
        measureWeights()
    }

    /// Leaves the network's parameters in its own buffer and frees the rest.
    func finish() {
        arrangeFirstWeights(transposed: false)
        team.giveBack()
        BLASThreads.release()
        if network.parameters != network.storage {
            network.storage.update(from: network.parameters, count: network.parameterCount)
            spare = network.parameters
            network.parameters = network.storage
        }
        deallocate(spare)
        for slot in stateSpares { deallocate(slot) }
        norms.deallocate()
        costs.deallocate()
        finite.deallocate()
        failures.deinitialize(count: workspaces.count)
        failures.deallocate()
        inputMagnitudes.deallocate()
        deltaMagnitudes.deallocate()
        gradients.deallocate()
    }

    /// Every parameter after the first layer's weights, which come first in the flat
    /// parameters (`Network`): its biases and the layers above.
    var otherParameters: Range<Int> {
        let first = network.layers[0]
        return (first.weightOffset + first.nOut * first.nIn)..<network.parameterCount
    }

    /// Rows of shard `s` of `rows` rows cut into `shardsUsed` shards.
    func shard(_ s: Int, of rows: Int) -> Range<Int> {
        Network.part(s, of: shardsUsed, in: 0..<rows)
    }

    /// Sets the bound on the first layer's |W| to its largest value now.
    func measureWeights() {
        guard fusesFirstWeights else { return }
        let first = network.layers[0]
        weightBound = Double(Magnitude(network.parameters + first.weightOffset, count: first.nOut * first.nIn).value)
    }

    /// Gathers batch `index` of `source` (`rows` rows), runs forward, the cost and backward,
    /// and returns the batch's mean cost; the gradient is left for `update`.
    ///
    /// Distributed, this process computes its own shards of the batch (`Collective.owned`)
    /// and exchanges them with the other ranks (`Collective.exchange`); a failure of any
    /// rank, here or pending from outside the batch, is thrown on every rank.
    func costAndGradient(_ source: BatchSource, batch index: Int, rows: Int) throws(MiniBatchError) -> Double {
        let shards = TrainingStep.shards(rows: rows, network: network, team: layout)
        shardsUsed = shards
        updateShards = shards
        local = collective?.owned(shards) ?? 0..<shards
        var failure = collective?.pending
        collective?.pending = nil
        if failure == nil {
            do {
                try computeShards(source, batch: index, rows: rows)
            } catch {
                failure = error
            }
        }
        guard let collective else {
            if let failure { throw failure }
            var sum = 0.0
            for t in 0..<shards { sum += costs[t] }
            return sum / normalizer
        }
        let workspaces = self.workspaces
        switch collective.mode {
        case .deterministic:
            let sum = try collective.exchange(
                shards: shards, local: local, localGradients: { UnsafePointer(workspaces[$0].gradients!) },
                costs: costs, failed: failure != nil, into: gradients)
            guard let sum else { return try disagree(collective, failure) }
            return sum / normalizer
        case .fast:
            let sum = try collective.exchange(
                localShards: local.count, localGradients: { UnsafePointer(workspaces[$0].gradients!) }, costs: costs,
                failed: failure != nil)
            guard let sum else { return try disagree(collective, failure) }
            gradients[0] = sum.gradient
            updateShards = 1
            return sum.cost / normalizer
        }
    }

    /// Some rank failed: every rank throws the first failing rank's error.
    private func disagree(_ collective: Collective, _ failure: MiniBatchError?) throws(MiniBatchError) -> Double {
        try collective.agree(failure)
        throw Collective.notAgreed
    }

    /// The gradients of this process's shards of batch `index` (`local`).
    private func computeShards(_ source: BatchSource, batch index: Int, rows: Int) throws(MiniBatchError) {
        // Models without a hidden layer read each row where it is: no gather.
        let inPlace = network.trainsRowByRow ? source.rowsInPlace(index) : nil
        let input: UnsafePointer<Float>, targets: Targets
        if let inPlace {
            (input, targets) = (inPlace.x, inPlace.targets)
        } else {
            (input, targets) = try source.batch(index)
        }
        let fused = fusesFirstWeights && inPlace == nil && source.measuresRows
        let weighting = source.weighting(index, rows: rows, inPlace: inPlace != nil)
        normalizer = weighting?.total ?? Double(rows)
        penaltyNormalizer = weighting?.penaltyTotal ?? Double(rows)
        batch = Batch(source: source, index: index, rows: rows, shards: shardsUsed, inPlace: inPlace,
                      input: input, targets: targets, fused: fused, weighting: weighting,
                      dropoutKey: dropout?.batchKey(epoch: epoch, batch: index) ?? 0)
        pending = fused ? (input, rows) : nil
        defer { batch = nil }
        run(.gradient, members: min(local.count, team.size))
        var first: MiniBatchError?
        for i in 0..<local.count where failures[i] != nil {
            if first == nil { first = failures[i] }
            failures[i] = nil
        }
        if let first { throw first }
    }

    /// The rows (counted within the batch) this process computes of a batch of `rows` rows:
    /// all of them alone, its shards' when distributed.
    func ownRows(ofBatch rows: Int) -> Range<Int> {
        guard let collective else { return 0..<rows }
        let shards = TrainingStep.shards(rows: rows, network: network, team: layout)
        let mine = collective.owned(shards)
        guard !mine.isEmpty else { return 0..<0 }
        return Network.part(mine.lowerBound, of: shards, in: 0..<rows).lowerBound
            ..< Network.part(mine.upperBound - 1, of: shards, in: 0..<rows).upperBound
    }

    /// Throws the first NaN or Inf of X in batch `index` of `source`, if values are checked.
    ///
    /// Rows read in place are not checked as they are read (it would cost a pass over
    /// them): a non-finite value there makes the gradient non-finite (every product with
    /// it is NaN or infinite, and so is any sum it enters), so the training loop calls this
    /// when a batch's cost or update is not finite. Gathered rows are checked as they are
    /// copied (`BatchSource.fillMeasured`).
    ///
    /// Distributed, each rank searches its own rows, and every rank throws the first rank's
    /// find (or returns when no rank found one).
    func checkValues(_ source: BatchSource, batch index: Int, rows: Int) throws(MiniBatchError) {
        guard let collective else {
            if checksValues, let bad = source.nonFinite(index, rows: 0..<rows) { throw bad.error }
            return
        }
        let mine = ownRows(ofBatch: rows)
        try collective.agree(checksValues && !mine.isEmpty ? source.nonFinite(index, rows: mine)?.error : nil)
    }

    // The members' work (TrainingStep+Members.swift): the phase they run, the batch of a
    // gradient phase, and `member` as a closure made once (one made per batch would
    // allocate per batch).
    var phase = Phase.gradient
    var batch: Batch?
    var job: ((Int) -> Void)?
}
