#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MiniBatch

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Batch against mini-batch gradient descent on the built-in two moons, drawn in the terminal.",
        discussion: """
            Trains a 2-16-16-1 tanh network (sigmoid output, binary cross-entropy) from the same initial \
            weights twice: with batch gradient descent (one batch of m per epoch) and with mini-batches, then \
            prints both cost curves: batch cost falls monotonically, mini-batch cost oscillates from batch to \
            batch while it falls overall. Writes both curves as CSV.
            """)

    @Option(name: .customLong("m"), parsing: .unconditional, help: ArgumentHelp("Points of the two moons.", valueName: "n"))
    var count = 4000

    @Option(parsing: .unconditional, help: ArgumentHelp("Epochs of each run.", valueName: "n"))
    var epochs = 60

    @Option(parsing: .unconditional, help: ArgumentHelp("Rows per mini-batch of the mini-batch run.", valueName: "n"))
    var batchSize = 64

    @Option(parsing: .unconditional, help: ArgumentHelp("The learning rate of both runs.", valueName: "x"))
    var learningRate: Float = 0.5

    @Option(parsing: .unconditional, help: ArgumentHelp("The seed of the points, the weights and the orders.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Where the curves go as CSV (method,epoch,batch,cost); - for nowhere.", valueName: "path"))
    var csv = "minibatch-demo-costs.csv"

    func run() throws {
        // Before the work: a device, FIFO or socket is opened now (one with no reader is
        // refused at once), anything else checked as an atomic write's target.
        var stream: Int32?
        if csv != "-" {
            if isStream(csv) { stream = try openStream(csv) } else { try checkWritable(csv, "--csv") }
        }
        defer { if let stream { close(stream) } }
        let data = try library { () throws(MiniBatchError) in try Moons.make(count: count, noise: 0.2, seed: seed) }
        print("minibatch \(MiniBatch.version): two moons, m = \(count), network 2-16-16-1 (tanh; sigmoid output, binary cross-entropy)")
        print("same initial weights, \(epochs) epochs, learning rate \(learningRate), seed \(seed)\n")

        let (batch, batchNetwork) = try train(data, batchSize: count)
        let (mini, miniNetwork) = try train(data, batchSize: batchSize)
        let batchesPerEpoch = Partition(count: count, batchSize: batchSize, lastBatch: .keep).batchCount

        let falls = zip(batch.epochCosts, batch.epochCosts.dropFirst()).filter { $1 < $0 }.count
        let rises = zip(mini.batchCosts, mini.batchCosts.dropFirst()).filter { $1 > $0 }.count
        let epochFalls = zip(mini.epochCosts, mini.epochCosts.dropFirst()).filter { $1 < $0 }.count
        let batchAccuracy = try library { () throws(MiniBatchError) in
            try batchNetwork.evaluate(x: data.x, classes: data.y, features: 2).accuracy
        }
        let miniAccuracy = try library { () throws(MiniBatchError) in
            try miniNetwork.evaluate(x: data.x, classes: data.y, features: 2).accuracy
        }

        print("batch gradient descent: 1 batch of \(count) per epoch")
        print("  cost \(fixed(batch.epochCosts.first!, 4)) -> \(fixed(batch.epochCosts.last!, 4)); fell in \(falls) of \(batch.epochCosts.count - 1) epochs (monotone: \(falls == batch.epochCosts.count - 1 ? "yes" : "no")); accuracy \(fixed(batchAccuracy, 3))")
        print("mini-batch gradient descent: \(batchesPerEpoch) batches of \(batchSize) per epoch")
        print("  batch cost \(fixed(mini.batchCosts.first!, 4)) -> \(fixed(mini.batchCosts.last!, 4)); rose after \(rises) of \(mini.batchCosts.count - 1) batches (local oscillation)")
        print("  epoch cost \(fixed(mini.epochCosts.first!, 4)) -> \(fixed(mini.epochCosts.last!, 4)); fell in \(epochFalls) of \(mini.epochCosts.count - 1) epochs (global decrease); accuracy \(fixed(miniAccuracy, 3))\n")

        print("cost over training ('.' every mini-batch, '#' batch gradient descent per epoch):")
        print(chart([(mini.batchCosts, "."), (batch.epochCosts, "#")]))
        guard csv != "-" else { return }
        let text = csvText(batch: batch, miniBatch: mini, batchesPerEpoch: batchesPerEpoch)
        if let stream {
            try writeAll(text, to: stream)
        } else {
            // Atomically, as the library writes (a write that fails leaves the old file, not a
            // part of the new one).
            try SignalStop.removingTemporaryFiles { try writeTextFile(text, to: csv, option: "--csv") }
        }
        print("\nwrote both curves to \(csv)")
    }

    /// Trains a fresh network (the same initial weights every time) and returns its history.
    private func train(_ data: (x: [Float], y: [Int32]), batchSize: Int) throws -> (History, Network) {
        try library { () throws(MiniBatchError) in
            let network = try Network(layerSizes: [2, 16, 16, 1], hiddenActivation: .tanh, loss: .binaryCrossEntropy, seed: seed)
            let history = History()
            let options = TrainingOptions(epochs: epochs, batchSize: .fixed(batchSize), learningRate: learningRate, seed: seed)
            try network.train(x: data.x, classes: data.y, features: 2, options: options, history: history)
            return (history, network)
        }
    }

    /// An ASCII chart of cost against training progress (0 ... all epochs).
    private func chart(_ series: [(costs: [Double], mark: Character)], width: Int = 72, height: Int = 16) -> String {
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
            let label = r % 5 == 0 || r == height - 1 ? fixed(value, 3) : ""
            lines.append(String(repeating: " ", count: max(0, 7 - label.count)) + label + " |" + String(row))
        }
        lines.append(String(repeating: " ", count: 8) + "+" + String(repeating: "-", count: width))
        lines.append(String(repeating: " ", count: 9) + "epoch 1" + String(repeating: " ", count: width - 16) + "last")
        return lines.joined(separator: "\n")
    }

    /// Whether `path` (followed if a link) is a device, a FIFO or a socket (/dev/stdout,
    /// /dev/null, a pipe from `>(...)`): written through, as `fopen` wrote them. Anything else
    /// (a regular file, a link to one, a name not there yet) is replaced atomically.
    private func isStream(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let type = info.st_mode & S_IFMT
        return type == S_IFCHR || type == S_IFIFO || type == S_IFSOCK
    }

    /// `path` opened for writing without waiting for a reader: a FIFO that no one reads is
    /// refused at once (it was waited on for ever); then blocking writes.
    private func openStream(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("--csv: cannot write '\(path)': \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Writes all of `text` to `fd` (`openStream`).
    private func writeAll(_ text: String, to fd: Int32) throws {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure("--csv: cannot write '\(csv)': \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    private func csvText(batch: History, miniBatch: History, batchesPerEpoch: Int) -> String {
        var text = "method,epoch,batch,cost\n"
        for (e, cost) in batch.epochCosts.enumerated() { text += "batch,\(e + 1),1,\(cost)\n" }
        for (i, cost) in miniBatch.batchCosts.enumerated() {
            text += "mini-batch,\(i / batchesPerEpoch + 1),\(i % batchesPerEpoch + 1),\(cost)\n"
        }
        return text
    }
}
