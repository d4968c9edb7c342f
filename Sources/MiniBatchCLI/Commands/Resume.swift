import ArgumentParser
import MiniBatch

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue training a saved model with its training state (the rule's moments and step, the schedule's and early stopping's state).",
        discussion: """
            The model file keeps the weights, the epochs trained and the training state, not the options: \
            give the same data and options as the run that saved it (the seed, batch size, learning rate, \
            the rule's and the schedule's parameters, the warm-up, --schedule-per-batch, and --threads or --shards for the same rounding). Then \
            N epochs, saved, and M epochs resumed give the weights of N + M epochs in one run, bit for bit; \
            epoch e of the model's life uses the order drawn from (--seed, e). After Ctrl-C, the tool prints \
            this command with every option of the interrupted run. An epoch interrupted in its middle is not \
            counted: the resumed run trains it again from its first batch (its weights already hold the \
            batches done), so that run is close to, not equal to, an uninterrupted one.

            \(progressDiscussion)
            """)

    @Argument(help: ArgumentHelp("The model file to continue (written by train or resume).", valueName: "model.mbm"))
    var model: String

    @OptionGroup(title: "Data")
    var data: DataOptions

    @OptionGroup(title: "Validation")
    var validation: ValidationOptions

    @OptionGroup(title: "Training")
    var training: TrainingArguments

    @Flag(help: "Start the update rule afresh (its initial state, step 0) and forget the schedule's and early stopping's state; needed to change the rule's kind.")
    var resetState = false

    @Option(help: ArgumentHelp("Where the model is saved (atomically) (default: the model file itself).", valueName: "model.mbm"))
    var out: String?

    @OptionGroup(title: "Output")
    var output: OutputOptions

    func run() throws {
        let network = try library { () throws(MiniBatchError) in try Network.load(from: model) }
        let summary = try ModelSummary(path: model, network: network)
        let saved = summary.rule.map(OptimizerName.init) ?? .sgd
        let savedName = summary.rule.map(OptimizerName.describe) ?? saved.rawValue
        let rule = self.training.optimizer ?? saved
        var training = self.training
        if training.optimizer == nil, let kind = summary.rule {
            // RMSprop's form is the file's: centred as it was; its momentum must be given
            // (unless the state starts afresh).
            if kind == .rmspropCentered || kind == .rmspropCenteredMomentum { training.centered = true }
            // (a cycled momentum replaces it)
            if kind == .rmspropMomentum || kind == .rmspropCenteredMomentum, training.momentum == nil, !training.cycleMomentum,
               !resetState {
                throw Failure("the model's state belongs to \(savedName) (step \(summary.step)): pass --momentum, the value it was trained with (the file does not keep it), or the --schedule one-cycle or cyclic with --cycle-momentum it was trained with, or --reset-state to start afresh")
            }
        }
        if resetState {
            try library { () throws(MiniBatchError) in try network.resetTrainingState() }
        } else if summary.slots > 0,
                  // (the rule that trains: --cycle-momentum gives plain SGD and RMSprop a momentum)
                  case let given = TrainingOptions(optimizer: try training.rule(rule), schedule: try training.resolvedSchedule())
                      .updateRule.kind,
                  given != summary.rule {
            throw Failure("--optimizer \(OptimizerName.describe(given)): the model's state belongs to \(savedName) (step \(summary.step)), which a different rule would drop; pass --optimizer \(savedName)\(OptimizerName.stateOptions(summary.rule ?? .gradientDescent).isEmpty && saved == .rmsprop ? " without --centered or --momentum" : "")\(summary.rule == .momentum || summary.rule == .rmspropMomentum || summary.rule == .rmspropCenteredMomentum ? " (or, if it was trained so, --schedule one-cycle or cyclic with --cycle-momentum, which gives plain SGD and RMSprop a momentum)" : ""), or --reset-state to start \(rule.rawValue) afresh")
        }
        if training.optimizer == nil, rule != .sgd {
            printError("minibatch-cli resume: note: --optimizer \(rule.rawValue), the rule of the model's state; its parameters are not saved in the file, pass the ones it was trained with")
        }
        // Early stopping goes on watching what the file's state was counted on (a call that
        // watched the other value would start its count afresh).
        let watched: MonitorName = summary.monitorsScore ? .validationScore : .cost
        let options = try training.options(
            rule: rule, shuffle: data.reading.shuffle != .none, validationFraction: validation.validationFraction,
            monitor: watched)
        let trainingData = try data.open(seed: training.seed)
        let validationData = try validation.open(data.reading)
        let arguments = dataArguments(data, validation) + readArguments(data.reading)
        try TrainingRun(
            command: "resume", network: network, data: trainingData, validation: validationData, options: options,
            out: out ?? model, model: model, output: output, settings: settings(of: options, rule: rule, arguments: training),
            resumeArguments: { epochs, cosineEnd in
                arguments + training.arguments(rule: rule, epochs: epochs, cosineEnd: cosineEnd, monitor: watched)
            }
        ).run()
    }
}
