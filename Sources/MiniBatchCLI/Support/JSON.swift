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

/// Refuses `path` (given with `option`) if it exists and is not a regular file: an output
/// written beside it and renamed over it would replace a device, a FIFO or a directory.
/// (The library's atomic writer refuses them with the same check, `File.checkTarget`; the
/// tool checks its outputs before training, not after.)
func checkReplaceable(_ path: String, _ option: String) throws {
    do throws(MiniBatchError) {
        try File.checkTarget(path, option)
    } catch {
        throw Failure(error.message)
    }
}

/// Writes `text` to `path` through a temporary file renamed over it, so that a reader never
/// sees half a file.
func writeTextFile(_ text: String, to path: String) throws {
    try checkReplaceable(path, "the output")
    let temporary = path + ".tmp-\(getpid())"
    guard let file = fopen(temporary, "w") else {
        throw Failure("cannot write '\(path)': \(String(cString: strerror(errno)))")
    }
    let written = fputs(text, file) >= 0
    let closed = fclose(file) == 0
    guard written, closed, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw Failure("cannot write '\(path)': \(reason)")
    }
}
