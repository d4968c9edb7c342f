#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes over the C library (no Foundation in the engine).
enum File {
    /// The text of errno, for messages.
    static func reason() -> String { String(cString: strerror(errno)) }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory is
    /// written, fsync'ed and renamed over `path`, then the directory is fsync'ed, so a crash
    /// leaves the old file or the new one, never a part of either.
    static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws(MiniBatchError) {
        var template = Array((path + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw MiniBatchError(.io, "cannot create a temporary file next to '\(path)': \(reason())") }
        let temporary = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        var failure: MiniBatchError? = nil
        var offset = 0
        while offset < bytes.count, failure == nil {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 { offset += n }
            else if n < 0 && errno == EINTR { continue }
            else { failure = MiniBatchError(.io, "cannot write '\(temporary)': \(reason())") }
        }
        if failure == nil, fchmod(fd, 0o644) != 0 || fsync(fd) != 0 {
            failure = MiniBatchError(.io, "cannot flush '\(temporary)' to disk: \(reason())")
        }
        if close(fd) != 0, failure == nil { failure = MiniBatchError(.io, "cannot close '\(temporary)': \(reason())") }
        if failure == nil, rename(temporary, path) != 0 {
            failure = MiniBatchError(.io, "cannot rename '\(temporary)' to '\(path)': \(reason())")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        syncDirectory(of: path)
    }

    /// Makes a rename in the directory of `path` durable (best effort).
    private static func syncDirectory(of path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// The whole content of `path`, refusing files larger than `limit` bytes.
    static func read(_ path: String, limit: Int) throws(MiniBatchError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw MiniBatchError(.io, "cannot open '\(path)': \(reason())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw MiniBatchError(.io, "cannot stat '\(path)': \(reason())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw MiniBatchError(.io, "'\(path)' is not a regular file") }
        let size = Int(info.st_size)
        guard size <= limit else { throw MiniBatchError(.format, "'\(path)' is too large to be a model file (\(size) bytes)") }
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        var failure: MiniBatchError? = nil
        bytes.withUnsafeMutableBytes { buffer in
            while offset < size {
                let n = Glibc.read(fd, buffer.baseAddress! + offset, size - offset)
                if n > 0 { offset += n }
                else if n < 0 && errno == EINTR { continue }
                else {
                    if n < 0 { failure = MiniBatchError(.io, "cannot read '\(path)': \(reason())") }
                    break
                }
            }
        }
        if let failure { throw failure }
        return Array(bytes[0..<offset])
    }
}
