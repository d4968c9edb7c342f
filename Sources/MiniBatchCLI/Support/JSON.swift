#if canImport(Glibc)
import Glibc
#endif
import MiniBatch

/// A JSON value, written on one line. Non-finite numbers are written as null.
enum JSON {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSON])
    /// Keys in the order given.
    case object([(String, JSON)])

    static func optional(_ value: Double?) -> JSON { value.map(JSON.number) ?? .null }
    static func optional(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
    static func numbers(_ values: [Double]) -> JSON { .array(values.map(JSON.number)) }

    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += "\(value)"
        case .number(let value): out += value.isFinite ? "\(value)" : "null"
        case .string(let value): JSON.quote(value, into: &out)
        case .array(let values):
            out += "["
            for (i, value) in values.enumerated() {
                if i > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += ", " }
                JSON.quote(key, into: &out)
                out += ": "
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// Whether `path` can take an atomic write (`File.checkWritable`: not a device or a
/// directory, and its temporary file can be made), named by `option` in the failure.
func checkWritable(_ path: String, _ option: String) throws {
    do throws(MiniBatchError) {
        try File.checkWritable(path, option)
    } catch {
        throw Failure(error.message.hasPrefix(option) ? error.message : "\(option): \(error.message)")
    }
}

/// Writes `text` to `path` atomically, as the library writes its files (`File.writeAtomically`:
/// a temporary file, flushed and renamed over it, removed on failure or by a fatal signal the
/// tool handles), so that a reader never sees half a file; a failure names `option`.
func writeTextFile(_ text: String, to path: String, option: String) throws {
    let bytes = Array(text.utf8)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
    defer { buffer.deallocate() }
    buffer.copyBytes(from: bytes)
    do throws(MiniBatchError) {
        try File.writeAtomically(UnsafeRawBufferPointer(rebasing: buffer[..<bytes.count]), to: path)
    } catch {
        throw Failure("\(option): \(error.message)")
    }
}
