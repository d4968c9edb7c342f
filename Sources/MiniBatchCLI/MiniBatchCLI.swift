// minibatch-cli: train, resume, evaluate and use networks from the command line.
//
//   minibatch-cli train --x x.npy --y y.npy --layers 784,128,10 --epochs 20 --out model.mbm
//   minibatch-cli resume model.mbm --x x.npy --y y.npy --epochs 10
//   minibatch-cli eval model.mbm --x xt.npy --y yt.npy
//   minibatch-cli predict model.mbm --x xt.npy --out p.npy [--classes]
//   minibatch-cli info model.mbm | x.npy
//   minibatch-cli shuffle --x x.npy --y y.npy --out-x xs.npy --out-y ys.npy --seed 1
//   minibatch-cli demo

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MiniBatch

@main
struct MiniBatchCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minibatch-cli",
        abstract: "Mini-batch gradient descent for fully connected networks, on .npy files larger than memory.",
        discussion: """
            Each subcommand's --help lists its options with their defaults. Files: X is a .npy of \
            (m, n_features) float32 in C order; y a .npy of m integer class labels (any integer dtype) or \
            float32 or float64 targets (m) or (m, k) (integers are values for mse and poisson). Models are saved atomically with their training state, so that \
            resume continues a run.

            Exit status: 0 success; 1 the library refused a value or a file, or training failed (the \
            message names the option); 64 the command line could not be parsed; 130 Ctrl-C stopped \
            training (the model was saved).
            """,
        version: MiniBatch.version,
        subcommands: [TrainCommand.self, ResumeCommand.self, EvaluateCommand.self, PredictCommand.self, InfoCommand.self, ShuffleCommand.self, DemoCommand.self])

    /// Output into a pipe that closed (`| head`) fails as a write, not as a death by
    /// SIGPIPE: a training whose progress went there still finishes and saves its model
    /// (it was killed without a word, and nothing was saved).
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        if let bad = firstArgumentNotUTF8() {
            // Swift decodes the arguments with repair, so such a path named another file
            // (`--out $'m\xff.mbm'` wrote m\u{FFFD}.mbm).
            printError(
                "Error: argument \(bad) is not valid UTF-8: minibatch-cli takes its paths and values as UTF-8 text (give the file a UTF-8 name, or a link with one)")
            Glibc.exit(Status.usage)
        }
        if let unknown = unknownHelpTopic() {
            // ArgumentParser's `help` prints the overview for a name it does not know, and
            // exits 0: a script that asks `help trian` should learn that it is not a command.
            printError(
                "Error: 'help \(unknown)': no such subcommand (\(configuration.subcommands.map { $0._commandName }.joined(separator: ", ")))")
            Glibc.exit(Status.usage)
        }
        main(nil)
    }

    /// The name after `help` (the first argument) where it names no subcommand.
    static func unknownHelpTopic() -> String? {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3, arguments[1] == "help", !arguments[2].hasPrefix("-"), arguments[2] != "help" else { return nil }
        return configuration.subcommands.contains { $0._commandName == arguments[2] } ? nil : arguments[2]
    }

    /// The position (from 1) of the first command-line argument that is not valid UTF-8.
    static func firstArgumentNotUTF8() -> Int? {
        for k in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[k] else { continue }
            if String(validatingCString: argument) == nil { return k }
        }
        return nil
    }
}
