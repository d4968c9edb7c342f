#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMiniBatch
import MiniBatch
import CMatrix

// MARK: - The thread-local last error and the status it goes with

/// The per-thread message of the last failed call: a malloc'ed C string behind a pthread key,
/// freed when it is replaced or when its thread exits.
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

private let emptyMessage: StaticString = ""

func setLastError(_ message: String) {
    let previous = pthread_getspecific(errorKey)
    pthread_setspecific(errorKey, strdup(message))
    free(previous)
}

/// Records `error` as this thread's last error and returns its status.
func fail(_ error: MiniBatchError) -> mb_status {
    setLastError(error.message)
    return mb_status(rawValue: UInt32(error.kind.rawValue))
}

/// Runs an entry point's body: MB_OK, or the status and message of the error it threw.
@inline(__always)
func run(_ body: () throws(MiniBatchError) -> Void) -> mb_status {
    do {
        try body()
        return MB_OK
    } catch {
        return fail(error)
    }
}

/// The pointer argument `name`, or an error naming it.
@inline(__always)
func required<T>(_ pointer: T?, _ name: String) throws(MiniBatchError) -> T {
    guard let pointer else { throw MiniBatchError(.invalidArgument, "\(name) is NULL") }
    return pointer
}

/// A C string argument (a path) as a Swift string. Bytes that are not UTF-8 are refused:
/// `String(cString:)` replaced them with U+FFFD, so a file of another name was written or
/// read (a save to "\xffmodel" wrote "\xef\xbf\xbdmodel").
func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(MiniBatchError) -> String {
    guard let text = String(validatingCString: try required(pointer, name)) else {
        throw MiniBatchError(.invalidArgument, "\(name) is not valid UTF-8 (paths are taken as UTF-8 text)")
    }
    return text
}

/// `string`, for an argument that may be NULL (nil).
func optionalString(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(MiniBatchError) -> String? {
    guard let pointer else { return nil }
    return try string(pointer, name)
}

@c @implementation
public func mb_last_error() -> UnsafePointer<CChar>? {
    if let message = pthread_getspecific(errorKey) {
        return UnsafePointer(message.assumingMemoryBound(to: CChar.self))
    }
    return UnsafeRawPointer(emptyMessage.utf8Start).assumingMemoryBound(to: CChar.self)
}

private let statusNames: [StaticString] = [
    "MB_OK", "MB_ERR_INVALID_ARGUMENT", "MB_ERR_OUT_OF_MEMORY", "MB_ERR_IO", "MB_ERR_FORMAT",
    "MB_ERR_DIVERGED", "MB_ERR_CANCELLED", "MB_ERR_INTERNAL", "MB_ERR_BUSY",
    "MB_ERR_COMMUNICATION",
]
private let unknownStatus: StaticString = "unknown status"

@c @implementation
public func mb_status_name(_ status: mb_status) -> UnsafePointer<CChar>? {
    let index = Int(status.rawValue)
    let name = index < statusNames.count ? statusNames[index] : unknownStatus
    return UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: - Version

private let versionString: StaticString = "0.12.6"

@c @implementation
public func mb_version() -> UnsafePointer<CChar>? {
    UnsafeRawPointer(versionString.utf8Start).assumingMemoryBound(to: CChar.self)
}

@c @implementation
public func mb_version_number() -> Int32 {
    Int32(MB_VERSION_MAJOR * 10000 + MB_VERSION_MINOR * 100 + MB_VERSION_PATCH)
}

// MARK: - Matrix backend

/// The fields of `mb_blas_info` up to `threads`: the struct of the first release with it.
private let blasInfoFirstSize = MemoryLayout<mb_blas_info>.offset(of: \.threads)! + MemoryLayout<Int32>.size

@c @implementation
public func mb_get_blas_info(_ info: UnsafeMutablePointer<mb_blas_info>?) -> mb_status {
    run { () throws(MiniBatchError) in
        let info = try required(info, "info")
        let size = info.pointee.struct_size
        guard size >= blasInfoFirstSize else {
            throw .init(.invalidArgument, "info->struct_size is \(Validate.asSize(size)), expected sizeof(mb_blas_info) = \(MemoryLayout<mb_blas_info>.size) (at least \(blasInfoFirstSize), the fields through threads)")
        }
        // The first release's fields fit; a later field only where struct_size holds it (a
        // newer caller's longer struct keeps its tail).
        info.pointee.backend = mbm_backend_name()
        info.pointee.openblas_version = mbm_openblas_version()
        info.pointee.openblas_core = mbm_openblas_core()
        info.pointee.openblas_isa = mbm_openblas_isa()
        info.pointee.libxsmm_version = mbm_libxsmm_version()
        info.pointee.libxsmm_target = mbm_libxsmm_target()
        info.pointee.libxsmm_isa = mbm_libxsmm_isa()
        info.pointee.cpu_isa = mbm_cpu_isa()
        info.pointee.threads = Int32(clamping: MatrixBackend.info.threads)
        if size >= MemoryLayout<mb_blas_info>.offset(of: \.training_forward)! + MemoryLayout<UnsafePointer<CChar>>.size {
            info.pointee.training_forward = mbm_training_forward()
        }
        if size >= MemoryLayout<mb_blas_info>.offset(of: \.activations)! + MemoryLayout<UnsafePointer<CChar>>.size {
            info.pointee.activations = mbm_vector_math_name()
        }
    }
}
