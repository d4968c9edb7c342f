import ArgumentParser
import MiniBatch

// MARK: - Values that parse from one argument
//
// Each type parses only the form: a number is any number, so that a value out of range
// reaches the library, which names what is wrong with it (`Failure`).

/// `auto` or a number of rows.
enum BatchSizeArgument: ExpressibleByArgument, Equatable, CustomStringConvertible {
    case auto
    case rows(Int)

    init?(argument: String) {
        if argument == "auto" {
            self = .auto
        } else if let rows = Int(argument) {
            self = .rows(rows)
        } else {
            return nil
        }
    }

    var batchSize: BatchSize {
        switch self {
        case .auto: .automatic
        case .rows(let rows): .fixed(rows)
        }
    }

    var description: String {
        switch self {
        case .auto: "auto"
        case .rows(let rows): "\(rows)"
        }
    }

    var defaultValueDescription: String { description }
}

/// A number of bytes: digits with an optional K, M or G suffix (powers of 1024).
struct ByteCount: ExpressibleByArgument, CustomStringConvertible {
    var bytes: Int

    init(_ bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        var digits = Substring(argument)
        var scale = 1
        switch digits.last?.uppercased() {
        case "K": scale = 1 << 10
        case "M": scale = 1 << 20
        case "G": scale = 1 << 30
        default: break
        }
        if scale != 1 { digits = digits.dropLast() }
        guard let value = Int(digits) else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    var description: String { "\(bytes)" }
    var defaultValueDescription: String { "\(bytes)" }
}

/// Comma-separated positive sizes, as in `784,128,10`.
struct SizeList: ExpressibleByArgument, CustomStringConvertible {
    var sizes: [Int]

    init?(argument: String) {
        var sizes: [Int] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let size = Int(part.trimmingCharacters(in: " ")) else { return nil }
            sizes.append(size)
        }
        self.sizes = sizes
    }

    var description: String { sizes.map(String.init).joined(separator: ",") }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}

// MARK: - Names

enum ActivationName: String, ExpressibleByArgument, CaseIterable {
    case relu, tanh, sigmoid, linear
    case leakyRelu = "leaky-relu", elu, selu, gelu, silu

    var activation: Activation {
        switch self {
        case .relu: .relu
        case .tanh: .tanh
        case .sigmoid: .sigmoid
        case .linear: .linear
        case .leakyRelu: .leakyRelu
        case .elu: .elu
        case .selu: .selu
        case .gelu: .gelu
        case .silu: .silu
        }
    }

    init(_ activation: Activation) {
        switch activation {
        case .relu: self = .relu
        case .tanh: self = .tanh
        case .sigmoid: self = .sigmoid
        case .linear: self = .linear
        case .leakyRelu: self = .leakyRelu
        case .elu: self = .elu
        case .selu: self = .selu
        case .gelu: self = .gelu
        case .silu: self = .silu
        }
    }
}

enum LossName: String, ExpressibleByArgument, CaseIterable {
    case auto
    case crossEntropy = "cross-entropy"
    case binaryCrossEntropy = "binary-cross-entropy"
    case mse
    case poisson

    static func name(_ loss: Loss) -> String {
        switch loss {
        case .crossEntropy: LossName.crossEntropy.rawValue
        case .binaryCrossEntropy: LossName.binaryCrossEntropy.rawValue
        case .meanSquaredError: LossName.mse.rawValue
        case .poisson: LossName.poisson.rawValue
        }
    }
}

enum InitializationName: String, ExpressibleByArgument, CaseIterable {
    case auto, he, xavier, lecun

    var initialization: Initialization {
        switch self {
        case .auto: .automatic
        case .he: .he
        case .xavier: .xavier
        case .lecun: .lecun
        }
    }
}

enum OptimizerName: String, ExpressibleByArgument, CaseIterable {
    case sgd, momentum, nesterov, rmsprop, adam, adamw, adagrad, adamax, nadam, radam, adadelta
    /// Adam and AdamW with AMSGrad's maximum (PyTorch's amsgrad=True).
    case amsgrad
    case adamwAMSGrad = "adamw-amsgrad"

    /// The rule whose state a model file keeps (`Optimizer.Kind`).
    init(_ kind: Optimizer.Kind) {
        switch kind {
        case .gradientDescent: self = .sgd
        case .momentum: self = .momentum
        case .rmsprop, .rmspropCentered, .rmspropMomentum, .rmspropCenteredMomentum: self = .rmsprop
        case .adam: self = .adam
        case .adamW: self = .adamw
        case .adagrad: self = .adagrad
        case .adamax: self = .adamax
        case .adamAMSGrad: self = .amsgrad
        case .adamWAMSGrad: self = .adamwAMSGrad
        case .nadam: self = .nadam
        case .radam: self = .radam
        case .adadelta: self = .adadelta
        }
    }

    /// The options beside --optimizer that select the form of the rule whose state is
    /// `kind` (RMSprop's centring and momentum; none for the others).
    static func stateOptions(_ kind: Optimizer.Kind) -> [String] {
        switch kind {
        case .rmspropCentered: ["--centered"]
        case .rmspropMomentum: ["--momentum"]
        case .rmspropCenteredMomentum: ["--centered", "--momentum"]
        default: []
        }
    }

    /// How the command line names the rule of `kind`: its name, with the options that
    /// select its form ("rmsprop --centered --momentum MU").
    static func describe(_ kind: Optimizer.Kind) -> String {
        ([OptimizerName(kind).rawValue] + stateOptions(kind).map { $0 == "--momentum" ? "--momentum MU" : $0 })
            .joined(separator: " ")
    }

}

enum ScheduleName: String, ExpressibleByArgument, CaseIterable {
    case constant, step, exponential
    case inverseTime = "inverse-time"
    case cosine, adaptive
    case multiStep = "multi-step"
    case cosineRestarts = "cosine-restarts"
    case oneCycle = "one-cycle"
    case plateau, cyclic
}

/// The cyclic schedule's mode (PyTorch's CyclicLR mode).
enum CyclicModeName: String, ExpressibleByArgument, CaseIterable {
    case triangular, triangular2
    case expRange = "exp-range"

    init(_ mode: Schedule.CyclicMode) {
        switch mode {
        case .triangular: self = .triangular
        case .triangular2: self = .triangular2
        case .exponentialRange: self = .expRange
        }
    }

    var mode: Schedule.CyclicMode {
        switch self {
        case .triangular: .triangular
        case .triangular2: .triangular2
        case .expRange: .exponentialRange
        }
    }
}

/// The plateau schedule's threshold mode (PyTorch's threshold_mode).
enum ThresholdModeName: String, ExpressibleByArgument, CaseIterable {
    case rel, abs

    init(_ mode: Schedule.ThresholdMode) { self = mode == .absolute ? .abs : .rel }

    var mode: Schedule.ThresholdMode { self == .abs ? .absolute : .relative }
}

/// One-cycle's annealing within a phase (PyTorch's anneal_strategy).
enum AnnealStrategyName: String, ExpressibleByArgument, CaseIterable {
    case cos, linear
}

/// Epochs separated by commas ("30,80"): multi-step's milestones.
struct Milestones: ExpressibleByArgument, Equatable {
    var epochs: [Int]

    init(_ epochs: [Int]) { self.epochs = epochs }

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        var epochs: [Int] = []
        for part in parts {
            guard let epoch = Int(part.trimmingPrefix(" ")) else { return nil }
            epochs.append(epoch)
        }
        self.epochs = epochs
    }

    var description: String { epochs.map(String.init).joined(separator: ",") }
}

enum MonitorName: String, ExpressibleByArgument, CaseIterable {
    case cost
    case validationScore = "validation-score"

    var monitor: EarlyStopping.Monitor { self == .cost ? .cost : .validationScore }
}

enum ShuffleName: String, ExpressibleByArgument, CaseIterable {
    case exact, block, none
}

enum PageCacheName: String, ExpressibleByArgument, CaseIterable {
    case auto, keep, release

    var pageCache: FilePageCache {
        switch self {
        case .auto: .auto
        case .keep: .keep
        case .release: .release
        }
    }
}

enum LastBatchName: String, ExpressibleByArgument, CaseIterable {
    case keep, drop

    var lastBatch: LastBatch { self == .keep ? .keep : .drop }
}

enum BuiltinName: String, ExpressibleByArgument, CaseIterable {
    case moons
}

/// How training reports each epoch.
enum ProgressFormat: String, ExpressibleByArgument, CaseIterable {
    /// `text` on a terminal, `json` otherwise.
    case auto
    /// One line per epoch, refreshed every second during long epochs.
    case text
    /// One JSON object per line.
    case json
    /// Nothing per epoch.
    case none
}
