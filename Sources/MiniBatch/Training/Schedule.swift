#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The learning rate of each epoch, from the base rate (`TrainingOptions.learningRate`).
///
/// Epochs are counted over the network's life from 0 (`Network.epochsTrained` when the
/// epoch starts), so a run continued by a second training call, or resumed from a saved
/// file, follows the schedule of one run. The rate is computed in Double and rounded once.
public enum Schedule: Sendable, Equatable {
    /// rate.
    case constant
    /// rate * gamma^floor(e / every) (PyTorch's `StepLR`).
    case step(every: Int = 10, gamma: Double = 0.1)
    /// rate * gamma^e (PyTorch's `ExponentialLR`).
    case exponential(gamma: Double = 0.9)
    /// rate / (t + 1)^power, t the examples trained on before the epoch, over the network's
    /// life (scikit-learn's `invscaling`, power_t 0.5).
    case inverseTime(power: Double = 0.5)
    /// minimum + (rate - minimum) * (1 + cos(pi * e / period)) / 2 for e < period, then
    /// minimum (PyTorch's `CosineAnnealingLR` without restarts). Period 0: the epochs
    /// trained before the call plus the call's epochs (pass the total to resume a run).
    case cosine(period: Int = 0, minimum: Double = 0)
    /// rate * gamma^(the milestones <= e, each counted as often as it is given) (PyTorch's
    /// `MultiStepLR`); no milestones: rate. Since 0.7.0.
    case multiStep(milestones: [Int], gamma: Double = 0.1)
    /// Cosine annealing with warm restarts (PyTorch's `CosineAnnealingWarmRestarts`):
    /// minimum + (rate - minimum) * (1 + cos(pi * c / T)) / 2, where the epochs are cut into
    /// cycles of period, period * multiplier, period * multiplier^2, ... epochs, T the
    /// length of e's cycle and c the epochs since it began. Since 0.7.0.
    case cosineRestarts(period: Int, multiplier: Int = 1, minimum: Double = 0)
    /// The one-cycle policy (Smith and Topin, 2018; PyTorch's `OneCycleLR` with two phases
    /// and cosine annealing, and its defaults but `cycle_momentum`): over N steps (an
    /// epoch each, or with `TrainingOptions.schedulePerBatch` a mini-batch each: N = period
    /// times the epoch's batches) the rate rises from rate / divFactor at step 0 to rate at
    /// step pctStart N - 1, then falls to rate / (divFactor finalDivFactor) at step N - 1,
    /// and stays there (`Schedule.oneCycle`: with pctStart N < 1 step 0 is already
    /// falling; with pctStart 1 step N - 1 is the peak, and later steps the last rate).
    /// Period 0: as cosine's. Since 0.9.0.
    ///
    /// `cycleMomentum` (since 0.10.0; false by default, where PyTorch's default is true):
    /// the momentum moves against the rate, from maxMomentum at step 0 down to baseMomentum
    /// at the peak and back up to maxMomentum at step N - 1, with the same phases and
    /// annealing (`momentum(epoch:batch:of:defaultPeriod:)`): SGD's and RMSprop's momentum,
    /// or beta1 of Adam, AdamW, Adamax and RAdam, replaced (`TrainingOptions.updateRule`;
    /// plain SGD and RMSprop get momentum, as PyTorch's). Adagrad and Adadelta have neither
    /// (PyTorch refuses them too) and NAdam's product of momenta would depend on their
    /// history, which the model does not keep: all three are refused.
    ///
    /// `threePhase` and `annealing` (since 0.10.0; PyTorch's `three_phase` and
    /// `anneal_strategy`): three phases, the rate up to its peak at step pctStart N - 1,
    /// back down to rate / divFactor at step 2 pctStart N - 2, then to the last rate at
    /// step N - 1 (the momentum down, back up, and held); and linear annealing,
    /// a + (b - a) p, in place of the cosine.
    case oneCycle(
        period: Int = 0, pctStart: Double = 0.3, divFactor: Double = 25, finalDivFactor: Double = 1e4,
        cycleMomentum: Bool = false, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95,
        threePhase: Bool = false, annealing: Annealing = .cosine)

    /// How one-cycle moves between its phases' ends (PyTorch's `anneal_strategy`).
    public enum Annealing: Int, Sendable {
        /// b + (a - b) (1 + cos(pi p)) / 2 ('cos', the default).
        case cosine = 0
        /// a + (b - a) p ('linear').
        case linear = 1
    }
    /// scikit-learn's `adaptive`: the rate stays until the monitored cost has not improved
    /// by `EarlyStopping.minDelta` for `patience` epochs, then is divided by 5; training
    /// stops when that would happen at a rate of 1e-6 or less.
    case adaptive
    /// PyTorch's `ReduceLROnPlateau(factor, patience, threshold, threshold_mode, cooldown,
    /// min_lr, eps)`, stepped after every epoch with the monitored value
    /// (`EarlyStopping.monitor`: the validation cost, else the epoch cost, in mode 'min';
    /// the validation score in mode 'max'). An epoch is better than the best when its value
    /// is below best * (1 - threshold) (`.relative`; a score: above best * (1 + threshold))
    /// or below best - threshold (`.absolute`; a score: above best + threshold); it then
    /// becomes the best and the count of bad epochs starts again, else the count grows.
    /// During a cooldown (the `cooldown` epochs after a reduction) the count is held at 0.
    /// When the count exceeds `patience`, the rate r becomes max(r * factor, minimum) if
    /// that lowers it by more than `eps`, the cooldown starts and the count too. The rate
    /// and the counts stay with the network (its file too), as early stopping's (once the
    /// rate is reduced, a later call's base rate is not used until the training state is
    /// reset); they are its own, beside early stopping's (which may stop the same run). A
    /// warm-up multiplies the rate, floored by `minimum` before it. Since 0.11.0.
    case plateau(
        factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4, thresholdMode: ThresholdMode = .relative,
        cooldown: Int = 0, minimum: Double = 0, eps: Double = 1e-8)

    /// PyTorch's `CyclicLR(base_lr: minimum, max_lr: rate, step_size_up: stepsUp,
    /// step_size_down: stepsDown ?? stepsUp, mode, gamma, cycle_momentum, base_momentum,
    /// max_momentum)` (Smith, 2017). Its steps are epochs, or with
    /// `TrainingOptions.schedulePerBatch` mini-batches (step s = e B + b, as one-cycle's),
    /// cut into cycles of stepsUp + stepsDown steps: in each the rate rises linearly from
    /// minimum over stepsUp steps, then falls back over stepsDown, its height (rate -
    /// minimum) times the mode's scale: 1 (`.triangular`), 1 / 2^(c - 1) in cycle c from 1
    /// (`.triangular2`), gamma^s (`.exponentialRange`). In Double, PyTorch's operations in
    /// its order. `cycleMomentum` (false by default, where PyTorch's default is true): the
    /// momentum or beta1 moves against the rate, maxMomentum - (maxMomentum -
    /// baseMomentum) times the same fraction and scale, on the rules `oneCycle`'s cycle
    /// takes (the same refusals). gamma is read (and checked, in (0, 1]: PyTorch also takes
    /// more, whose powers overflow) in `.exponentialRange` only. Past cycle 1024
    /// `.triangular2`'s scale is 0 (PyTorch raises an OverflowError there). Since 0.11.0.
    case cyclic(
        minimum: Double, stepsUp: Int = 2000, stepsDown: Int? = nil, mode: CyclicMode = .triangular,
        gamma: Double = 1, cycleMomentum: Bool = false, baseMomentum: Double = 0.8, maxMomentum: Double = 0.9)

    /// `cyclic`'s scale of each cycle's height (PyTorch's `mode`).
    public enum CyclicMode: Int, Sendable {
        /// 1 ('triangular', the default).
        case triangular = 0
        /// 1 / 2^(c - 1) in cycle c, from 1 ('triangular2').
        case triangular2 = 1
        /// gamma^s at step s ('exp_range').
        case exponentialRange = 2
    }

    /// How `plateau` measures an improvement (PyTorch's `threshold_mode`).
    public enum ThresholdMode: Int, Sendable {
        /// Better than best * (1 -/+ threshold) ('rel', the default).
        case relative = 0
        /// Better than best -/+ threshold ('abs').
        case absolute = 1
    }

    /// Whether a rate every mini-batch (`TrainingOptions.schedulePerBatch`) moves this
    /// schedule's own rate within an epoch.
    var movesWithinAnEpoch: Bool {
        switch self {
        case .constant, .step, .multiStep, .adaptive, .plateau: false
        case .exponential, .inverseTime, .cosine, .cosineRestarts, .oneCycle, .cyclic: true
        }
    }

    /// The smallest rate `adaptive` divides (scikit-learn's).
    static let adaptiveFloor = 1e-6
    /// What `adaptive` divides the rate by.
    static let adaptiveFactor: Float = 5

    /// The rate of epoch `epoch` (from 0 over the network's life), warmed up by `warmup`; at
    /// batch b of the epoch's B (`TrainingOptions.schedulePerBatch`) the rate at the
    /// fractional epoch e + b / B: the exponential, inverse-time (from its examples), cosine
    /// and cosine-with-restarts schedules and the warm-up move within the epoch, as
    /// PyTorch's schedulers stepped every iteration (`CosineAnnealingLR` with T_max = T * B,
    /// `LinearLR` with total_iters = W * B, `ExponentialLR` with gamma^(1/B),
    /// `CosineAnnealingWarmRestarts.step(e + b / B)`), and one-cycle and cyclic count steps
    /// of a batch (step e B + b, of T B for one-cycle); step and multi-step change only where
    /// e + b / B crosses an integer milestone, so only between epochs, and adaptive's and
    /// plateau's rates between epochs only.
    /// Batch 0 of B is the once-an-epoch rate (but for one-cycle and cyclic, whose steps are
    /// batches: step e B's).
    /// - Parameters:
    ///   - examplesSeen: examples trained on before the epoch, or before the batch with a
    ///     batch (for `inverseTime`).
    ///   - period: the cosine and one-cycle period when `period` is 0.
    ///   - adaptiveRate: the rate `adaptive` has reached, if it has divided it.
    ///   - plateauRate: the rate `plateau` has reduced the base rate to, if it has.
    ///   - warmup: the warm-up, whose factor multiplies the schedule's rate.
    func rate(
        base: Float, epoch: Int, batch: Int = 0, of batches: Int = 1, examplesSeen: Int, defaultPeriod: Int,
        adaptiveRate: Float?, plateauRate: Double? = nil, warmup: Warmup = Warmup()
    ) -> Float {
        let fraction = Double(batch) / Double(batches)
        let factor = warmup.factor(epoch: epoch, fraction: fraction)
        return Float(factor * unrounded(base: base, epoch: epoch, batch: batch, of: batches, examplesSeen: examplesSeen,
                                        defaultPeriod: defaultPeriod, adaptiveRate: adaptiveRate,
                                        plateauRate: plateauRate))
    }

    /// The schedule's rate in Double, before the warm-up and the one rounding to Float (the
    /// constant and adaptive rates are Floats already, so that rounding keeps them; plateau's
    /// is kept in Double, as PyTorch keeps a group's lr).
    private func unrounded(
        base: Float, epoch: Int, batch: Int, of batches: Int, examplesSeen: Int, defaultPeriod: Int, adaptiveRate: Float?,
        plateauRate: Double?
    ) -> Double {
        let fraction = Double(batch) / Double(batches)
        let rate = Double(base), e = Double(epoch) + fraction
        switch self {
        case .constant:
            return rate
        case .step(let every, let gamma):
            // floor((epoch + fraction) / every) with fraction < 1: floor(epoch / every)
            return rate * pow(gamma, Double(epoch / every))
        case .exponential(let gamma):
            return rate * pow(gamma, e)
        case .inverseTime(let power):
            return rate / pow(Double(examplesSeen) + 1, power)
        case .cosine(let period, let minimum):
            let t = Double(period > 0 ? period : defaultPeriod)
            guard e < t else { return minimum }
            return minimum + (rate - minimum) * (1 + cos(Double.pi * e / t)) / 2
        case .adaptive:
            return Double(adaptiveRate ?? base)
        case .plateau:
            return plateauRate ?? Double(base)
        case .cyclic(let minimum, let up, let down, let mode, let gamma, _, _, _):
            let step = Schedule.step(epoch: epoch, batch: batch, of: batches)
            let (fraction, scale) = Schedule.cyclic(step: step, up: up, down: down ?? up, mode: mode, gamma: gamma)
            return minimum + (rate - minimum) * fraction * scale
        case .multiStep(let milestones, let gamma):
            // Integer milestones: k <= epoch + fraction exactly when k <= epoch.
            return rate * pow(gamma, Double(milestones.count { $0 <= epoch }))
        case .cosineRestarts(let period, let multiplier, let minimum):
            // The cycles begin at integer epochs: epoch's cycle holds epoch + fraction.
            let (since, length) = Schedule.cycle(epoch: epoch, period: period, multiplier: multiplier)
            return minimum + (rate - minimum) * (1 + cos(Double.pi * (Double(since) + fraction) / length)) / 2
        case .oneCycle(let period, let pctStart, let divFactor, let finalDivFactor, _, _, _, let three, let annealing):
            let (step, steps) = Schedule.oneCycleStep(epoch: epoch, batch: batch, of: batches, period: period,
                                                      defaultPeriod: defaultPeriod)
            let initial = rate / divFactor
            let last = initial / finalDivFactor
            return Schedule.oneCycle(
                step: step, steps: steps, pctStart: pctStart, annealing: annealing, phases: three ? 3 : 2,
                values: three ? SIMD4(initial, rate, initial, last) : SIMD4(initial, rate, last, last))
        }
    }

    /// The momentum (SGD's, RMSprop's) or beta1 (Adam's, AdamW's, Adamax's, RAdam's) of
    /// epoch `epoch`, batch `batch` of `batches` (as `rate`), when the schedule cycles it
    /// (`oneCycle` or `cyclic` with `cycleMomentum`), else nil, in Double, rounded to Float
    /// once: one-cycle's maxMomentum at step 0, baseMomentum at the rate's peak,
    /// maxMomentum again at the end of the next phase and after (PyTorch's `OneCycleLR` with
    /// `cycle_momentum=True`); cyclic's maxMomentum - (maxMomentum - baseMomentum) times the
    /// rate's fraction and the mode's scale (PyTorch's `CyclicLR`).
    func momentum(epoch: Int, batch: Int = 0, of batches: Int = 1, defaultPeriod: Int) -> Float? {
        if case .cyclic(_, let up, let down, let mode, let gamma, true, let base, let top) = self {
            let step = Schedule.step(epoch: epoch, batch: batch, of: batches)
            let (fraction, scale) = Schedule.cyclic(step: step, up: up, down: down ?? up, mode: mode, gamma: gamma)
            return Float(top - (top - base) * fraction * scale)
        }
        guard case .oneCycle(let period, let pctStart, _, _, true, let base, let top, let three, let annealing) = self else {
            return nil
        }
        let (step, steps) = Schedule.oneCycleStep(epoch: epoch, batch: batch, of: batches, period: period,
                                                  defaultPeriod: defaultPeriod)
        return Float(Schedule.oneCycle(step: step, steps: steps, pctStart: pctStart, annealing: annealing,
                                       phases: three ? 3 : 2, values: SIMD4(top, base, top, top)))
    }

    /// The momentum cycle's ends (base, max) when the schedule cycles the momentum
    /// (`oneCycle` or `cyclic` with `cycleMomentum`), else nil.
    public var momentumCycle: (base: Double, max: Double)? {
        switch self {
        case .oneCycle(_, _, _, _, true, let base, let top, _, _), .cyclic(_, _, _, _, _, true, let base, let top):
            (base, top)
        default:
            nil
        }
    }

    /// `cyclic`'s fraction of the height at step s (PyTorch's scale_factor: x / ratio
    /// rising, (x - 1) / (ratio - 1) falling, x the position in the cycle c =
    /// floor(1 + s / (up + down)), ratio = up / (up + down)) and the mode's scale, each as
    /// PyTorch computes it.
    static func cyclic(step: Double, up: Int, down: Int, mode: CyclicMode, gamma: Double) -> (fraction: Double, scale: Double) {
        let total = Double(up) + Double(down)
        let cycle = (1 + step / total).rounded(.down)
        let x = 1.0 + step / total - cycle
        let ratio = Double(up) / total
        let fraction = x <= ratio ? x / ratio : (x - 1) / (ratio - 1)
        switch mode {
        case .triangular: return (fraction, 1)
        case .triangular2: return (fraction, 1 / pow(2.0, cycle - 1))
        case .exponentialRange: return (fraction, pow(gamma, step))
        }
    }

    /// One-cycle's step s = e B + b and its steps N = T B (T the period, or `defaultPeriod`
    /// for 0), in Double: exact below 2^53 (an epoch count times a batch count).
    private static func oneCycleStep(
        epoch: Int, batch: Int, of batches: Int, period: Int, defaultPeriod: Int
    ) -> (step: Double, steps: Double) {
        (step(epoch: epoch, batch: batch, of: batches), Double(period > 0 ? period : defaultPeriod) * Double(batches))
    }

    /// The step s = e B + b of batch b of epoch e's B (one-cycle's and cyclic's; with a rate
    /// an epoch, B = 1 and b = 0: s = e), in Double: exact below 2^53.
    private static func step(epoch: Int, batch: Int, of batches: Int) -> Double {
        Double(epoch) * Double(batches) + Double(batch)
    }

    /// PyTorch's `OneCycleLR`: values[0] at step 0, values[1] at the end of the first phase,
    /// step pctStart N - 1 (the rate's peak; the momentum's trough), values[2] at the end of
    /// the second, and with three `phases` values[3] at the end of the third (a vector, not an
    /// array: computed every mini-batch with `TrainingOptions.schedulePerBatch`, which
    /// allocates nothing);
    /// the phases end at pctStart N - 1 and N - 1, or with three at pctStart N - 1,
    /// 2 pctStart N - 2 and N - 1. Step s is in the first phase whose end is at or after it
    /// (the last phase past its end, where the value stays at the last); within a phase
    /// from a to b at fraction p of it, b + (a - b) (1 + cos(pi p)) / 2, or a + (b - a) p
    /// linear. A phase of length 0 or less (PyTorch divides by it: a ZeroDivisionError) is
    /// at its end. Past step N - 1 (where PyTorch raises) the value is the last one, also
    /// where three phases with pctStart above about 1/2 end the second phase after N - 1.
    static func oneCycle(
        step: Double, steps: Double, pctStart: Double, annealing: Annealing, phases: Int, values: SIMD4<Double>
    ) -> Double {
        if step > steps - 1 { return values[phases] }
        let ends = phases == 3
            ? SIMD3(pctStart * steps - 1, 2 * pctStart * steps - 2, steps - 1) : SIMD3(pctStart * steps - 1, steps - 1, 0)
        var start = 0.0, i = 0
        while step > ends[i] && i < phases - 1 {
            start = ends[i]
            i += 1
        }
        let length = ends[i] - start
        let p = length > 0 ? min((step - start) / length, 1) : 1
        let (a, b) = (values[i], values[i + 1])
        switch annealing {
        case .cosine: return b + (a - b) * (1 + cos(Double.pi * p)) / 2
        case .linear: return (b - a) * p + a
        }
    }

    /// Where epoch `epoch` falls in the cycles of period, period * multiplier, ... epochs
    /// (`cosineRestarts`): the epochs since its cycle began and the cycle's length, walked
    /// in integers (a cycle too long for Int holds every later epoch: its length is given
    /// in Double).
    static func cycle(epoch: Int, period: Int, multiplier: Int) -> (since: Int, length: Double) {
        if multiplier == 1 { return (epoch % period, Double(period)) }
        var start = 0, length = period
        while epoch - start >= length {
            start += length
            let (next, overflow) = length.multipliedReportingOverflow(by: multiplier)
            if overflow { return (epoch - start, Double(length) * Double(multiplier)) }
            length = next
        }
        return (epoch - start, Double(length))
    }
}

/// A linear warm-up of the learning rate over the network's first epochs (PyTorch's
/// `LinearLR(start_factor, total_iters: epochs)` chained before the schedule): epoch e's
/// rate is the schedule's times startFactor + (1 - startFactor) * min(e, epochs) / epochs,
/// e counted over the network's life from 0 as the schedule's, so a second call or a resumed
/// file goes on where the warm-up was. Computed in Double with the schedule's rate, rounded
/// to Float once. The adaptive and plateau schedules reduce their own rate, not the
/// warmed-up one. Since
/// 0.6.0.
public struct Warmup: Sendable, Equatable {
    /// Epochs the rate takes to reach the schedule's (0, the default: no warm-up).
    public var epochs: Int
    /// The fraction of the schedule's rate at epoch 0, in (0, 1] (PyTorch's default 1/3).
    public var startFactor: Double

    public init(epochs: Int = 0, startFactor: Double = 1.0 / 3) {
        self.epochs = epochs
        self.startFactor = startFactor
    }

    /// The factor of epoch `epoch` (from 0 over the network's life), at `fraction` of it
    /// (`Schedule.rate`).
    func factor(epoch: Int, fraction: Double = 0) -> Double {
        guard epochs > 0, epoch < epochs else { return 1 }
        return startFactor + (1 - startFactor) * (Double(epoch) + fraction) / Double(epochs)
    }
}

/// Stopping when the monitored value stops improving, and keeping the best weights.
///
/// The monitored value is, with `Monitor.cost` (the default), the validation cost when a
/// validation set is given, else the training epoch cost, lower being better; with
/// `Monitor.validationScore`, the validation score (accuracy, or R^2 for the regression
/// losses), higher being better (scikit-learn's MLP with `early_stopping`, Keras's
/// `monitor='val_accuracy'`). An epoch improves on the best when its value is better than
/// the best by more than `minDelta` (scikit-learn's `tol`); `patience` epochs in a row that
/// do not improve stop training (scikit-learn's `n_iter_no_change` N is patience N + 1: it
/// stops when the count exceeds N). With a validation set and `restoreBest`, the model ends
/// with the weights of its best epoch.
public struct EarlyStopping: Sendable, Equatable {
    /// What early stopping (and the adaptive schedule) watches.
    public enum Monitor: Int, Sendable, CaseIterable {
        /// The validation cost with a validation set, else the epoch cost: lower is better.
        case cost = 0
        /// The validation score: higher is better. Needs a validation set.
        case validationScore = 1
    }

    /// Epochs without improvement that stop training; 0 (the default): never stop early.
    public var patience: Int
    /// The improvement that counts (>= 0).
    public var minDelta: Double
    /// Restore the best epoch's weights when a validation set is given (default true).
    public var restoreBest: Bool
    /// The value watched (default `.cost`).
    public var monitor: Monitor

    public init(patience: Int = 0, minDelta: Double = 0, restoreBest: Bool = true, monitor: Monitor = .cost) {
        self.patience = patience
        self.minDelta = minDelta
        self.restoreBest = restoreBest
        self.monitor = monitor
    }
}
