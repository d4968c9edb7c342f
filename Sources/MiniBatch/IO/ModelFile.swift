/// The model file format (all little-endian):
///
///     "MBMODEL\0"                 8 bytes
///     u32 format version (1 or 2)
///     u32 loss (Loss.rawValue)
///     u64 epochs trained
///     u64 n_layers, then n_layers u64 layer sizes
///     n_layers - 2 u32 hidden activations (Activation.rawValue)
///     u64 n_parameters, then n_parameters float32 (the flat parameters)
///     version 2 only: tagged sections, each a 4-byte tag, a u64 length and that many bytes
///     u32 CRC-32 of every byte before it
///
/// Version 2 carries the training state (`TrainingState`), so that training resumes
/// exactly; a model without training state is written as version 1. Sections:
///
///     "OPTM"  u32 rule kind (Optimizer.Kind), u64 step, u32 slots, slots * n_parameters float32
///     "SCHD"  u64 examples seen, u32 has adaptive rate, float32 adaptive rate
///     "STOP"  float64 best cost, u64 epochs without improvement, u64 best epoch,
///             u32 has best weights, then n_parameters float32 if it has
///     "STPS"  the same, for early stopping that monitors the validation score (0.4.0):
///             float64 best score (a reader older than the tag skips it, and starts its
///             count afresh, where it would have read a score as a cost)
///     "PLAT"  the plateau schedule's state (0.11.0; written when it has any): u32 monitor
///             (EarlyStopping.Monitor), u32 has rate, float64 rate, float64 best value
///             (a cost, or a score as it is), u64 bad epochs, u64 cooldown epochs left
///
/// A reader skips sections whose tag it does not know, so later versions can add some.
enum ModelFile {
    static let magic: [UInt8] = Array("MBMODEL".utf8) + [0]
    /// The newest version this library reads and writes.
    static let version: UInt32 = 2
    /// Refuse to read anything larger: a model this size does not fit a float32 index.
    static let maxBytes = 1 << 40

    /// The file's bytes in memory (`save` streams them to the file instead: a copy of the
    /// whole file in memory was one more model's worth, and a failed allocation of it
    /// ended the process).
    static func encode(_ network: Network) throws(MiniBatchError) -> [UInt8] {
        var out = Encoder(sink: [UInt8]())
        try write(network, &out)
        return out.sink
    }

    /// Writes `network` through `out`, the checksum last.
    static func write<Sink: ModelFileSink>(_ network: Network, _ out: inout Encoder<Sink>) throws(MiniBatchError) {
        let state = network.trainingState
        let hasState = !state.isFresh
        out.append(magic)
        try out.append(hasState ? version : 1)
        try out.append(UInt32(network.loss.rawValue))
        try out.append(UInt64(network.epochsTrained))
        let sizes = network.layerSizes
        try out.append(UInt64(sizes.count))
        for size in sizes { try out.append(UInt64(size)) }
        for activation in network.hiddenActivations { try out.append(UInt32(activation.rawValue)) }
        try out.append(UInt64(network.parameterCount))
        try out.appendFloats(network.parameters, network.parameterCount)
        if hasState { try writeSections(state, &out) }
        try out.finish()
    }

    /// Version 2's sections; each one's length is written before its body, so it is
    /// counted here from what the body holds.
    private static func writeSections<Sink: ModelFileSink>(
        _ state: TrainingState, _ out: inout Encoder<Sink>
    ) throws(MiniBatchError) {
        let n = state.parameterCount
        try out.section("OPTM", length: 4 + 8 + 4 + 4 * state.slots.count * n)
        try out.append(UInt32(state.kind.rawValue))
        try out.append(UInt64(state.step))
        try out.append(UInt32(state.slots.count))
        for slot in state.slots { try out.appendFloats(slot, n) }
        try out.section("SCHD", length: 8 + 4 + 4)
        try out.append(UInt64(state.examplesSeen))
        try out.append(UInt32(state.adaptiveRate == nil ? 0 : 1))
        try out.append((state.adaptiveRate ?? 0).bitPattern)
        let score = state.monitor == .validationScore
        try out.section(score ? "STPS" : "STOP", length: 8 + 8 + 8 + 4 + (state.bestParameters == nil ? 0 : 4 * n))
        try out.append((score ? -state.best : state.best).bitPattern)
        try out.append(UInt64(state.badEpochs))
        try out.append(UInt64(state.bestEpoch))
        try out.append(UInt32(state.bestParameters == nil ? 0 : 1))
        if let best = state.bestParameters { try out.appendFloats(best, n) }
        let plateau = state.plateau
        if !plateau.isFresh {
            try out.section("PLAT", length: 4 + 4 + 8 + 8 + 8 + 8)
            try out.append(UInt32(plateau.monitor.rawValue))
            try out.append(UInt32(plateau.rate == nil ? 0 : 1))
            try out.append((plateau.rate ?? 0).bitPattern)
            try out.append((plateau.monitor == .validationScore ? -plateau.best : plateau.best).bitPattern)
            try out.append(UInt64(plateau.badEpochs))
            try out.append(UInt64(plateau.cooldown))
        }
    }

    /// Bytes on their way to a sink, in blocks of up to `blockBytes`, with the CRC-32 of
    /// every byte passed on.
    struct Encoder<Sink: ModelFileSink> {
        var sink: Sink
        private var crc = CRC32.start
        private var block: [UInt8] = []
        static var blockBytes: Int { 1 << 16 }

        init(sink: Sink) {
            self.sink = sink
            block.reserveCapacity(Encoder.blockBytes)
        }

        /// (The signature: never a block's end.)
        mutating func append(_ bytes: [UInt8]) { block.append(contentsOf: bytes) }

        mutating func append<T: FixedWidthInteger>(_ value: T) throws(MiniBatchError) {
            withUnsafeBytes(of: value.littleEndian) { block.append(contentsOf: $0) }
            if block.count >= Encoder.blockBytes { try flush() }
        }

        mutating func appendFloats(_ values: UnsafePointer<Float>, _ count: Int) throws(MiniBatchError) {
            for i in 0..<count { try append(values[i].bitPattern) }
        }

        mutating func section(_ tag: String, length: Int) throws(MiniBatchError) {
            append(Array(tag.utf8))
            try append(UInt64(length))
        }

        mutating func flush() throws(MiniBatchError) {
            // (Array's withUnsafeBytes rethrows as `any Error`: the failure is kept aside.)
            var failure: MiniBatchError? = nil
            block.withUnsafeBytes { bytes in
                crc = CRC32.update(crc, bytes)
                do throws(MiniBatchError) { try sink.put(bytes) } catch { failure = error }
            }
            if let failure { throw failure }
            block.removeAll(keepingCapacity: true)
        }

        /// The last block, then the checksum of every byte before it.
        mutating func finish() throws(MiniBatchError) {
            try flush()
            try withUnsafeBytes(of: CRC32.value(crc).littleEndian) { (bytes) throws(MiniBatchError) in try sink.put(bytes) }
        }
    }

    static func decode(_ bytes: [UInt8], path: String) throws(MiniBatchError) -> Network {
        var result: Result<Network, MiniBatchError>? = nil
        bytes.withUnsafeBytes { raw in
            do throws(MiniBatchError) { result = .success(try decode(raw, path: path)) } catch { result = .failure(error) }
        }
        return try result!.get()
    }

    /// Whether `prefix` (a file's first bytes) starts as a model file does.
    static func hasSignature(_ prefix: UnsafeRawBufferPointer) -> Bool {
        prefix.count >= magic.count && prefix.prefix(magic.count).elementsEqual(magic)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(MiniBatchError) -> Network {
        func corrupt(_ what: String) -> MiniBatchError {
            MiniBatchError(.format, "'\(path)' is not a valid minibatch model file: \(what)")
        }
        guard hasSignature(bytes) else {
            throw corrupt("it does not start with the MBMODEL signature")
        }
        // Every field is read from the body, the bytes before the CRC: a truncated file's
        // fields end there, never in the checksum.
        guard bytes.count >= magic.count + 8 else { throw corrupt("truncated header") }
        let body = bytes.count - 4
        var reader = Reader(bytes: bytes, end: body)
        reader.offset = magic.count
        guard let version: UInt32 = reader.next() else { throw corrupt("truncated header") }
        guard version == 1 || version == 2 else {
            throw corrupt("format version \(version) (this library reads versions 1 and 2)")
        }
        let stored = UInt32(bytes[body]) | UInt32(bytes[body + 1]) << 8 | UInt32(bytes[body + 2]) << 16 | UInt32(bytes[body + 3]) << 24
        let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<body]))
        guard stored == computed else { throw corrupt("checksum mismatch (the file is truncated or corrupted)") }

        guard let lossRaw: UInt32 = reader.next(), let loss = Loss(rawValue: Int(lossRaw)) else { throw corrupt("unknown loss") }
        guard let epochs: UInt64 = reader.next(), epochs <= UInt64(Int.max) else { throw corrupt("bad epoch count") }
        // At most 2^20 layers, as mb_model_create takes: checked before the arrays of sizes
        // and activations are built (a count the file's length allows, 10^8, ended the
        // process in Swift's allocator under an address-space limit).
        guard let layerCount: UInt64 = reader.next(), layerCount >= 2, layerCount <= UInt64(body / 8),
              layerCount <= 1 << 20 else {
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
        let rest = UInt64(body - reader.offset)
        guard version == 1 ? parameterCount == rest / 4 && rest % 4 == 0 : parameterCount <= rest / 4 else {
            throw corrupt("the parameter count (\(parameterCount)) does not match the file size (\(rest) bytes of parameters)")
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
        if version == 2 { try readSections(&reader, into: network.trainingState, corrupt) }
        return network
    }

    /// Reads version 2's sections into `state`, each checked whole before it is used.
    private static func readSections(
        _ reader: inout Reader, into state: TrainingState, _ corrupt: (String) -> MiniBatchError
    ) throws(MiniBatchError) {
        let n = state.parameterCount
        func floats(_ r: inout Reader, _ out: UnsafeMutablePointer<Float>, _ what: String) throws(MiniBatchError) {
            for i in 0..<n {
                guard let bits: UInt32 = r.next() else { throw corrupt("truncated \(what)") }
                let value = Float(bitPattern: bits)
                guard value.isFinite else { throw corrupt("\(what) value \(i) is not finite") }
                out[i] = value
            }
        }
        while reader.offset < reader.end {
            guard let tagBits: UInt32 = reader.next(), let length: UInt64 = reader.next(),
                  length <= UInt64(reader.end - reader.offset) else { throw corrupt("truncated section") }
            let end = reader.offset + Int(length)
            var r = Reader(bytes: reader.bytes, end: end)
            r.offset = reader.offset
            let tag = String(decoding: withUnsafeBytes(of: tagBits.littleEndian) { Array($0) }, as: UTF8.self)
            switch tag {
            case "OPTM":
                guard let kindRaw: UInt32 = r.next(), let kind = Optimizer.Kind(rawValue: Int(kindRaw)) else {
                    throw corrupt("unknown update rule")
                }
                guard let step: UInt64 = r.next(), step <= UInt64(Int.max), let slots: UInt32 = r.next(),
                      Int(slots) == Optimizer.slots(kind), UInt64(slots) * UInt64(n) * 4 == UInt64(end - r.offset) else {
                    throw corrupt("bad update rule state")
                }
                try state.prepare(kind)
                for slot in state.slots { try floats(&r, slot, "update rule state") }
                state.step = Int(step)
            case "SCHD":
                guard let seen: UInt64 = r.next(), seen <= UInt64(Int.max), let has: UInt32 = r.next(), has <= 1,
                      let rateBits: UInt32 = r.next(), r.offset == end else { throw corrupt("bad schedule state") }
                let rate = Float(bitPattern: rateBits)
                guard has == 0 || (rate.isFinite && rate > 0) else { throw corrupt("bad adaptive learning rate") }
                state.examplesSeen = Int(seen)
                state.adaptiveRate = has == 1 ? rate : nil
            case "STOP", "STPS":
                guard let bestBits: UInt64 = r.next(), let bad: UInt64 = r.next(), bad <= UInt64(Int.max),
                      let bestEpoch: UInt64 = r.next(), bestEpoch <= UInt64(Int.max), let has: UInt32 = r.next(), has <= 1,
                      UInt64(end - r.offset) == UInt64(has) * UInt64(n) * 4 else { throw corrupt("bad early-stopping state") }
                let best = Double(bitPattern: bestBits)
                guard !best.isNaN else { throw corrupt("bad early-stopping best cost") }
                if has == 1 {
                    try state.keepBest()
                    try floats(&r, state.bestParameters!, "best weights")
                }
                state.monitor = tag == "STPS" ? .validationScore : .cost
                state.best = tag == "STPS" ? -best : best
                state.badEpochs = Int(bad)
                state.bestEpoch = Int(bestEpoch)
            case "PLAT":
                guard let monitorRaw: UInt32 = r.next(), let monitor = EarlyStopping.Monitor(rawValue: Int(monitorRaw)),
                      let has: UInt32 = r.next(), has <= 1, let rateBits: UInt64 = r.next(), let bestBits: UInt64 = r.next(),
                      let bad: UInt64 = r.next(), bad <= UInt64(Int.max), let cooldown: UInt64 = r.next(),
                      cooldown <= UInt64(Int.max), r.offset == end else { throw corrupt("bad plateau schedule state") }
                let rate = Double(bitPattern: rateBits), best = Double(bitPattern: bestBits)
                guard has == 0 || (rate.isFinite && rate > 0) else { throw corrupt("bad plateau learning rate") }
                guard !best.isNaN else { throw corrupt("bad plateau best value") }
                state.plateau = PlateauState(
                    rate: has == 1 ? rate : nil, monitor: monitor, best: monitor == .validationScore ? -best : best,
                    badEpochs: Int(bad), cooldown: Int(cooldown))
            default:
                break  // a later version's section
            }
            reader.offset = end
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
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
    /// The bytes go to the file a block at a time as they are encoded: nothing the size
    /// of the model is allocated.
    public func save(to path: String) throws(MiniBatchError) {
        guard !path.isEmpty else { throw .invalid("path is empty") }
        try access.read { () throws(MiniBatchError) in
            let file = try AtomicFile(path: path)
            var out = ModelFile.Encoder(sink: file)
            try ModelFile.write(self, &out)
            try file.commit()
        }
    }

    /// Reads a network written by `save(to:)`. A truncated, corrupted or foreign file is
    /// refused with `.format`; an unreadable one with `.io`.
    public static func load(from path: String) throws(MiniBatchError) -> Network {
        guard !path.isEmpty else { throw .invalid("path is empty") }
        return try File.withContents(
            path, limit: ModelFile.maxBytes, what: "model file", accept: ModelFile.hasSignature,
            refused: "it does not start with the MBMODEL signature"
        ) { (bytes) throws(MiniBatchError) in try ModelFile.decode(bytes, path: path) }
    }
}

/// Where `ModelFile.write` puts a file's bytes, in order.
protocol ModelFileSink {
    mutating func put(_ bytes: UnsafeRawBufferPointer) throws(MiniBatchError)
}

extension Array: ModelFileSink where Element == UInt8 {
    mutating func put(_ bytes: UnsafeRawBufferPointer) { append(contentsOf: bytes) }
}

extension AtomicFile: ModelFileSink {
    func put(_ bytes: UnsafeRawBufferPointer) throws(MiniBatchError) {
        if let base = bytes.baseAddress { try write(base, count: bytes.count) }
    }
}
