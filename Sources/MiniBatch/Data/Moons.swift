/// The built-in default dataset: two interleaving half circles ("moons").
public enum Moons {
    /// Writes m points into x (m, 2) and their labels into y (m): rows alternate class 0, 1,
    /// 0, ...; class 0 lies on the upper arc (cos t, sin t), class 1 on the lower arc
    /// (1 - cos t, 0.5 - sin t), t evenly spaced over [0, pi] within each class. Gaussian
    /// noise of standard deviation `noise` is added to every coordinate in row order, drawn
    /// as the normal sequence of stream (seed, Generator.initStream).
    public static func generate(
        x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Int32>, count m: Int,
        noise: Float, seed: UInt64
    ) throws(MiniBatchError) {
        // x holds 2 floats a row: 8 bytes.
        try Validate.count(m, "m", elementBytes: 8)
        guard m >= 2 else { throw .invalid("m must be at least 2 (one point per moon), got \(m)") }
        // The normal draws are at most sqrt(-2 ln 2^-53) < 8.6 in size (Box-Muller on 53-bit
        // uniforms), so a coordinate is at most 1.5 + 8.6 noise: up to 1e37 it is a float
        // (3.4e38 gave Inf coordinates with MB_OK).
        guard noise.isFinite, noise >= 0, noise <= 1e37 else {
            throw .invalid("noise must be finite, >= 0 and <= 1e37 (larger noise makes coordinates overflow float), got \(noise)")
        }
        let perClass = [(m + 1) / 2, m / 2]
        var normals = NormalSequence(seed: seed)
        for i in 0..<m {
            let label = i % 2
            let k = i / 2
            let t = perClass[label] > 1 ? Double.pi * Double(k) / Double(perClass[label] - 1) : 0
            var px = _cos(t), py = _sin(t)
            if label == 1 {
                px = 1 - px
                py = 0.5 - py
            }
            x[2 * i] = Float(px + Double(noise) * normals.next())
            x[2 * i + 1] = Float(py + Double(noise) * normals.next())
            y[i] = Int32(label)
        }
    }

    /// The moons as arrays: x (m * 2) row-major and y (m).
    public static func make(count m: Int, noise: Float = 0.1, seed: UInt64 = 0) throws(MiniBatchError) -> (x: [Float], y: [Int32]) {
        try Validate.count(m, "m", elementBytes: 8)
        try Validate.fitsMemory(m, elementBytes: 12, "\(m) moons (x and y)")
        var x = [Float](repeating: 0, count: 2 * m), y = [Int32](repeating: 0, count: m)
        try x.withUnsafeMutableBufferPointer { (xs) throws(MiniBatchError) in
            try y.withUnsafeMutableBufferPointer { (ys) throws(MiniBatchError) in
                try generate(x: xs.baseAddress!, y: ys.baseAddress!, count: m, noise: noise, seed: seed)
            }
        }
        return (x, y)
    }
}
