/// The model file format, version 1 (all little-endian):
///
///     "MBMODEL\0"                 8 bytes
///     u32 format version (1)
///     u32 loss (Loss.rawValue)
///     u64 epochs trained
///     u64 n_layers, then n_layers u64 layer sizes
///     n_layers - 2 u32 hidden activations (Activation.rawValue)
///     u64 n_parameters, then n_parameters float32 (the flat parameters)
///     u32 CRC-32 of every byte before it
enum ModelFile {
    static let magic: [UInt8] = Array("MBMODEL".utf8) + [0]
    static let version: UInt32 = 1
    /// Refuse to read anything larger: a model this size does not fit a float32 index.
    static let maxBytes = 1 << 40

    static func encode(_ network: Network) -> [UInt8] {
        var out = magic
        out.reserveCapacity(64 + 12 * network.layers.count + 4 * network.parameterCount)
        append(&out, version)
        append(&out, UInt32(network.loss.rawValue))
        append(&out, UInt64(network.epochsTrained))
        let sizes = network.layerSizes
        append(&out, UInt64(sizes.count))
        for size in sizes { append(&out, UInt64(size)) }
        for activation in network.hiddenActivations { append(&out, UInt32(activation.rawValue)) }
        append(&out, UInt64(network.parameterCount))
        for i in 0..<network.parameterCount { append(&out, network.parameters[i].bitPattern) }
        append(&out, out.withUnsafeBytes { CRC32.checksum($0) })
        return out
    }

    static func decode(_ bytes: [UInt8], path: String) throws(MiniBatchError) -> Network {
        func corrupt(_ what: String) -> MiniBatchError {
            MiniBatchError(.format, "'\(path)' is not a valid minibatch model file: \(what)")
        }
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw corrupt("it does not start with the MBMODEL signature")
        }
        // Every field is read from the body, the bytes before the CRC: a truncated file's
        // fields end there, never in the checksum.
        guard bytes.count >= magic.count + 8 else { throw corrupt("truncated header") }
        let body = bytes.count - 4
        var reader = Reader(bytes: bytes, end: body)
        reader.offset = magic.count
        guard let version: UInt32 = reader.next() else { throw corrupt("truncated header") }
        guard version == ModelFile.version else {
            throw corrupt("format version \(version) (this library reads version \(ModelFile.version))")
        }
        let stored = UInt32(bytes[body]) | UInt32(bytes[body + 1]) << 8 | UInt32(bytes[body + 2]) << 16 | UInt32(bytes[body + 3]) << 24
        let computed = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard stored == computed else { throw corrupt("checksum mismatch (the file is truncated or corrupted)") }

        guard let lossRaw: UInt32 = reader.next(), let loss = Loss(rawValue: Int(lossRaw)) else { throw corrupt("unknown loss") }
        guard let epochs: UInt64 = reader.next(), epochs <= UInt64(Int.max) else { throw corrupt("bad epoch count") }
        guard let layerCount: UInt64 = reader.next(), layerCount >= 2, layerCount <= UInt64(body / 8) else {
            throw corrupt("bad layer count")
        }
        var sizes: [Int] = []
        for _ in 0..<layerCount {
            guard let size: UInt64 = reader.next(), size >= 1, size <= UInt64(Validate.maxDimension) else { throw corrupt("bad layer size") }
            sizes.append(Int(size))
        }
        var activations: [Activation] = []
        for _ in 0..<(layerCount - 2) {
            guard let raw: UInt32 = reader.next(), let activation = Activation(rawValue: Int(raw)) else { throw corrupt("unknown activation") }
            activations.append(activation)
        }
        guard let parameterCount: UInt64 = reader.next() else { throw corrupt("truncated header") }
        // The whole header is checked before anything is allocated: the parameters the
        // layers need, counted without overflow, must be the count stored, and the count
        // must fill the rest of the file exactly, so what is allocated is bounded by the
        // file's length.
        guard parameterCount == UInt64(body - reader.offset) / 4, (body - reader.offset) % 4 == 0 else {
            throw corrupt("the parameter count (\(parameterCount)) does not match the file size (\(body - reader.offset) bytes of parameters)")
        }
        guard let needed = Validate.parameterCount(sizes) else {
            throw corrupt("the layer sizes need more parameters than can be addressed")
        }
        guard needed == Int(parameterCount) else {
            throw corrupt("the parameter count (\(parameterCount)) does not match the layer sizes (\(needed))")
        }
        let network: Network
        do {
            network = try Network(layerSizes: sizes, hiddenActivations: activations, loss: loss)
        } catch {
            throw error.kind == .invalidArgument ? corrupt(error.message) : error
        }
        for i in 0..<network.parameterCount {
            let bits: UInt32 = reader.next()!
            let value = Float(bitPattern: bits)
            guard value.isFinite else { throw corrupt("parameter \(i) is not finite") }
            network.parameters[i] = value
        }
        network.epochsTrained = Int(epochs)
        return network
    }

    private static func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private struct Reader {
        let bytes: [UInt8]
        /// Reads stop here (the checksum's offset).
        let end: Int
        var offset = 0

        mutating func next<T: FixedWidthInteger>() -> T? {
            let size = MemoryLayout<T>.size
            guard offset <= end - size else { return nil }
            var value: T = 0
            for k in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + k]) << (8 * k) }
            offset += size
            return value
        }
    }
}

// MARK: - Save and load

extension Network {
    /// Writes the network to `path` atomically (see `ModelFile` for the format).
    public func save(to path: String) throws(MiniBatchError) {
        guard !path.isEmpty else { throw .invalid("path is empty") }
        let bytes = try access.read { () throws(MiniBatchError) in ModelFile.encode(self) }
        var failure: MiniBatchError? = nil
        bytes.withUnsafeBytes { buffer in
            do throws(MiniBatchError) { try File.writeAtomically(buffer, to: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads a network written by `save(to:)`. A truncated, corrupted or foreign file is
    /// refused with `.format`; an unreadable one with `.io`.
    public static func load(from path: String) throws(MiniBatchError) -> Network {
        guard !path.isEmpty else { throw .invalid("path is empty") }
        return try ModelFile.decode(File.read(path, limit: ModelFile.maxBytes), path: path)
    }
}
