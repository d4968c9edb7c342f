// minibatch-cli: the main job on the built-in dataset.
//
//   minibatch-cli demo [--m N] [--epochs N] [--batch-size N] [--learning-rate X] [--seed N] [--csv PATH]
//
// Trains the same network on two interleaving moons twice, with batch gradient descent
// (one batch of m) and with mini-batch gradient descent, then shows the seed's two cost
// curves: batch cost falls monotonically, mini-batch cost oscillates while falling overall.

#if canImport(Glibc)
import Glibc
#endif
import MiniBatch

struct DemoOptions {
    var m = 4000
    var epochs = 60
    var batchSize = 64
    var learningRate: Float = 0.5
    var seed: UInt64 = 0
    var csv: String? = "minibatch-demo-costs.csv"
}

func usage(status: Int32 = 2) -> Never {
    print("""
        usage: minibatch-cli demo [--m N] [--epochs N] [--batch-size N] [--learning-rate X] [--seed N] [--csv PATH|-]
          Trains a 2-16-16-1 tanh network on the built-in two-moons dataset with batch and with
          mini-batch gradient descent, prints both cost curves and writes them as CSV.
        """)
    exit(status)
}

func parse(_ arguments: [String]) -> DemoOptions {
    var options = DemoOptions()
    var rest = arguments[...]
    if rest.contains("--help") || rest.contains("-h") { usage(status: 0) }
    guard rest.first == "demo" else { usage() }
    rest = rest.dropFirst()
    while let flag = rest.popFirst() {
        guard let value = rest.popFirst() else { usage() }
        switch flag {
        case "--m": options.m = Int(value) ?? -1
        case "--epochs": options.epochs = Int(value) ?? -1
        case "--batch-size": options.batchSize = Int(value) ?? -1
        case "--learning-rate": options.learningRate = Float(value) ?? -1
        case "--seed": options.seed = UInt64(value) ?? 0
        case "--csv": options.csv = value == "-" ? nil : value
        default: usage()
        }
    }
    return options
}

/// Trains a fresh network (same initial weights every time) and returns its history.
func train(_ data: (x: [Float], y: [Int32]), _ options: DemoOptions, batchSize: Int) throws(MiniBatchError)
    -> (History, Network)
{
    let network = try Network(layerSizes: [2, 16, 16, 1], hiddenActivation: .tanh, loss: .binaryCrossEntropy, seed: options.seed)
    let history = History()
    let trainingOptions = TrainingOptions(
        epochs: options.epochs, batchSize: .fixed(batchSize), learningRate: options.learningRate, seed: options.seed)
    try network.train(x: data.x, classes: data.y, features: 2, options: trainingOptions, history: history)
    return (history, network)
}

/// An ASCII chart of cost against training progress (0 ... all epochs).
func chart(_ series: [(costs: [Double], mark: Character)], width: Int = 72, height: Int = 16) -> String {
    let all = series.flatMap(\.costs)
    let top = all.max() ?? 1, bottom = min(all.min() ?? 0, top)
    var grid = Array(repeating: Array(repeating: Character(" "), count: width), count: height)
    for (costs, mark) in series where !costs.isEmpty {
        for (i, cost) in costs.enumerated() {
            let column = costs.count == 1 ? 0 : i * (width - 1) / (costs.count - 1)
            let fraction = top > bottom ? (cost - bottom) / (top - bottom) : 0
            let row = height - 1 - Int((fraction * Double(height - 1)).rounded())
            if grid[row][column] == " " || mark == "#" { grid[row][column] = mark }
        }
    }
    var lines: [String] = []
    for (r, row) in grid.enumerated() {
        let value = top - (top - bottom) * Double(r) / Double(height - 1)
        let label = r % 5 == 0 || r == height - 1 ? format(value, 3) : ""
        lines.append(pad(label, 7) + " |" + String(row))
    }
    lines.append(String(repeating: " ", count: 8) + "+" + String(repeating: "-", count: width))
    lines.append(String(repeating: " ", count: 9) + "epoch 1" + String(repeating: " ", count: width - 16) + "last")
    return lines.joined(separator: "\n")
}

func format(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return text
}

func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}

func writeCSV(_ path: String, batch: History, miniBatch: History, batchesPerEpoch: Int) -> Bool {
    guard let file = fopen(path, "w") else { return false }
    defer { fclose(file) }
    fputs("method,epoch,batch,cost\n", file)
    for (e, cost) in batch.epochCosts.enumerated() { fputs("batch,\(e + 1),1,\(cost)\n", file) }
    for (i, cost) in miniBatch.batchCosts.enumerated() {
        fputs("mini-batch,\(i / batchesPerEpoch + 1),\(i % batchesPerEpoch + 1),\(cost)\n", file)
    }
    return true
}

func main() -> Int32 {
    let options = parse(Array(CommandLine.arguments.dropFirst()))
    do {
        let data = try Moons.make(count: options.m, noise: 0.2, seed: options.seed)
        print("minibatch \(MiniBatch.version): two moons, m = \(options.m), network 2-16-16-1 (tanh; sigmoid output, binary cross-entropy)")
        print("same initial weights, \(options.epochs) epochs, learning rate \(options.learningRate), seed \(options.seed)\n")

        let (batch, batchNetwork) = try train(data, options, batchSize: options.m)
        let (mini, miniNetwork) = try train(data, options, batchSize: options.batchSize)
        let batchesPerEpoch = Partition(count: options.m, batchSize: options.batchSize, lastBatch: .keep).batchCount

        let falls = zip(batch.epochCosts, batch.epochCosts.dropFirst()).filter { $1 < $0 }.count
        let rises = zip(mini.batchCosts, mini.batchCosts.dropFirst()).filter { $1 > $0 }.count
        let epochFalls = zip(mini.epochCosts, mini.epochCosts.dropFirst()).filter { $1 < $0 }.count
        let batchAccuracy = try batchNetwork.evaluate(x: data.x, classes: data.y, features: 2).accuracy
        let miniAccuracy = try miniNetwork.evaluate(x: data.x, classes: data.y, features: 2).accuracy

        print("batch gradient descent: 1 batch of \(options.m) per epoch")
        print("  cost \(format(batch.epochCosts.first!, 4)) -> \(format(batch.epochCosts.last!, 4)); fell in \(falls) of \(batch.epochCosts.count - 1) epochs (monotone: \(falls == batch.epochCosts.count - 1 ? "yes" : "no")); accuracy \(format(batchAccuracy, 3))")
        print("mini-batch gradient descent: \(batchesPerEpoch) batches of \(options.batchSize) per epoch")
        print("  batch cost \(format(mini.batchCosts.first!, 4)) -> \(format(mini.batchCosts.last!, 4)); rose after \(rises) of \(mini.batchCosts.count - 1) batches (local oscillation)")
        print("  epoch cost \(format(mini.epochCosts.first!, 4)) -> \(format(mini.epochCosts.last!, 4)); fell in \(epochFalls) of \(mini.epochCosts.count - 1) epochs (global decrease); accuracy \(format(miniAccuracy, 3))\n")

        print("cost over training ('.' every mini-batch, '#' batch gradient descent per epoch):")
        print(chart([(mini.batchCosts, "."), (batch.epochCosts, "#")]))
        if let path = options.csv {
            if writeCSV(path, batch: batch, miniBatch: mini, batchesPerEpoch: batchesPerEpoch) {
                print("\nwrote both curves to \(path)")
            } else {
                print("\ncould not write \(path)")
                return 1
            }
        }
        return 0
    } catch {
        print("minibatch-cli: \(error.message)")
        return 1
    }
}

exit(main())
