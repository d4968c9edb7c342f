// libFuzzer target: .npy headers and files (`make fuzz`; README "Fuzzing").
//
// The first byte chooses what the rest is: bit 0, a format 3.0 (UTF-8) header rather than a
// 1.0/2.0 (latin-1) one; bit 1, a whole .npy file (written to a temporary file and opened as
// X, as a dataset would) rather than a header's text alone. Built plainly, `main` replays
// the files named on the command line.
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniBatch
import FuzzDriver

private let scratch: String = {
    var template = Array("/tmp/minibatch-fuzz-npy-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    close(fd)
    return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
}()

/// Every header is parsed or refused with `.format`; every file opens or is refused with
/// `.format`, `.invalidArgument` (a valid file of a type training does not take) or `.io`,
/// never a trap; what opens has a shape its size holds.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 1, let data else { return 0 }
    let mode = data[0]
    let rest = UnsafeBufferPointer(start: data + 1, count: size - 1)
    if mode & 2 == 0 {
        do {
            let parsed = try NpyHeader.parse(Array(rest), utf8: mode & 1 == 1)
            if let descr = parsed.descr { _ = NpyHeader.type(of: descr) }
        } catch {
            precondition(error.kind == .format, "a header was refused with \(error.kind): \(error)")
        }
        return 0
    }
    let fd = open(scratch, O_WRONLY | O_TRUNC)
    precondition(fd >= 0)
    if rest.count > 0 { precondition(write(fd, rest.baseAddress!, rest.count) == rest.count) }
    close(fd)
    do {
        let file = try NpyFile(path: scratch, role: "X")
        precondition(file.expectedSize <= rest.count, "a shape larger than the file was accepted")
    } catch {
        precondition([.format, .invalidArgument, .io].contains(error.kind), "\(error.kind): \(error)")
    }
    return 0
}

@main
enum Main {
    static func main() { FuzzDriver.main({ data, size in fuzzNpy(data, size) }) }
}
