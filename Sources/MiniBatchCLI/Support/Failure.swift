#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import MiniBatch

/// The tool's exit statuses (listed in `minibatch-cli --help`).
enum Status {
    /// The library refused a value or a file, or training failed (diverged, out of memory).
    static let failure: Int32 = 1
    /// The command line could not be parsed (argument-parser's EX_USAGE).
    static let usage: Int32 = 64
    /// Ctrl-C stopped training; the model was saved (128 + SIGINT).
    static let interrupted: Int32 = 130
}

/// A library error as the tool prints it: the option that the library's name stands for
/// first, so that `--epochs 0` reads `--epochs: epochs must be at least 1, got 0`.
struct Failure: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) { self.message = message }

    init(_ error: MiniBatchError, options: [(library: String, option: String)] = Failure.names) {
        var text = error.message
        // The training call's validation set: its messages begin so, and name X and y as the
        // training data's are named.
        let validation = text.hasPrefix("validation set: ")
        let options = validation ? Failure.validationSetNames : options
        for (constant, word) in Failure.constants { text = text.replacing(constant, with: word) }
        // A bad value, or a file that cannot be opened or read: named by its option.
        if [.invalidArgument, .io, .format].contains(error.kind),
           let option = Failure.option(named: text, in: options) ?? (validation ? "--validation-x" : nil) {
            text = "\(option): \(text)"
        }
        message = text
    }

    var description: String { message }

    /// The library's names of arguments (its messages name C fields) and the options
    /// that set them, in the order they are looked for in a message.
    static let names: [(library: String, option: String)] = [
        ("epochs", "--epochs"), ("batch_size", "--batch-size"), ("learning_rate", "--learning-rate"),
        ("min_learning_rate", "--min-learning-rate"), ("threads", "--threads"), ("shards", "--shards"), ("denormals", "--keep-denormals"),
        ("momentum_decay", "--momentum-decay"), ("momentum", "--momentum"), ("nesterov", "--momentum"), ("rho", "--rho"), ("beta1", "--beta1"),
        ("beta2", "--beta2"), ("epsilon", "--epsilon"), ("weight_decay", "--weight-decay"), ("coupled_weight_decay", "--weight-decay"), ("l2", "--l2"),
        ("clip_norm", "--clip-norm"), ("clip_value", "--clip-value"), ("lr_decay", "--lr-decay"),
        ("initial_accumulator_value", "--initial-accumulator"), ("dropout", "--dropout"), ("label_smoothing", "--label-smoothing"),
        ("validation_fraction", "--validation-fraction"), ("patience", "--patience"), ("monitor", "--monitor"),
        ("min_delta", "--min-delta"), ("step_epochs", "--step-every"), ("gamma", "--gamma"), ("power_t", "--power"),
        ("cosine_epochs", "--cosine-period"), ("milestones", "--milestones"), ("restart_multiplier", "--restart-multiplier"), ("warmup_epochs", "--warmup-epochs"),
        ("pct_start", "--pct-start"), ("final_div_factor", "--final-div-factor"), ("div_factor", "--div-factor"),
        ("cycle_momentum", "--cycle-momentum"), ("base_momentum", "--base-momentum"), ("max_momentum", "--max-momentum"),
        ("three_phase", "--three-phase"), ("anneal_strategy", "--anneal-strategy"),
        ("plateau_patience", "--plateau-patience"), ("plateau_threshold_mode", "--plateau-threshold-mode"),
        ("plateau_threshold", "--plateau-threshold"), ("plateau_cooldown", "--plateau-cooldown"), ("plateau_eps", "--plateau-eps"),
        ("cyclic_step_size_up", "--cyclic-step-size-up"), ("cyclic_step_size_down", "--cyclic-step-size-down"),
        ("cyclic_mode", "--cyclic-mode"),
        ("warmup_start_factor", "--warmup-start-factor"), ("memory_budget", "--memory-budget"), ("block_bytes", "--block-bytes"),
        ("X file", "--x"), ("y file", "--y"), ("noise", "--noise"), ("m", "--m"), ("layer_sizes", "--layers"),
        ("activations", "--activation"), ("loss", "--loss"), ("n_features", "--layers"), ("inputs", "--layers"),
        ("outputs", "--layers"), ("y holds integer class labels", "--loss"), ("X has", "--x"), ("y has", "--y"),
        ("y[", "--y"), ("labels", "--y"), ("y_type", "--loss"),
    ]

    /// `names` with the options of some library names replaced (the same words name other
    /// options in another command: a data mismatch is --x's in eval, not --layers').
    static func names(replacing replacements: [String: String]) -> [(library: String, option: String)] {
        let known = Set(names.map(\.library))
        return names.map { ($0.library, replacements[$0.library] ?? $0.option) }
            + replacements.filter { !known.contains($0.key) }.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
    }

    /// `names` for the validation files (`--validation-x`, `--validation-y`).
    static let validationSetNames = names(replacing: [
        "X file": "--validation-x", "y file": "--validation-y", "X has": "--validation-x", "y has": "--validation-y",
        "y[": "--validation-y", "labels": "--validation-y", "n_features": "--validation-x", "inputs": "--validation-x",
        "outputs": "--validation-y",
    ])

    /// The C constants in the library's messages, in the tool's words.
    static let constants: [(String, String)] = [
        ("MB_BATCH_AUTO", "auto"), ("MB_LOSS_CROSS_ENTROPY", "cross-entropy"),
        ("MB_LOSS_BINARY_CROSS_ENTROPY", "binary-cross-entropy"), ("MB_LOSS_MSE", "mse"), ("MB_LOSS_POISSON", "poisson"),
        ("MB_MONITOR_VALIDATION_SCORE", "validation-score"),
        ("(validation_x, validation_dataset or validation_fraction)", "(--validation-x and --validation-y, or --validation-fraction)"),
        ("MB_TARGETS_CLASS_INDEX", "integer class labels"), ("MB_TARGETS_FLOAT32 targets", "float32 targets"),
        ("MB_TARGETS_FLOAT32", "float32 targets"),
        ("(the default: denormals MB_DENORMALS_FLUSH in C, flush_denormals=True in Python, flushesDenormals in Swift)", "(the default)"),
        ("(MB_DENORMALS_KEEP, flush_denormals=False)", "(--keep-denormals)"),
    ]

    /// The option of the first library name that appears in `message` as a word, outside
    /// what it quotes (a file's name: `cannot open 'runs/m.mbm'` names no --m).
    static func option(named message: String, in options: [(library: String, option: String)]) -> String? {
        let text = unquoted(message)
        var best: (position: Int, option: String)?
        for (name, option) in options {
            guard let position = wordPosition(of: name, in: text) else { continue }
            if best == nil || position < best!.position { best = (position, option) }
        }
        return best?.option
    }

    /// `text` with what its single quotes enclose blanked (the same length): a quote opens
    /// after the start or a character that is not a letter or digit, and closes before the
    /// end or such a character (an apostrophe inside a word, "the model's", does neither).
    static func unquoted(_ text: String) -> String {
        var characters = Array(text)
        func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber }
        var open: Int? = nil
        for i in characters.indices where characters[i] == "'" {
            if let start = open {
                if i + 1 == characters.count || !isWordCharacter(characters[i + 1]) {
                    for j in (start + 1)..<i { characters[j] = " " }
                    open = nil
                }
            } else if i == 0 || !isWordCharacter(characters[i - 1]) {
                open = i
            }
        }
        return String(characters)
    }

    /// Where `word` first occurs in `text` not inside a longer word, in characters.
    private static func wordPosition(of word: String, in text: String) -> Int? {
        let characters = Array(text), target = Array(word)
        guard target.count <= characters.count else { return nil }
        func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        for start in 0...(characters.count - target.count) where Array(characters[start..<start + target.count]) == target {
            let before = start == 0 || !isWordCharacter(characters[start - 1]) || !isWordCharacter(target[0])
            let end = start + target.count
            let after = end == characters.count || !isWordCharacter(characters[end]) || !isWordCharacter(target.last!)
            if before && after { return start }
        }
        return nil
    }
}

/// Runs `body`, turning a library error into a `Failure` that names the option (`names`:
/// the library's names and the options they stand for).
func library<T>(
    names: [(library: String, option: String)] = Failure.names, _ body: () throws(MiniBatchError) -> T
) throws -> T {
    do {
        return try body()
    } catch {
        throw Failure(error, options: names)
    }
}

/// Prints a failure to standard error as argument-parser prints errors, and exits with
/// `status`.
func exitWith(_ failure: Failure, status: Int32 = Status.failure) -> Never {
    printError("Error: \(failure.message)")
    exit(status)
}

/// A line on standard error, after what is pending on standard output.
func printError(_ text: String) {
    if fflush(nil) != 0 { outputFailed = true }
    let line = Array((text + "\n").utf8)
    var written = 0
    while written < line.count {
        let n = line[written...].withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        guard n > 0 else { return }
        written += n
    }
}

/// `text` on standard output, now (without a newline: progress lines end as they need).
func emit(_ text: String) {
    print(text, terminator: "")
    if fflush(nil) != 0 { outputFailed = true }
}

/// Whether a flush of standard output failed (`checkStandardOutput`).
nonisolated(unsafe) var outputFailed = false

/// For commands whose result is what they print (eval, info): a result that could not be
/// written is a failure (`eval ... > /dev/full` said 0), except into a pipe or socket whose
/// reader left (`| head`: the rest was not wanted). Training's exit status is its own (130
/// after Ctrl-C, the model saved), whatever became of its progress lines.
func checkStandardOutput() throws {
    guard fflush(nil) != 0 || outputFailed else { return }
    var info = stat()
    let type = fstat(STDOUT_FILENO, &info) == 0 ? info.st_mode & S_IFMT : 0
    guard type != S_IFIFO, type != S_IFSOCK else { return }
    throw Failure("cannot write standard output: the result printed is incomplete")
}
