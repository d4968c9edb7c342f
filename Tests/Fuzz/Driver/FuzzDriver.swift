// The entry point the fuzz targets share (Tests/Fuzz; `make fuzz`).
#if canImport(Glibc)
import Glibc
#endif

/// A libFuzzer target: one input, 0 when it was handled (a failed check traps).
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// libFuzzer's driver (LLVM 12 and later), which takes the target as a callback: SwiftPM
/// links an executable's entry point itself, so the fuzzer's own `main` is not used.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ target: FuzzTarget
) -> CInt

public enum FuzzDriver {
    /// Built with `-sanitize=fuzzer -DFUZZING`: runs libFuzzer on `target` with the command
    /// line's options. Built plainly: runs `target` once on each file named on the command
    /// line (to replay a crash found by the fuzzer under a debugger).
    public static func main(_ target: FuzzTarget) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, target))
        #else
        for path in CommandLine.arguments.dropFirst() {
            guard let file = fopen(path, "rb") else {
                print("cannot open \(path)")
                exit(1)
            }
            var bytes: [UInt8] = []
            var byte = fgetc(file)
            while byte != EOF {
                bytes.append(UInt8(byte))
                byte = fgetc(file)
            }
            fclose(file)
            _ = bytes.withUnsafeBufferPointer { target($0.baseAddress, $0.count) }
            print("ok \(path)")
        }
        exit(0)
        #endif
    }
}
