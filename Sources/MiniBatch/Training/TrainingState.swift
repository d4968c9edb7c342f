/// What training keeps in a network between calls, so that a second call continues the run
/// of the first, and a saved file resumes it exactly (`ModelFile`): the update rule's state,
/// the schedule's, and early stopping's.
final class TrainingState {
    let parameterCount: Int
    /// The rule whose state `slots` holds.
    private(set) var kind = Optimizer.Kind.gradientDescent
    /// Updates applied by that rule: the t of Adam's bias corrections.
    var step = 0
    /// (parameterCount) each: the rule's `Optimizer.slots(kind)` floats per parameter.
    var slots: [UnsafeMutablePointer<Float>] = []
    /// Examples trained on over the network's life (`Schedule.inverseTime`).
    var examplesSeen = 0
    /// The rate `Schedule.adaptive` has divided the base rate down to (nil: not yet).
    var adaptiveRate: Float?
    /// Early stopping: what it monitors, the best monitored value (as a cost, lower being
    /// better: a score is kept negated), the epochs in a row that have not improved on it,
    /// and the epoch (over the network's life, from 1) where it was reached.
    var monitor = EarlyStopping.Monitor.cost
    var best = Double.infinity
    var badEpochs = 0
    var bestEpoch = 0
    /// (parameterCount): the weights of `bestEpoch`, when they are kept.
    var bestParameters: UnsafeMutablePointer<Float>?

    init(parameterCount: Int) { self.parameterCount = parameterCount }

    /// Whether nothing has been recorded yet (a model file then needs no state sections).
    var isFresh: Bool {
        slots.isEmpty && step == 0 && examplesSeen == 0 && adaptiveRate == nil && best == .infinity
            && badEpochs == 0 && bestParameters == nil
    }

    deinit {
        for slot in slots { deallocate(slot) }
        deallocate(bestParameters)
    }

    /// Makes the state `kind`'s: kept if it already is, else fresh (every slot `initial`,
    /// 0 but for Adagrad's accumulator; step 0).
    func prepare(_ kind: Optimizer.Kind, initial: Float = 0) throws(MiniBatchError) {
        guard kind != self.kind || slots.count != Optimizer.slots(kind) else { return }
        var fresh: [UnsafeMutablePointer<Float>] = []
        for _ in 0..<Optimizer.slots(kind) {
            do {
                let slot = try allocate(Float.self, count: parameterCount, for: "the update rule's state")
                slot.initialize(repeating: initial, count: parameterCount)
                fresh.append(slot)
            } catch {
                for slot in fresh { deallocate(slot) }
                throw error
            }
        }
        for slot in slots { deallocate(slot) }
        slots = fresh
        self.kind = kind
        step = 0
    }

    /// Makes room for the best weights. When they were not kept before, early stopping's
    /// count starts afresh: the best cost so far belongs to weights that were not kept.
    func keepBest() throws(MiniBatchError) {
        if bestParameters == nil {
            bestParameters = try allocate(Float.self, count: parameterCount, for: "the best weights")
            best = .infinity
            badEpochs = 0
            bestEpoch = 0
        }
    }

    /// Makes early stopping's state `monitor`'s: kept if it already is, else its count
    /// starts afresh (a best cost is no best score).
    func watch(_ monitor: EarlyStopping.Monitor) {
        guard monitor != self.monitor else { return }
        self.monitor = monitor
        best = .infinity
        badEpochs = 0
        bestEpoch = 0
    }

    /// Forgets everything: the next training call starts as a new network's would (its
    /// weights and epoch count stay).
    func reset() {
        for slot in slots { deallocate(slot) }
        slots = []
        kind = .gradientDescent
        step = 0
        examplesSeen = 0
        adaptiveRate = nil
        monitor = .cost
        best = .infinity
        badEpochs = 0
        bestEpoch = 0
        deallocate(bestParameters)
        bestParameters = nil
    }

    /// A copy (for a training call's starting point, `Checkpoint`).
    func copy() throws(MiniBatchError) -> TrainingState {
        let other = TrainingState(parameterCount: parameterCount)
        try other.assign(self)
        return other
    }

    /// Becomes a copy of `other`.
    func assign(_ other: TrainingState) throws(MiniBatchError) {
        if kind != other.kind || slots.count != other.slots.count {
            for slot in slots { deallocate(slot) }
            slots = []
            kind = .gradientDescent
            for _ in other.slots {
                slots.append(try allocate(Float.self, count: parameterCount, for: "the update rule's state"))
            }
        }
        for (mine, theirs) in zip(slots, other.slots) { mine.update(from: theirs, count: parameterCount) }
        if let theirs = other.bestParameters {
            try keepBest()  // (its reset of the count is overwritten below)
            bestParameters!.update(from: theirs, count: parameterCount)
        } else {
            deallocate(bestParameters)
            bestParameters = nil
        }
        kind = other.kind
        step = other.step
        examplesSeen = other.examplesSeen
        adaptiveRate = other.adaptiveRate
        monitor = other.monitor
        best = other.best
        badEpochs = other.badEpochs
        bestEpoch = other.bestEpoch
    }
}
