import ArgumentParser
import MiniBatch

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a new network on X and y .npy files (read in mini-batches, never loaded whole) or a built-in dataset.",
        discussion: """
            Example:
              minibatch-cli train --x x.npy --y y.npy --layers 784,128,10 \\
                --epochs 20 --batch-size 128 --optimizer adam --learning-rate 1e-3 \\
                --validation-x xv.npy --validation-y yv.npy --out model.mbm

            Ctrl-C stops training after the current mini-batch and saves the model to --out (exit status \
            130), printing the command that resumes it; a second Ctrl-C kills the process (SIGTERM too, at \
            any time), removing the temporary files of the writes in progress.

            \(progressDiscussion)
            """)

    @OptionGroup(title: "Data")
    var data: DataOptions

    @OptionGroup(title: "Validation")
    var validation: ValidationOptions

    @OptionGroup(title: "The network")
    var model: ModelOptions

    @OptionGroup(title: "Training")
    var training: TrainingArguments

    @Option(help: ArgumentHelp("Where the trained model is saved (atomically), with its training state, so that resume continues the run.", valueName: "model.mbm"))
    var out: String

    @OptionGroup(title: "Output")
    var output: OutputOptions

    func run() throws {
        let rule = training.optimizer ?? .sgd
        let options = try training.options(
            rule: rule, shuffle: data.reading.shuffle != .none, validationFraction: validation.validationFraction)
        let trainingData = try data.open(seed: training.seed)
        let validationData = try validation.open(data.reading)
        let network = try model.network(for: trainingData, seed: training.seed)
        let arguments = dataArguments(data, validation) + readArguments(data.reading)
        try TrainingRun(
            command: "train", network: network, data: trainingData, validation: validationData, options: options, out: out,
            output: output, settings: settings(of: options, rule: rule, arguments: training),
            resumeArguments: { epochs, cosineEnd in
                arguments + training.arguments(rule: rule, epochs: epochs, cosineEnd: cosineEnd)
            }
        ).run()
    }
}

/// The data options as arguments (for the command that resumes a run).
func dataArguments(_ data: DataOptions, _ validation: ValidationOptions) -> [String] {
    var out: [String] = []
    if let builtin = data.builtin {
        out += ["--builtin", builtin.rawValue]
        if let m = data.count { out += ["--m", "\(m)"] }
        if let noise = data.noise { out += ["--noise", "\(noise)"] }
    } else {
        out += ["--x", data.x!, "--y", data.y!]
    }
    if let x = validation.validationX, let y = validation.validationY { out += ["--validation-x", x, "--validation-y", y] }
    if validation.validationFraction != 0 { out += ["--validation-fraction", "\(validation.validationFraction)"] }
    return out
}

/// The reading options that differ from their defaults, as arguments.
func readArguments(_ reading: ReadOptions) -> [String] {
    var out: [String] = []
    if reading.shuffle != .exact { out += ["--shuffle", reading.shuffle.rawValue] }
    if reading.memoryBudget.bytes != 0 { out += ["--memory-budget", "\(reading.memoryBudget.bytes)"] }
    if reading.blockBytes.bytes != 1 << 20 { out += ["--block-bytes", "\(reading.blockBytes.bytes)"] }
    if reading.pageCache != .auto { out += ["--page-cache", reading.pageCache.rawValue] }
    return out
}

/// The progress section of train's and resume's help.
let progressDiscussion = """
    Progress: on a terminal, one line per epoch (epoch, cost, validation cost and score when there is a \
    validation set, learning rate, examples per second, elapsed and remaining time), refreshed every \
    second while an epoch takes longer. When standard output is not a terminal (or with --progress \
    json), one JSON object per line instead, with these keys, and the summary on standard error:
      start: event, command, version, layers, activation, loss, parameters,
        epochs_trained, examples, features, data, the run's settings (epochs,
        batch_size, learning_rate, seed, threads, optimizer, schedule, ...), model
      epoch (one per epoch): event, epoch, epochs, epochs_trained, batches,
        batch_size, examples, cost, last_batch_cost, validation_cost,
        validation_score, learning_rate, examples_per_second, epoch_seconds,
        elapsed_seconds, remaining_seconds
      end: event, status (completed, early_stopped, interrupted or failed), epochs,
        epochs_trained, batches_done, cost, validation_cost, seconds, model,
        history, message
    Numbers that do not exist (no validation set) are null. epoch counts this run's epochs, \
    epochs_trained the model's; validation_score is the accuracy, or R^2 for mse and poisson.
    """
