#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MiniBatch

/// Where a run's model and history go, and how it reports.
struct OutputOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Write the history here as JSON: batch_costs, epoch_costs, validation_costs, validation_scores, learning_rates (this run's; null where there is none).",
        valueName: "history.json"))
    var history: String?

    @Option(help: ArgumentHelp(
        "What is printed per epoch: auto (text on a terminal, json otherwise), text (one line per epoch, refreshed every second in long epochs), json (one object per line: see the discussion above), none.",
        valueName: "format"))
    var progress: ProgressFormat = .auto

    /// `auto` resolved by whether standard output is a terminal.
    var format: ProgressFormat {
        progress == .auto ? (isatty(STDOUT_FILENO) != 0 ? .text : .json) : progress
    }
}

/// One training run of `train` or `resume`: trains, then saves the model and the history;
/// on Ctrl-C saves the model as it is and prints the command that resumes it.
struct TrainingRun {
    let command: String
    let network: Network
    let data: TrainingData
    let validation: FileDataset?
    var options: TrainingOptions
    let out: String
    /// The model file resume read (nil for train): --out may be it, --history may not.
    var model: String? = nil
    let output: OutputOptions
    /// The run's settings, for the first line.
    let settings: [(String, JSON)]
    /// The options that resume this run, given its remaining epochs and the cosine
    /// schedule's end (data, reading and training options, without the model path).
    let resumeArguments: (_ epochs: Int, _ cosineEnd: Int) -> [String]

    func run() throws -> Never {
        // The options and the data's shape are checked before the first line, as training
        // would check them.
        try library { () throws(MiniBatchError) in
            try Validate.training(self.options, count: data.count)
            try Validate.training(self.options, for: network)
        }
        // Where the model and the history go, before the work: a device or a directory
        // there is refused (a rename over /dev/full replaced the device, as root), and so is
        // a place where the temporary file cannot be made (no such directory, a name too
        // long), or an output that is an input or the other output (the data were
        // overwritten, or the history replaced the model).
        // (Compared as the files a write replaces: an output that is a symbolic link to an
        // input would replace the input (since 0.12.5 a write goes through a link; it replaced
        // the link before).)
        try checkWritable(out, "--out")
        if let path = output.history {
            try checkWritable(path, "--history")
            if File.same(path, out) { throw Failure("--history: '\(path)' is where the model is saved") }
        }
        for (path, option) in inputs {
            if option != "model", File.same(out, path) { throw Failure("--out: '\(out)' is the \(option) file itself") }
            if let history = output.history, File.same(history, path) {
                throw Failure("--history: '\(history)' is the \(option) file itself")
            }
        }
        guard data.features == network.inputCount else {
            let option: String
            if command == "train" { option = "--layers" } else if case .files = data { option = "--x" } else { option = "--builtin" }
            throw Failure("\(option): the data have \(data.features) features but the model has \(network.inputCount) inputs")
        }
        let format = output.format
        let interrupt = SignalStop.install()
        var options = self.options
        options.interrupt = interrupt
        let startEpochs = network.epochsTrained
        let history = History()
        let display = ProgressDisplay(format: format, interrupt: interrupt, epochs: options.epochs, loss: network.loss)
        report(start: format)
        var epochsRun = 0
        display.start()
        let failure: MiniBatchError?
        do {
            try train(options, history: history) { progress in
                epochsRun = progress.epoch
                display.epoch(progress)
                return .proceed
            }
            failure = nil
        } catch {
            failure = error
        }
        let seconds = display.elapsed
        display.finish()
        // (Ctrl-C stays handled until the files are written: a second one, or SIGTERM,
        // removes the temporary files before the process dies.)
        // A failure (divergence, a file that changed, a bad value met while reading) after
        // whole epochs of this call: the model as training left it (its last finite weights)
        // is saved, as Ctrl-C saves it, with the command that continues the run (until 0.12.6
        // nothing was saved, and the epochs were lost). Before any epoch, nothing is.
        // (in the tool's words: the Error: line, and the JSON end event's message)
        let failed = failure.flatMap {
            $0.kind == .cancelled && interrupt.isStopRequested ? nil : Failure($0, options: validationNames + Failure.names)
        }
        if let failed, epochsRun == 0 {
            let historyFailure = writeHistory(history)
            SignalStop.uninstall()
            if let historyFailure { printError("Error: \(historyFailure)") }
            exitWith(failed)
        }
        // The model first: a history that cannot be written does not lose it (nor the
        // resume command and status of an interrupted run).
        do throws(MiniBatchError) {
            try network.save(to: out)
        } catch {
            SignalStop.uninstall()
            exitWith(Failure("--out: \(error.message)"))
        }
        let historyFailure = writeHistory(history)
        SignalStop.uninstall()
        if let historyFailure { printError("Error: \(historyFailure) (the model was saved to \(out))") }
        let costs = history.epochCosts, validationCosts = history.validationCosts
        let interrupted = failure != nil
        let status = failed != nil ? "failed" : interrupted ? "interrupted" : epochsRun < options.epochs ? "early_stopped" : "completed"
        if format == .json {
            emit(JSON.object([
                ("event", .string("end")), ("status", .string(status)), ("epochs", .int(epochsRun)),
                ("epochs_trained", .int(network.epochsTrained)), ("batches_done", .int(interrupt.batchesDone)),
                ("cost", .optional(costs.last)), ("validation_cost", .optional(validationCosts.last)),
                ("seconds", .number(seconds)), ("model", .string(out)),
                ("history", .optional(historyFailure == nil ? output.history : nil)),
                ("message", .optional(failed?.message ?? failure?.message)),
            ]).text + "\n")
        }
        // On a terminal the summary goes to standard output; with JSON lines there, to
        // standard error.
        let json = format == .json
        func say(_ text: String) { if json { printError(text) } else { emit(text + "\n") } }
        if let failure {
            let remaining = options.epochs - epochsRun
            // (saturating: a model's epochs plus --epochs up to 2^63 - 1 trapped)
            let cosineEnd = startEpochs.addingSaturated(options.epochs)
            let resume = (["minibatch-cli", "resume", out] + resumeArguments(remaining, cosineEnd)).map(shellQuoted)
            if let failed { printError("Error: \(failed.message)") } else { say(failure.message) }
            say("model saved to \(out) (epochs trained: \(network.epochsTrained)\(failed == nil ? "" : ", as training left it")); to continue the run, \(remaining) epoch\(remaining == 1 ? "" : "s") left:")
            say("  " + resume.joined(separator: " "))
            exit(failed == nil ? Status.interrupted : Status.failure)
        }
        var summary = "\(status == "early_stopped" ? "stopped early after" : "trained") \(epochsRun) epoch\(epochsRun == 1 ? "" : "s") in \(fixed(seconds, 1)) s"
        if let cost = costs.last { summary += ": cost \(fixed(cost, 6))" }
        if let cost = validationCosts.last, cost.isFinite { summary += ", validation cost \(fixed(cost, 6))" }
        if let score = history.validationScores.last, score.isFinite {
            summary += " (\(network.loss.isRegression ? "R^2" : "accuracy") \(fixed(score, 4)))"
        }
        say(summary)
        say("model saved to \(out) (epochs trained: \(network.epochsTrained))\(historyFailure == nil ? output.history.map { "; history to \($0)" } ?? "" : "")")
        exit(historyFailure == nil ? 0 : Status.failure)
    }

    private func train(
        _ options: TrainingOptions, history: History, progress: @escaping (Progress) -> ProgressAction
    ) throws(MiniBatchError) {
        switch data {
        case .memory(let x, let classes, let features, _):
            try x.withUnsafeBufferPointer { (xs) throws(MiniBatchError) in
                try classes.withUnsafeBufferPointer { (ys) throws(MiniBatchError) in
                    let view = DataView(x: xs.baseAddress!, targets: .classes(ys.baseAddress!), count: classes.count, features: features)
                    try network.train(view, validationDataset: validation, options: options, history: history, progress: progress)
                }
            }
        case .files(let dataset):
            try network.train(dataset, validationDataset: validation, options: options, history: history, progress: progress)
        }
    }

    private func report(start format: ProgressFormat) {
        let layers = network.layerSizes.map(String.init).joined(separator: "-")
        let activations = Set(network.hiddenActivations.map { ActivationName($0).rawValue }).sorted().joined(separator: ",")
        let fields: [(String, JSON)] = [
            ("event", .string("start")), ("command", .string(command)), ("version", .string(MiniBatch.version)),
            ("layers", .array(network.layerSizes.map(JSON.int))), ("activation", .string(activations)),
            ("loss", .string(LossName.name(network.loss))), ("parameters", .int(network.parameterCount)),
            ("epochs_trained", .int(network.epochsTrained)), ("examples", .int(data.count)),
            ("features", .int(data.features)), ("data", .string(data.description)),
        ] + settings + [("model", .string(out))]
        switch format {
        case .json:
            emit(JSON.object(fields).text + "\n")
        case .text:
            print("minibatch \(MiniBatch.version) \(command): \(layers) network (\(activations.isEmpty ? "no hidden layer" : activations); \(LossName.name(network.loss))), \(network.parameterCount) parameters, \(network.epochsTrained) epochs trained")
            print("data: \(data.description)")
            print(settings.map { "\($0.0) \($0.1.text.replacing("\"", with: ""))" }.joined(separator: ", "))
        case .auto, .none:
            break
        }
    }

    /// Writes the history to --history, if given: nil, or what went wrong (the caller goes on
    /// to report the run).
    private func writeHistory(_ history: History) -> String? {
        guard let path = output.history else { return nil }
        do {
            try writeTextFile(historyJSON(history) + "\n", to: path, option: "--history")
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The validation files' names in the library's messages, before the training data's
    /// (which the same words name otherwise: "y file").
    private var validationNames: [(library: String, option: String)] {
        guard let validation else { return [] }
        // (a path the training data share names both: their option, the default, is kept)
        var training: Set<String> = []
        if case .files(let dataset) = data { training = [dataset.x.path, dataset.y.path] }
        return [("X file '\(validation.x.path)'", "--validation-x"), ("y file '\(validation.y.path)'", "--validation-y")]
            .filter { name, _ in !training.contains(where: { name.hasSuffix("'\($0)'") }) }
    }

    /// The run's input files and their options: no output may be one of them (but --out may
    /// be the model resume read).
    private var inputs: [(path: String, option: String)] {
        var paths: [(String, String)] = []
        if case .files(let dataset) = data { paths += [(dataset.x.path, "--x"), (dataset.y.path, "--y")] }
        if let validation { paths += [(validation.x.path, "--validation-x"), (validation.y.path, "--validation-y")] }
        if let model { paths.append((model, "model")) }
        return paths
    }

    private func historyJSON(_ history: History) -> String {
        JSON.object([
            ("batch_costs", .numbers(history.batchCosts)), ("epoch_costs", .numbers(history.epochCosts)),
            ("validation_costs", .numbers(history.validationCosts)),
            ("validation_scores", .numbers(history.validationScores)),
            ("learning_rates", .numbers(history.learningRates)),
        ]).text
    }
}

/// `text` as one shell word.
func shellQuoted(_ text: String) -> String {
    let plain = !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || "-_./=,:+@%".contains($0) }
    return plain ? text : "'" + text.replacing("'", with: "'\\''") + "'"
}

/// The settings line of a run's options.
func settings(of options: TrainingOptions, rule: OptimizerName, arguments: TrainingArguments) -> [(String, JSON)] {
    var fields: [(String, JSON)] = [
        ("epochs", .int(options.epochs)), ("batch_size", .string(arguments.batchSize.description)),
        ("learning_rate", .number(shortest(Double(options.learningRate)))), ("seed", .string("\(options.seed)")),
        ("threads", .int(options.threads)), ("optimizer", .string(rule.rawValue)),
        ("schedule", .string(arguments.schedule.rawValue)),
    ]
    if options.warmup.epochs > 0 {
        fields.append(("warmup_epochs", .int(options.warmup.epochs)))
        fields.append(("warmup_start_factor", .number(options.warmup.startFactor)))
    }
    if options.schedulePerBatch { fields.append(("schedule_per_batch", .bool(true))) }
    if let (base, top) = options.schedule.momentumCycle {
        fields.append(("cycle_momentum", .bool(true)))
        fields.append(("base_momentum", .number(base)))
        fields.append(("max_momentum", .number(top)))
    }
    if case .cyclic(let minimum, let up, let down, let mode, let gamma, _, _, _) = options.schedule {
        fields += [
            ("base_lr", .number(minimum)), ("cyclic_step_size_up", .int(up)), ("cyclic_step_size_down", .int(down ?? up)),
            ("cyclic_mode", .string(CyclicModeName(mode).rawValue)),
        ]
        if mode == .exponentialRange { fields.append(("gamma", .number(gamma))) }
    }
    if case .oneCycle(_, _, _, _, _, _, _, let three, let annealing) = options.schedule {
        if three { fields.append(("three_phase", .bool(true))) }
        if annealing == .linear { fields.append(("anneal_strategy", .string("linear"))) }
    }
    if case .plateau(let factor, let patience, let threshold, let mode, let cooldown, let minimum, let eps) = options.schedule {
        fields += [
            ("factor", .number(factor)), ("plateau_patience", .int(patience)), ("plateau_threshold", .number(threshold)),
            ("plateau_threshold_mode", .string(ThresholdModeName(mode).rawValue)), ("plateau_cooldown", .int(cooldown)),
            ("min_learning_rate", .number(minimum)), ("plateau_eps", .number(eps)),
        ]
    }
    if options.l2 > 0 { fields.append(("l2", .number(shortest(Double(options.l2))))) }
    if options.clipNorm > 0 { fields.append(("clip_norm", .number(shortest(Double(options.clipNorm))))) }
    if options.clipValue > 0 { fields.append(("clip_value", .number(shortest(Double(options.clipValue))))) }
    if options.coupledWeightDecay > 0 {
        fields.append(("weight_decay", .number(shortest(Double(options.coupledWeightDecay)))))
    }
    switch options.optimizer {
    case .nadam(_, _, _, _, let decay) where decay > 0, .radam(_, _, _, let decay) where decay > 0:
        fields.append(("weight_decay", .number(shortest(Double(decay)))))
        fields.append(("decoupled_weight_decay", .bool(true)))
    default: break
    }
    if options.dropout > 0 { fields.append(("dropout", .number(options.dropout))) }
    if options.labelSmoothing > 0 { fields.append(("label_smoothing", .number(options.labelSmoothing))) }
    if !options.flushesDenormals { fields.append(("keep_denormals", .bool(true))) }
    if options.earlyStopping.patience > 0 {
        fields.append(("patience", .int(options.earlyStopping.patience)))
        fields.append(("monitor", .string(options.earlyStopping.monitor == .cost ? "cost" : "validation-score")))
    }
    if options.validationFraction > 0 { fields.append(("validation_fraction", .number(options.validationFraction))) }
    return fields
}
