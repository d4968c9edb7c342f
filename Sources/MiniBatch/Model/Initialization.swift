/// How initial weights are drawn (biases start at 0).
public enum Initialization: Int, Sendable, CaseIterable {
    /// He for layers whose activation is ReLU or leaky ReLU, LeCun for SELU layers (since
    /// 0.9.0; Xavier before, within a factor 2 of it), Xavier for the others (the output
    /// layer included).
    case automatic = 0
    /// W ~ Normal(0, 2 / nIn) (He et al., 2015).
    case he = 1
    /// W ~ Normal(0, 2 / (nIn + nOut)) (Glorot and Bengio, 2010, normal form).
    case xavier = 2
    /// W ~ Normal(0, 1 / nIn) (LeCun et al., 1998; PyTorch's
    /// `kaiming_normal_(nonlinearity='linear')`, the variance of Keras's truncated
    /// `lecun_normal`): the variance SELU's self-normalisation assumes (Klambauer et al.,
    /// 2017). Since 0.9.0
    case lecun = 3

    /// The variance of layer `layer`'s weights.
    func variance(for layer: Dense) -> Double {
        let rule: Initialization
        switch self {
        case .automatic:
            switch layer.activation {
            case .relu, .leakyRelu: rule = .he
            case .selu: rule = .lecun
            default: rule = .xavier
            }
        default: rule = self
        }
        switch rule {
        case .he: return 2.0 / Double(layer.nIn)
        case .lecun: return 1.0 / Double(layer.nIn)
        default: return 2.0 / Double(layer.nIn + layer.nOut)
        }
    }

    /// The standard deviation of layer `layer`'s weights.
    func standardDeviation(for layer: Dense) -> Double { variance(for: layer).squareRoot() }

    /// Fills the weights of every layer, in parameter order, with scaled normal draws
    /// N_0, N_1, ... from stream (seed, Generator.initStream), two per Box-Muller pair
    /// (counting weights only, across layers); sets every bias to 0.
    func initialize(_ parameters: UnsafeMutablePointer<Float>, layers: [Dense], seed: UInt64) {
        var normals = NormalSequence(seed: seed)
        for layer in layers {
            let std = standardDeviation(for: layer)
            let weight = parameters + layer.weightOffset
            for i in 0..<layer.nOut * layer.nIn { weight[i] = Float(std * normals.next()) }
            (parameters + layer.biasOffset).update(repeating: 0, count: layer.nOut)
        }
    }
}

/// Standard normal draws from stream (seed, Generator.initStream), in order: both values of
/// each Box-Muller pair are used, the cosine one first.
struct NormalSequence {
    var generator: Generator
    var spare: Double? = nil

    init(seed: UInt64) { generator = Generator(seed: seed, stream: Generator.initStream) }

    mutating func next() -> Double {
        if let value = spare {
            spare = nil
            return value
        }
        let (a, b) = generator.normalPair()
        spare = b
        return a
    }
}
