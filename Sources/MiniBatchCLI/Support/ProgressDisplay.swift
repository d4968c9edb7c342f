#if canImport(Glibc)
import Glibc
#endif
import MiniBatch
import Synchronization

/// Seconds on the monotonic clock.
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// A Float's value as the shortest decimal that reads back as it (a learning rate of
/// 0.01, not 0.009999999776482582): the rates are Floats widened to Double.
func shortest(_ value: Double) -> Double {
    Double(Float(value).description) ?? value
}

/// A duration as m:ss or h:mm:ss.
func duration(_ seconds: Double) -> String {
    // (Beyond 2^53 s, about 285 million years, as unknown: Int(seconds) trapped from 2^63.)
    guard seconds.isFinite, seconds >= 0, seconds < 0x1p53 else { return "-:--" }
    let s = Int(seconds.rounded())
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return s >= 3600 ? "\(s / 3600):\(two(s / 60 % 60)):\(two(s % 60))" : "\(s / 60):\(two(s % 60))"
}

/// A rate: a whole number, or in thousands (k) or millions (M).
func compact(_ value: Double) -> String {
    guard value.isFinite else { return "-" }
    if value >= 1e6 { return fixed(value / 1e6, 2) + "M" }
    if value >= 1e4 { return fixed(value / 1e3, 1) + "k" }
    return fixed(value, 0)
}

/// `value` with `decimals` digits after the point.
func fixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (abs(value) * scale).rounded()
    // Beyond what an Int holds (a cost of 1e20 trapped here): as Swift writes a Double.
    guard rounded < 0x1p62 else { return "\(value)" }
    let whole = Int(rounded / scale)
    var text = "\(whole)"
    if decimals > 0 {
        let fraction = Int(rounded - Double(whole) * scale)
        let digits = "\(fraction)"
        text += "." + String(repeating: "0", count: decimals - digits.count) + digits
    }
    return (value < 0 && rounded != 0 ? "-" : "") + text
}

/// What a training run prints per epoch: on a terminal one line per epoch, refreshed every
/// second while an epoch runs longer than that; otherwise one JSON object per line (the
/// keys are listed in `minibatch-cli train --help`).
///
/// The epoch lines come from the training thread (the progress callback); the refresh from
/// a thread of its own, which reads the interrupt's count of mini-batches done.
final class ProgressDisplay: @unchecked Sendable {
    let format: ProgressFormat
    let interrupt: TrainingInterrupt
    let epochs: Int
    /// What the validation score is: accuracy, or R^2 for mean squared error.
    let scoreName: String

    private struct State {
        var start = 0.0
        var epochStart = 0.0
        var epochsDone = 0
        var batchesAtStart = 0
        var examplesAtEpochStart = 0
        var refreshed = false
        var running = true
    }

    private let state = Mutex(State())
    private var ticker: pthread_t?

    /// - Parameters:
    ///   - format: `text` or `json` (resolved), or `none`.
    ///   - epochs: the epochs of this run.
    ///   - loss: the model's (what its validation score is).
    init(format: ProgressFormat, interrupt: TrainingInterrupt, epochs: Int, loss: Loss) {
        self.format = format
        self.interrupt = interrupt
        self.epochs = epochs
        scoreName = loss.isRegression ? "R^2" : "accuracy"
    }

    /// Starts the clock (and, on a terminal, the refresh).
    func start() {
        let time = now(), batches = interrupt.batchesDone, examples = interrupt.examplesDone
        state.withLock {
            $0.start = time
            $0.epochStart = time
            $0.batchesAtStart = batches
            $0.examplesAtEpochStart = examples
        }
        guard format == .text else { return }
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { box in
            let display = Unmanaged<ProgressDisplay>.fromOpaque(box!).takeRetainedValue()
            display.refreshLoop()
            return nil
        }, box)
        ticker = thread
    }

    /// Stops the refresh and ends its line.
    func finish() {
        state.withLock { $0.running = false }
        if let ticker { pthread_join(ticker, nil) }
        ticker = nil
        state.withLock {
            if $0.refreshed {
                emit("\r\u{1B}[K")
                $0.refreshed = false
            }
        }
    }

    /// Seconds since `start()`.
    var elapsed: Double { now() - state.withLock { $0.start } }

    private func refreshLoop() {
        var ticks = 0
        while state.withLock({ $0.running }) {
            usleep(100_000)
            ticks += 1
            guard ticks % 10 == 0 else { continue }
            state.withLock { s in
                guard s.running else { return }
                let time = now()
                // Only epochs that take longer than a second are refreshed.
                guard time - s.epochStart >= 1 else { return }
                let perEpoch = interrupt.batchesPerEpoch
                guard perEpoch > 0 else { return }
                let done = interrupt.batchesDone - s.batchesAtStart
                let inEpoch = done - s.epochsDone * perEpoch
                let rate = Double(interrupt.examplesDone - s.examplesAtEpochStart) / (time - s.epochStart)
                // (In Double: epochs times batches per epoch passed Int.max and trapped.)
                let remaining = done > 0 ? (time - s.start) * (Double(epochs) * Double(perEpoch) - Double(done)) / Double(done) : .nan
                let line = "epoch \(s.epochsDone + 1)/\(epochs)  batch \(min(max(inEpoch, 0), perEpoch))/\(perEpoch)  \(compact(rate)) ex/s  elapsed \(duration(time - s.start))  remaining \(duration(remaining))"
                emit("\r" + line + "\u{1B}[K")
                s.refreshed = true
            }
        }
    }

    /// Prints epoch `progress` (called by the training loop after each epoch).
    func epoch(_ progress: Progress) {
        let time = now()
        let examples = interrupt.examplesDone
        state.withLock { s in
            let seconds = time - s.epochStart
            let rows = examples - s.examplesAtEpochStart
            let rate = seconds > 0 ? Double(rows) / seconds : .nan
            s.epochsDone = progress.epoch
            let elapsed = time - s.start
            let remaining = elapsed * Double(epochs - progress.epoch) / Double(progress.epoch)
            switch format {
            case .json:
                let fields: [(String, JSON)] = [
                    ("event", .string("epoch")), ("epoch", .int(progress.epoch)), ("epochs", .int(progress.epochs)),
                    ("epochs_trained", .int(progress.epochsTrained)), ("batches", .int(progress.batches)),
                    ("batch_size", .int(progress.batchSize)), ("examples", .int(rows)),
                    ("cost", .number(progress.epochCost)), ("last_batch_cost", .number(progress.lastBatchCost)),
                    ("validation_cost", .number(progress.validationCost)),
                    ("validation_score", .number(progress.validationScore)),
                    ("learning_rate", .number(shortest(progress.learningRate))), ("examples_per_second", .number(rate)),
                    ("epoch_seconds", .number(seconds)), ("elapsed_seconds", .number(elapsed)),
                    ("remaining_seconds", .number(remaining)),
                ]
                emit(JSON.object(fields).text + "\n")
            case .text:
                var line = "epoch \(progress.epoch)/\(progress.epochs)"
                if progress.epochsTrained != progress.epoch { line += " (\(progress.epochsTrained) in all)" }
                line += "  cost \(fixed(progress.epochCost, 6))"
                if progress.validationCost.isFinite {
                    line += "  validation \(fixed(progress.validationCost, 6))"
                    if progress.validationScore.isFinite { line += " (\(scoreName) \(fixed(progress.validationScore, 4)))" }
                }
                line += "  lr \(Float(progress.learningRate))  \(compact(rate)) ex/s  elapsed \(duration(elapsed))  remaining \(duration(remaining))"
                emit((s.refreshed ? "\r\u{1B}[K" : "") + line + "\n")
                s.refreshed = false
            case .auto, .none:
                break
            }
            s.epochStart = time
            s.examplesAtEpochStart = examples
        }
    }
}
