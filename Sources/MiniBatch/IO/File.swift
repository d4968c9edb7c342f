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

    /// Opens `path` for reading if it is a regular file: a FIFO, a directory, a device or a
    /// socket is refused with `.io` before anything is read from it. The file is opened
    /// non-blocking (opening a FIFO with no writer would otherwise wait for one), checked,
    /// then set back to blocking reads. Returns the descriptor and the file's size.
    /// - Parameter what: how messages name the file ("'x.npy'", "X file 'x.npy'").
    static func openRegular(_ path: String, _ what: String) throws(MiniBatchError) -> (fd: Int32, size: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw MiniBatchError(.io, "cannot open \(what): \(reason())") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = MiniBatchError(.io, "cannot stat \(what): \(reason())")
            close(fd)
            throw error
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            close(fd)
            let kind = type == S_IFDIR ? "a directory" : type == S_IFIFO ? "a FIFO (named pipe)"
                : type == S_IFCHR || type == S_IFBLK ? "a device" : type == S_IFSOCK ? "a socket" : "not a regular file"
            throw MiniBatchError(.io, "\(what) is \(kind), not a regular file")
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return (fd, Int(info.st_size))
    }

    /// The whole content of `path`, refusing files larger than `limit` bytes.
    static func read(_ path: String, limit: Int) throws(MiniBatchError) -> [UInt8] {
        let (fd, size) = try openRegular(path, "'\(path)'")
        defer { close(fd) }
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
