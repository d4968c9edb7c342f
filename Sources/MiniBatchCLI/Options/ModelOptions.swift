import ArgumentParser
import MiniBatch

/// The architecture of a new network.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Every layer's size, inputs to outputs, as in 784,128,10 (inputs must be X's columns). Or give --hidden.",
        valueName: "sizes"))
    var layers: SizeList?

    @Option(help: ArgumentHelp(
        "The hidden layers' sizes, as in 128,64 ('' or 'none' for none: linear, logistic or softmax regression); inputs are X's columns and outputs --outputs. Default when --layers is not given: one hidden layer of 16.",
        valueName: "sizes"))
    var hidden: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Outputs, with --hidden (default: the number of classes, 1 + the largest label in y, for integer labels (m) with --loss auto or cross-entropy; y's columns for float targets, a 2-D y, and --loss mse, poisson or binary-cross-entropy).",
        valueName: "k"))
    var outputs: Int?

    @Option(help: ArgumentHelp("The hidden layers' activation.", valueName: "g"))
    var activation: ActivationName = .relu

    @Option(help: ArgumentHelp(
        "The output layer and its cost. auto: cross-entropy (softmax) for integer labels (m) with 2 or more outputs, binary-cross-entropy (sigmoid) for integer labels with one output or a 2-D integer (0/1) y, mse for float targets. poisson (e^z outputs, half the Poisson deviance) for counts or rates >= 0 (float, or integers read as values): never chosen by auto. mse and poisson read an integer y as values.",
        valueName: "loss"))
    var loss: LossName = .auto

    @Option(name: .customLong("init"), help: ArgumentHelp(
        "How initial weights are drawn (from --seed): auto (He for ReLU and leaky ReLU layers, LeCun for SELU layers, Xavier for the others), he (variance 2 / n_in), xavier (2 / (n_in + n_out)), lecun (1 / n_in).",
        valueName: "rule"))
    var initialization: InitializationName = .auto

    func validate() throws {
        if layers != nil {
            guard hidden == nil else { throw ValidationError("give --layers or --hidden, not both") }
            guard outputs == nil else { throw ValidationError("--outputs goes with --hidden: --layers names the outputs") }
        }
        if let hidden, hiddenSizes(hidden) == nil {
            throw ValidationError("The value '\(hidden)' is invalid for '--hidden <sizes>': give sizes such as 128,64, or none")
        }
    }

    private func hiddenSizes(_ text: String) -> [Int]? {
        if text.isEmpty || text == "none" { return [] }
        return SizeList(argument: text)?.sizes
    }

    /// A new network for `data`, with weights drawn from `seed`.
    func network(for data: TrainingData, seed: UInt64) throws -> Network {
        let labels: LabelSummary
        switch data {
        case .memory(_, let classes, _, _): labels = LabelSummary(classes: classes)
        case .files(let dataset): labels = try LabelSummary(dataset.y)
        }
        var sizes: [Int]
        if let layers {
            sizes = layers.sizes
        } else {
            // (the regression losses read integer y as values, and binary cross-entropy or a 2-D
            // integer y are one output per column: y's columns, since 0.10.0; with --loss auto
            // a 2-D y of one column too, since 0.12.6)
            let valuesPerColumn = loss == .mse || loss == .poisson || loss == .binaryCrossEntropy || labels.columns > 1
                || (labels.isMatrix && loss == .auto)
            let k = try outputs ?? (valuesPerColumn ? labels.columns : labels.defaultOutputs())
            let hiddenLayers = hiddenSizes(hidden ?? "16")!
            // (the library names layer_sizes, which is --layers': here --hidden and --outputs set them)
            if let bad = hiddenLayers.first(where: { $0 < 1 }) { throw Failure("--hidden: sizes must be positive, got \(bad)") }
            if let outputs, outputs < 1 { throw Failure("--outputs must be positive, got \(outputs)") }
            sizes = [data.features] + hiddenLayers + [k]
        }
        let resolved: Loss
        switch loss {
        case .crossEntropy: resolved = .crossEntropy
        case .binaryCrossEntropy: resolved = .binaryCrossEntropy
        case .mse: resolved = .meanSquaredError
        case .poisson: resolved = .poisson
        case .auto:
            if labels.isInteger {
                // (a 2-D integer y: a 0/1 matrix, one binary output per column, (m, 1) included)
                resolved = (sizes.last ?? 0) == 1 || labels.isMatrix ? .binaryCrossEntropy : .crossEntropy
            } else {
                resolved = .meanSquaredError
            }
        }
        let layerSizes = sizes
        return try library { () throws(MiniBatchError) in
            try Network(layerSizes: layerSizes, hiddenActivation: activation.activation, loss: resolved,
                        initialization: initialization.initialization, seed: seed)
        }
    }
}
