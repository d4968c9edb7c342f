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
    /// `Schedule.plateau`'s rate, best value and counts.
    var plateau = PlateauState()
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
            && badEpochs == 0 && bestParameters == nil && plateau.isFresh
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
        plateau = PlateauState()
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
        plateau = other.plateau
        monitor = other.monitor
        best = other.best
        badEpochs = other.badEpochs
        bestEpoch = other.bestEpoch
    }
}

/// `Schedule.plateau`'s state between epochs: PyTorch's `ReduceLROnPlateau`'s lr (of the
/// one parameter group), best, num_bad_epochs and cooldown_counter. Kept by the network and
/// its file (section "PLAT"), beside early stopping's, which counts by its own rule.
struct PlateauState: Equatable {
    /// The rate the schedule has reduced the base rate to (nil: not yet), in Double, as
    /// PyTorch keeps a group's lr; rounded to Float once for each epoch.
    var rate: Double?
    /// What the best is a value of; a call that monitors another starts the best and the
    /// counts afresh (the rate stays).
    var monitor = EarlyStopping.Monitor.cost
    /// The best monitored value, as a cost (a score negated; +infinity: none yet).
    var best = Double.infinity
    /// Epochs in a row not better than the best (held at 0 during a cooldown).
    var badEpochs = 0
    /// Epochs of cooldown left.
    var cooldown = 0

    var isFresh: Bool { self == PlateauState() }

    /// Starts the best and the counts afresh when the monitored value changes.
    mutating func watch(_ monitor: EarlyStopping.Monitor) {
        guard monitor != self.monitor else { return }
        self = PlateauState(rate: rate, monitor: monitor)
    }

    /// `ReduceLROnPlateau.step(value)` after an epoch whose monitored value, as a cost, is
    /// `cost`, for the schedule `.plateau(...)` with the base rate `base` (anything else:
    /// nothing changes). The comparisons are PyTorch's in its mode ('max' for a score,
    /// whose negation is exact): a NaN is never better.
    mutating func step(_ cost: Double, schedule: Schedule, base: Float) {
        guard case .plateau(let factor, let patience, let threshold, let mode, let cooldownEpochs, let minimum, let eps)
            = schedule else { return }
        let limit: Double
        switch mode {
        case .relative: limit = best * (monitor == .validationScore ? 1 + threshold : 1 - threshold)
        case .absolute: limit = best - threshold
        }
        if cost < limit {
            best = cost
            badEpochs = 0
        } else {
            badEpochs = badEpochs.addingSaturated(1)
        }
        if cooldown > 0 {
            cooldown -= 1
            badEpochs = 0
        }
        guard badEpochs > patience else { return }
        let old = rate ?? Double(base)
        let new = max(old * factor, minimum)
        if old - new > eps { rate = new }
        cooldown = cooldownEpochs
        badEpochs = 0
    }
}
