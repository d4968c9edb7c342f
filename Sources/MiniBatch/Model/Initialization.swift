/// How initial weights are drawn (biases start at 0).
public enum Initialization: Int, Sendable, CaseIterable {
    /// He for layers whose activation is ReLU or leaky ReLU, Xavier for the others (SELU
    /// included: Xavier's 2 / (nIn + nOut) is LeCun's 1 / nIn, which SELU assumes, where
    /// nIn = nOut, and within a factor 2 of it otherwise).
    case automatic = 0
    /// W ~ Normal(0, 2 / nIn) (He et al., 2015).
    case he = 1
    /// W ~ Normal(0, 2 / (nIn + nOut)) (Glorot and Bengio, 2010, normal form).
    case xavier = 2

    /// The standard deviation of layer `layer`'s weights.
    func standardDeviation(for layer: Dense) -> Double {
        let useHe: Bool
        switch self {
        case .automatic: useHe = layer.activation == .relu || layer.activation == .leakyRelu
        case .he: useHe = true
        case .xavier: useHe = false
        }
        let variance = useHe ? 2.0 / Double(layer.nIn) : 2.0 / Double(layer.nIn + layer.nOut)
        return variance.squareRoot()
    }

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
