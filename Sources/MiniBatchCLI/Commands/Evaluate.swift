#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MiniBatch

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "The cost and accuracy (R^2 for mse and poisson) of a model on X and y .npy files, read in order in bounded memory.",
        discussion: """
            The cost is the training cost's definition (the mean over rows; without the L2 penalty). Accuracy \
            is for the cross-entropy losses (per output for binary-cross-entropy); for mse and poisson the score is \
            R^2, 1 - residual (of the outputs, e^z for poisson) / total sum of squares about the output's mean, averaged over \
            the outputs as scikit-learn's r2_score (constant targets: 1 for exact predictions, else 0).
            """)

    @Argument(help: ArgumentHelp("The model file.", valueName: "model.mbm"))
    var model: String

    @Option(name: .customLong("x"), help: ArgumentHelp("X: a .npy file of (m, n_features) float32.", valueName: "x.npy"))
    var x: String?

    @Option(name: .customLong("y"), help: ArgumentHelp("y: a .npy file of m class labels or float32 / float64 targets (integers are values for the regression losses).", valueName: "y.npy"))
    var y: String?

    @Option(help: ArgumentHelp("Evaluate on a built-in dataset instead of files.", valueName: "name"))
    var builtin: BuiltinName?

    @Option(name: .customLong("m"), parsing: .unconditional, help: ArgumentHelp("Points of the built-in dataset (default: 4000).", valueName: "n"))
    var count: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Noise of the built-in dataset (default: 0.2).", valueName: "x"))
    var noise: Float?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of the built-in dataset's points (default: 0).", valueName: "n"))
    var seed: UInt64?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Bytes the file reader may hold (suffix K, M or G); 0: a quarter of the memory this process may use, at most 256M.",
        valueName: "bytes"))
    var memoryBudget = ByteCount(0)

    @Flag(help: "Print one JSON object: {\"examples\", \"cost\", \"accuracy\", \"r2\"} (null where it does not apply).")
    var json = false

    func validate() throws {
        if builtin != nil {
            guard x == nil, y == nil else { throw ValidationError("give --builtin or --x and --y, not both") }
        } else {
            guard x != nil, y != nil else {
                throw ValidationError("give both --x and --y (missing \(x == nil ? "--x" : "--y")), or --builtin moons")
            }
            guard count == nil, noise == nil, seed == nil else {
                throw ValidationError("--m, --noise and --seed describe a --builtin dataset")
            }
        }
    }

    func run() throws {
        let network = try library { () throws(MiniBatchError) in try Network.load(from: model) }
        let result: (cost: Double, accuracy: Double)
        let m: Int
        var r2 = Double.nan
        // A mismatch of the data and the model is the data's option here (train's names give
        // --layers, which eval does not have).
        let data = builtin != nil ? "--builtin" : "--x"
        let names = Failure.names(replacing: [
            "n_features": data, "inputs": data, "outputs": builtin != nil ? data : "--y",
            "y holds integer class labels": builtin != nil ? data : "--y",
        ])
        if builtin != nil {
            let moons = try library { () throws(MiniBatchError) in
                try Moons.make(count: count ?? 4000, noise: noise ?? 0.2, seed: seed ?? 0)
            }
            m = moons.y.count
            result = try library(names: names) { () throws(MiniBatchError) in
                try network.evaluate(x: moons.x, classes: moons.y, features: 2)
            }
        } else {
            let dataset = try library { () throws(MiniBatchError) in
                try FileDataset(x: x!, y: y!, options: FileReadOptions(memoryBudget: memoryBudget.bytes))
            }
            m = dataset.count
            let columns = network.loss.isRegression ? try LabelSummary(dataset.y).regressionColumns : nil
            result = try library(names: names) { () throws(MiniBatchError) in
                try network.evaluate(dataset, residuals: columns?.residuals)
            }
            if let columns { r2 = columns.rSquared }
        }
        if json {
            print(JSON.object([
                ("examples", .int(m)), ("cost", .number(result.cost)), ("accuracy", .number(result.accuracy)),
                ("r2", .number(r2)),
            ]).text)
        } else {
            var line = "examples \(m)  cost \(fixed(result.cost, 6))"
            if result.accuracy.isFinite { line += "  accuracy \(fixed(result.accuracy, 4))" }
            if r2.isFinite { line += "  R^2 \(fixed(r2, 4))" }
            print(line)
        }
        try checkStandardOutput()
    }
}
