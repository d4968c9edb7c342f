#if canImport(Glibc)
import Glibc
#endif
import MiniBatch

/// The training state a model file carries, read from its tagged sections (the format is
/// documented in Sources/MiniBatch/IO/ModelFile.swift). Read only after `Network.load` has
/// accepted the file (signature, checksum, sizes), from the bytes after the parameters.
struct ModelSummary {
    var formatVersion: UInt32 = 0
    var fileBytes = 0
    /// OPTM: the rule whose state the file keeps, its updates and its floats per parameter.
    var rule: Optimizer.Kind?
    var step: UInt64 = 0
    var slots: UInt32 = 0
    /// SCHD
    var examplesSeen: UInt64?
    var adaptiveRate: Float?
    /// STOP (a cost), or STPS (a validation score, `monitorsScore`)
    var bestCost: Double?
    var monitorsScore = false
    var badEpochs: UInt64 = 0
    var bestEpoch: UInt64 = 0
    var keepsBestWeights = false
    /// PLAT: the plateau schedule's rate, best value (a cost, or a score), bad epochs and
    /// cooldown left.
    var plateauRate: Double?
    var plateauMonitorsScore = false
    var plateauBest: Double?
    var plateauBadEpochs: UInt64 = 0
    var plateauCooldown: UInt64 = 0
    /// Sections this tool does not know.
    var otherSections: [String] = []

    var hasState: Bool { formatVersion >= 2 }

    init(path: String, network: Network) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        fileBytes = Int(info.st_size)
        let layers = network.layerSizes.count
        let parametersEnd = 8 + 4 + 4 + 8 + 8 + 8 * layers + 4 * (layers - 2) + 8 + 4 * network.parameterCount
        // The version, then the sections: from the parameters' end to the checksum.
        formatVersion = try read(fd, at: 8, count: 4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
        guard hasState, fileBytes - 4 > parametersEnd else { return }
        let bytes = try read(fd, at: parametersEnd, count: fileBytes - 4 - parametersEnd)
        var reader = ByteReader(bytes: bytes)
        while reader.remaining >= 12 {
            // (shown printable: an unknown tag's control bytes went to the terminal as they were)
            let tag = String(String.UnicodeScalarView(
                String(decoding: reader.take(4), as: UTF8.self).unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? "?" : $0 }))
            let length = Int(reader.u64())
            guard length <= reader.remaining else { break }
            var section = ByteReader(bytes: Array(reader.take(length)))
            switch tag {
            case "OPTM":
                rule = Optimizer.Kind(rawValue: Int(section.u32()))
                step = section.u64()
                slots = section.u32()
            case "SCHD":
                examplesSeen = section.u64()
                let hasRate = section.u32() != 0
                let rate = Float(bitPattern: section.u32())
                adaptiveRate = hasRate ? rate : nil
            case "STOP", "STPS":
                monitorsScore = tag == "STPS"
                bestCost = Double(bitPattern: section.u64())
                badEpochs = section.u64()
                bestEpoch = section.u64()
                keepsBestWeights = section.u32() != 0
            case "PLAT":
                plateauMonitorsScore = section.u32() == 1
                let hasRate = section.u32() != 0
                let rate = Double(bitPattern: section.u64())
                plateauRate = hasRate ? rate : nil
                plateauBest = Double(bitPattern: section.u64())
                plateauBadEpochs = section.u64()
                plateauCooldown = section.u64()
            default:
                otherSections.append(tag)
            }
        }
    }

    private func read(_ fd: Int32, at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard got == count else { throw Failure("cannot read the model file: it changed while it was read") }
        return bytes
    }
}

/// Little-endian fields from bytes; past the end, zeros.
private struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) -> ArraySlice<UInt8> {
        let end = min(bytes.count, offset + n)
        defer { offset = end }
        return bytes[offset..<end]
    }

    mutating func u64() -> UInt64 {
        take(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    mutating func u32() -> UInt32 {
        take(4).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
}
