#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MiniBatch

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model file (layers, parameters, epochs trained, training state) or a .npy file (dtype, shape); with no file, the library and its matrix backend.")

    @Argument(help: ArgumentHelp("A model file (.mbm) or a .npy file.", valueName: "file"))
    var file: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        try describe()
        try checkStandardOutput()
    }

    private func describe() throws {
        guard let file else {
            let info = MatrixBackend.info
            if json {
                print(JSON.object([
                    ("version", .string(MiniBatch.version)), ("backend", .string(info.backend)),
                    ("openblas_version", .string(info.openBLASVersion)), ("openblas_core", .string(info.openBLASCore)),
                    ("openblas_isa", .string(info.openBLASISA)), ("libxsmm_version", .string(info.libxsmmVersion)),
                    ("libxsmm_target", .string(info.libxsmmTarget)), ("libxsmm_isa", .string(info.libxsmmISA)),
                    ("cpu_isa", .string(info.cpuISA)), ("threads", .int(info.threads)),
                    ("training_forward", .string(info.trainingForward)), ("activations", .string(info.activations)),
                ]).text)
            } else {
                print("minibatch \(MiniBatch.version)")
                print(info.description)
            }
            return
        }
        if isNpy(file) {
            try describeNpy(file)
        } else {
            try describeModel(file)
        }
    }

    /// Whether the file is a regular file that starts with numpy's magic. Opened without
    /// blocking (a FIFO with no writer blocked `fopen`); anything but a regular file is left
    /// to the model reader, which refuses it.
    private func isNpy(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        var magic = [UInt8](repeating: 0, count: 6)
        return pread(fd, &magic, 6, 0) == 6 && magic == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    }

    private func describeNpy(_ path: String) throws {
        let npy = try library(names: []) { () throws(MiniBatchError) in try NpyFile(path: path, role: "the") }
        if json {
            print(JSON.object([
                ("file", .string(path)), ("kind", .string("npy")), ("format_version", .string("\(npy.version).0")),
                ("dtype", .string(npy.type.rawValue)), ("shape", .array(npy.shape.map(JSON.int))),
                ("data_offset", .int(npy.dataOffset)), ("bytes", .int(npy.expectedSize)),
            ]).text)
        } else {
            print("\(path): .npy format \(npy.version).0, dtype \(npy.type.rawValue), shape \(npy.shape), \(npy.expectedSize) bytes (data from byte \(npy.dataOffset))")
        }
    }

    private func describeModel(_ path: String) throws {
        let network = try library(names: []) { () throws(MiniBatchError) in try Network.load(from: path) }
        let summary = try ModelSummary(path: path, network: network)
        let layers = network.layers
        let rule = summary.rule.map { OptimizerName($0).rawValue }
        if json {
            var fields: [(String, JSON)] = [
                ("file", .string(path)), ("kind", .string("model")), ("format_version", .int(Int(summary.formatVersion))),
                ("bytes", .int(summary.fileBytes)), ("layer_sizes", .array(network.layerSizes.map(JSON.int))),
                ("hidden_activations", .array(network.hiddenActivations.map { .string(ActivationName($0).rawValue) })),
                ("loss", .string(LossName.name(network.loss))), ("parameters", .int(network.parameterCount)),
                ("layers", .array(layers.map { layer in
                    .object([("inputs", .int(layer.nIn)), ("outputs", .int(layer.nOut)),
                             ("parameters", .int(layer.parameterCount))])
                })),
                ("epochs_trained", .int(network.epochsTrained)), ("has_training_state", .bool(summary.hasState)),
            ]
            if summary.hasState {
                fields += [
                    ("optimizer_state", .optional(rule)),
                    ("optimizer_state_options", .array((summary.rule.map(OptimizerName.stateOptions) ?? []).map(JSON.string))),
                    ("optimizer_step", .int(Int(summary.step))),
                    ("optimizer_slots", .int(Int(summary.slots))),
                    ("examples_seen", summary.examplesSeen.map { .int(Int($0)) } ?? .null),
                    ("adaptive_learning_rate", summary.adaptiveRate.map { .number(Double($0)) } ?? .null),
                    ("monitor", .string(summary.monitorsScore ? "validation-score" : "cost")),
                    ("best_cost", summary.monitorsScore ? .null : .optional(summary.bestCost)),
                    ("best_validation_score", summary.monitorsScore ? .optional(summary.bestCost) : .null),
                    ("epochs_without_improvement", .int(Int(summary.badEpochs))),
                    ("best_epoch", .int(Int(summary.bestEpoch))), ("keeps_best_weights", .bool(summary.keepsBestWeights)),
                    ("plateau", summary.plateauBest == nil ? .null : .object([
                        ("learning_rate", summary.plateauRate.map { .number($0) } ?? .null),
                        ("monitor", .string(summary.plateauMonitorsScore ? "validation-score" : "cost")),
                        ("best", .optional(summary.plateauBest)),
                        ("bad_epochs", .int(Int(summary.plateauBadEpochs))),
                        ("cooldown_left", .int(Int(summary.plateauCooldown))),
                    ])),
                ]
            }
            print(JSON.object(fields).text)
            return
        }
        print("\(path): minibatch model, format version \(summary.formatVersion), \(summary.fileBytes) bytes")
        let hidden = network.hiddenActivations.map { ActivationName($0).rawValue }
        print("network: \(network.layerSizes.map(String.init).joined(separator: "-")) (hidden: \(hidden.isEmpty ? "none" : hidden.joined(separator: ", ")); output: \(LossName.name(network.loss))), \(network.parameterCount) parameters")
        for (l, layer) in layers.enumerated() {
            let activation = l < layers.count - 1 ? ActivationName(layer.activation).rawValue : "output (\(LossName.name(network.loss)))"
            print("  layer \(l + 1): \(layer.nIn) -> \(layer.nOut), \(activation), \(layer.parameterCount) parameters (W \(layer.nOut)x\(layer.nIn) + b)")
        }
        print("epochs trained: \(network.epochsTrained)")
        guard summary.hasState else {
            print("training state: none (a new rule, schedule and early stopping start afresh)")
            return
        }
        print("training state (resume continues it):")
        print("  update rule: \(summary.rule.map(OptimizerName.describe) ?? "unknown"), \(summary.step) updates applied, \(summary.slots) float\(summary.slots == 1 ? "" : "s") of state per parameter")
        if let seen = summary.examplesSeen {
            print("  schedule: \(seen) examples seen\(summary.adaptiveRate.map { "; adaptive rate divided down to \($0)" } ?? "")")
        }
        if let best = summary.bestCost {
            let what = summary.monitorsScore ? "validation score" : "monitored cost"
            if best.isFinite {
                print("  early stopping: best \(what) \(best) at epoch \(summary.bestEpoch), \(summary.badEpochs) epoch\(summary.badEpochs == 1 ? "" : "s") without improvement since\(summary.keepsBestWeights ? ", best weights kept" : "")")
            } else {
                print("  early stopping: no \(summary.monitorsScore ? "score" : "cost") recorded yet")
            }
        }
        if let best = summary.plateauBest {
            let what = summary.plateauMonitorsScore ? "validation score" : "monitored cost"
            let rate = summary.plateauRate.map { "rate reduced to \($0)" } ?? "rate not reduced yet"
            let bestText = best.isFinite ? "best \(what) \(best)" : "no \(what) better than the start yet"
            print("  plateau schedule: \(rate); \(bestText), \(summary.plateauBadEpochs) bad epoch\(summary.plateauBadEpochs == 1 ? "" : "s"), \(summary.plateauCooldown) cooldown epoch\(summary.plateauCooldown == 1 ? "" : "s") left")
        }
        if !summary.otherSections.isEmpty { print("  other sections: \(summary.otherSections.joined(separator: ", "))") }
    }
}
