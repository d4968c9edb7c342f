#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MiniBatch

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Write a model's outputs for every row of an X .npy file to a .npy file, in bounded memory.",
        discussion: """
            X is read in order, a chunk at a time, so it may be larger than memory; the output is written \
            under a temporary name beside --out and renamed when complete. It holds float32 (m, outputs): \
            softmax or sigmoid probabilities for the cross-entropy losses, values for mse, e^z for poisson; or, with \
            --classes, int32 (m) class indices (0/1 for one sigmoid output). The values are those of \
            in-memory prediction, bit for bit.
            """)

    @Argument(help: ArgumentHelp("The model file.", valueName: "model.mbm"))
    var model: String

    @Option(name: .customLong("x"), help: ArgumentHelp("X: a .npy file of (m, n_features) float32.", valueName: "x.npy"))
    var x: String

    @Option(help: ArgumentHelp("The .npy file to write.", valueName: "predictions.npy"))
    var out: String

    @Flag(help: "Write the predicted class of each row (int32) instead of the outputs.")
    var classes = false

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Bytes for a chunk of X, its outputs and the activations (suffix K, M or G); 0: a quarter of the memory this process may use, at most 256M.",
        valueName: "bytes"))
    var memoryBudget = ByteCount(0)

    func run() throws {
        // The predictions would replace the model they come from (a slip of the command
        // line, and the trained model is gone): the same path, or a link to the same file.
        if File.same(model, out) {
            throw Failure("--out '\(out)' is the model file: the predictions would replace the model")
        }
        let network = try library { () throws(MiniBatchError) in try Network.load(from: model) }
        do {
            // (Ctrl-C or SIGTERM then removes the temporary output before the process dies)
            try SignalStop.removingTemporaryFiles { () throws(MiniBatchError) in
                try network.predict(npy: x, to: out, classes: classes, memoryBudget: memoryBudget.bytes)
            }
        } catch {
            throw Failure(error, options: [("x_path", "--x"), ("out_path", "--out"), ("classes", "--classes")] + Failure.names)
        }
        print("wrote \(classes ? "the classes" : "the outputs") of \(model) for \(x) to \(out)")
    }
}
