import ArgumentParser
import MiniBatch

struct ShuffleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shuffle",
        abstract: "Write a shuffled copy of X and y .npy files, pairs kept together, in bounded memory (files larger than memory).",
        discussion: """
            An external shuffle: rows are dealt into buckets on disk (a temporary file, already unlinked), \
            then each bucket is shuffled in memory, with sequential reads and writes; each of the m! orders \
            is equally likely. The order is a function of --seed, m and the bucket count (which the budget \
            sets); with the whole data within the budget it is the in-memory shuffle's \
            (mb_permutation(m, seed, 0)). X and y may be 1-D or 2-D .npy files (C order) of float32, \
            float64, bool or any integer dtype, little-endian; rows are copied as bytes, each output keeping \
            its input's dtype and shape. Outputs are written \
            beside their targets and renamed when both are complete. See minibatch.h, mb_shuffle_npy.
            """)

    @Option(name: .customLong("x"), help: ArgumentHelp("X: the .npy file to shuffle.", valueName: "x.npy"))
    var x: String

    @Option(name: .customLong("y"), help: ArgumentHelp("y: shuffled with X, by the same permutation (optional).", valueName: "y.npy"))
    var y: String?

    @Option(help: ArgumentHelp("Where the shuffled X goes.", valueName: "x.npy"))
    var outX: String

    @Option(help: ArgumentHelp("Where the shuffled y goes (with --y).", valueName: "y.npy"))
    var outY: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("The seed of the order.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Bytes of buffers (suffix K, M or G); 0: a quarter of the memory this process may use, at most 256M.",
        valueName: "bytes"))
    var memoryBudget = ByteCount(0)

    @Option(help: ArgumentHelp("Where the temporary bucket file goes (default: the directory of --out-x).", valueName: "dir"))
    var tempDir: String?

    func validate() throws {
        guard (y == nil) == (outY == nil) else {
            throw ValidationError(y == nil ? "--out-y needs --y" : "--y needs --out-y (where the shuffled y goes)")
        }
    }

    func run() throws {
        do {
            // (Ctrl-C or SIGTERM then removes the temporary outputs before the process dies)
            try SignalStop.removingTemporaryFiles { () throws(MiniBatchError) in
                try NpyShuffle.shuffle(
                    x: x, y: y, outX: outX, outY: outY, seed: seed, memoryBudget: memoryBudget.bytes, temporaryDirectory: tempDir)
            }
        } catch {
            let names = [("x_in", "--x"), ("y_in", "--y"), ("x_out", "--out-x"), ("y_out", "--out-y"), ("temp_dir", "--temp-dir")]
            throw Failure(error, options: names + Failure.names)
        }
        print("wrote \(outX)\(outY.map { " and \($0)" } ?? ""): the rows of \(x)\(y.map { " and \($0)" } ?? "") in the order of seed \(seed)")
    }
}
