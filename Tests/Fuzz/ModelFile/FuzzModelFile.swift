// libFuzzer target: any bytes as a model file (`make fuzz`; README "Fuzzing").
//
// Built with `-sanitize=fuzzer,address -DFUZZING`, libFuzzer drives it with coverage of the
// engine; built plainly (as `swift build` does), `main` below replays the files named on
// the command line, so a crash found by the fuzzer can be rerun under a debugger.
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniBatch
import FuzzDriver

/// Every input must end in a network or a `.format` error, never a trap, a hang or an
/// allocation larger than the input justifies; a network that loads must survive a round
/// trip through the encoder with the same parameters.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 ? Array(UnsafeBufferPointer(start: data!, count: size)) : []
    do {
        let network = try ModelFile.decode(bytes, path: "fuzz input")
        precondition(network.parameterCount * 4 <= bytes.count, "allocated more parameters than the file holds")
        let again = try ModelFile.decode(try ModelFile.encode(network), path: "round trip")
        precondition(again.parameterArray == network.parameterArray && again.layerSizes == network.layerSizes)
    } catch {
        precondition(error.kind == .format, "a model file was refused with \(error.kind), not .format: \(error)")
    }
    return 0
}

@main
enum Main {
    static func main() { FuzzDriver.main({ data, size in fuzzModelFile(data, size) }) }
}
