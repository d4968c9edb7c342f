#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes over the C library (no Foundation in the engine).
package enum File {
    /// The text of errno, for messages.
    static func reason() -> String { String(cString: strerror(errno)) }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory is
    /// written, fsync'ed and renamed over `path`, then the directory is fsync'ed, so a crash
    /// leaves the old file or the new one, never a part of either (`AtomicFile`).
    package static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws(MiniBatchError) {
        let file = try AtomicFile(path: path)
        if let base = bytes.baseAddress { try file.write(base, count: bytes.count) }
        try file.commit()
    }

    /// Makes a rename in the directory of `path` durable (best effort).
    static func syncDirectory(of path: String) {
        let fd = open(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// Where the last component of a path starts in its UTF-8 `bytes`: after its last "/", or
    /// at 0. By bytes, not by Character: "/" followed by a combining mark is one Character.
    static func nameStart(_ bytes: [UInt8]) -> Int {
        (bytes.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1
    }

    /// The directory part of `path`: "." for a bare name, "/" for a file in the root.
    static func directory(of path: String) -> String {
        let bytes = Array(path.utf8), start = nameStart(bytes)
        guard start > 0 else { return "." }
        return start == 1 ? "/" : String(decoding: bytes[..<(start - 1)], as: UTF8.self)
    }

    /// Writes all `count` bytes at file offset `offset` (pwrite, retried until done).
    /// - Parameter what: how messages name the file.
    static func writeFully(_ fd: Int32, _ bytes: UnsafeRawPointer, count: Int, at offset: Int, what: String) throws(MiniBatchError) {
        var done = 0
        while done < count {
            let n = pwrite(fd, bytes + done, count - done, off_t(offset + done))
            if n > 0 { done += n }
            else if n < 0 && errno == EINTR { continue }
            else { throw MiniBatchError(.io, "cannot write \(what): \(reason())") }
        }
    }

    /// Reads all `count` bytes at file offset `offset` (pread, retried until done).
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, at offset: Int, what: String) throws(MiniBatchError) {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n > 0 { done += n }
            else if n < 0 && errno == EINTR { continue }
            else if n == 0 { throw MiniBatchError(.io, "cannot read \(what): it ended early") }
            else { throw MiniBatchError(.io, "cannot read \(what): \(reason())") }
        }
    }

    /// Refuses a path with a NUL byte, which a Swift `String` can hold and the system's
    /// calls end the path at (a load of "m.mbm\0x" read m.mbm; a save failed with a message
    /// holding the NUL): every file this module opens, makes or replaces is checked here
    /// first. (C callers cannot pass one; Python refuses it itself.)
    static func checkNoNUL(_ path: String) throws(MiniBatchError) {
        guard path.utf8.contains(0) else { return }
        let shown = String(decoding: path.utf8.map { $0 == 0 ? UInt8(ascii: "@") : $0 }, as: UTF8.self)
        throw .invalid("the path '\(shown)' (NUL shown as @) contains a NUL byte, where a path ends for the system")
    }

    /// A new empty file in `directory`, already unlinked, so that it is gone when its
    /// descriptor is closed, also after a crash: scratch space that nothing can leave behind.
    static func anonymous(in directory: String) throws(MiniBatchError) -> Int32 {
        try checkNoNUL(directory)
        var template = Array((directory + "/.minibatch-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw MiniBatchError(.io, "cannot create a temporary file in '\(directory)': \(reason())") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // (mkostemp is not in Swift's Glibc module)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    /// Whether `a` and `b` name the same file, as a read or an atomic write reaches it: the
    /// same path once symbolic links are followed (`linkTarget`) and the directory is
    /// resolved ("..", "."), or, when both exist, the same device and inode (hard links). A
    /// file that does not exist yet (a dangling link's target) is compared by its path alone.
    package static func same(_ a: String, _ b: String) -> Bool {
        let a = (try? linkTarget(a)) ?? a, b = (try? linkTarget(b)) ?? b
        if canonical(a) == canonical(b) { return true }
        var infoA = stat(), infoB = stat()
        guard stat(a, &infoA) == 0, stat(b, &infoB) == 0 else { return false }
        return infoA.st_dev == infoB.st_dev && infoA.st_ino == infoB.st_ino
    }

    /// Checks that `path` can be replaced by a new file: it does not exist, or is a regular
    /// file (a rename over a directory fails, and would fail only after all the work).
    /// - Parameter what: how messages name the path ("out_path").
    package static func checkTarget(_ path: String, _ what: String) throws(MiniBatchError) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw MiniBatchError(.io, "\(what) '\(path)' is \(info.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file"): it cannot be replaced by the output")
        }
    }

    /// The file a write to `path` replaces: `path`, or where its symbolic links lead when it
    /// is one (a relative link read from the link's directory), as open() and every peer's
    /// save (numpy.save, torch.save, joblib.dump) write through a link: the link stays, its
    /// target gets the new file (a dangling link's target is created). Refused with `.io`,
    /// as the kernel refuses to follow them: more than 40 links (or a loop), and, as
    /// `fs.protected_symlinks` does (on in most distributions; this rule holds whatever it
    /// says), a link in a sticky directory that others may write (/tmp) owned neither by
    /// this process's user nor by the directory's owner: another user's link planted there
    /// would otherwise redirect the write to any file this process may write. A link whose
    /// target is not UTF-8 is refused too.
    static func linkTarget(_ path: String) throws(MiniBatchError) -> String {
        var current = path
        for follows in 0...40 {
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            guard follows < 40 else { break }
            var parent = stat()
            if stat(directory(of: current), &parent) == 0, parent.st_mode & S_ISVTX != 0, parent.st_mode & S_IWOTH != 0,
               info.st_uid != geteuid(), info.st_uid != parent.st_uid {
                throw MiniBatchError(.io, "cannot write '\(path)': the symbolic link '\(current)' belongs to another user (uid \(info.st_uid)) in a sticky directory others may write, which is not followed (as the kernel's fs.protected_symlinks refuses it)")
            }
            var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX))
            let n = buffer.withUnsafeMutableBufferPointer { readlink(current, $0.baseAddress!, $0.count) }
            guard n > 0, n < buffer.count else { throw MiniBatchError(.io, "cannot read the symbolic link '\(current)': \(reason())") }
            guard let link = String(validating: buffer[..<n], as: UTF8.self) else {
                throw MiniBatchError(.io, "cannot write '\(path)': the symbolic link '\(current)' leads to a path that is not UTF-8")
            }
            // (a relative link from the link's directory: the path up to its last "/")
            let bytes = Array(current.utf8)
            current = link.hasPrefix("/") ? link : String(decoding: bytes[..<nameStart(bytes)], as: UTF8.self) + link
        }
        throw MiniBatchError(.io, "cannot write '\(path)': too many levels of symbolic links (more than 40)")
    }

    /// `path` with its directory resolved by realpath (the path as given if it cannot be).
    package static func canonical(_ path: String) -> String {
        let bytes = Array(path.utf8)
        let name = String(decoding: bytes[nameStart(bytes)...], as: UTF8.self)
        guard let resolved = realpath(directory(of: path), nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved) + "/" + name
    }

    /// Opens `path` for reading if it is a regular file: a FIFO, a directory, a device or a
    /// socket is refused with `.io` before anything is read from it. The file is opened
    /// non-blocking (opening a FIFO with no writer would otherwise wait for one), checked,
    /// then set back to blocking reads. Returns the descriptor and the file's size.
    /// - Parameter what: how messages name the file ("'x.npy'", "X file 'x.npy'").
    static func openRegular(_ path: String, _ what: String) throws(MiniBatchError) -> (fd: Int32, size: Int) {
        try checkNoNUL(path)
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

    /// Calls `body` with the whole content of `path`, read into memory allocated for the
    /// call: a file larger than `limit` bytes is refused with `.format`, and so is one whose
    /// first bytes `accept` refuses (`refused` says why), before anything the size of the
    /// file is allocated; memory that cannot be had is `.outOfMemory` (a Swift array of the
    /// file's size ended the process instead: a 1 TiB file did).
    /// - Parameter what: what the file should be ("model file").
    static func withContents<T>(
        _ path: String, limit: Int, what: String, accept: (UnsafeRawBufferPointer) -> Bool, refused: String,
        _ body: (UnsafeRawBufferPointer) throws(MiniBatchError) -> T
    ) throws(MiniBatchError) -> T {
        let (fd, size) = try openRegular(path, "'\(path)'")
        defer { close(fd) }
        guard size <= limit else { throw MiniBatchError(.format, "'\(path)' is too large to be a \(what) (\(size) bytes)") }
        var prefix = (UInt64(0), UInt64(0))
        let prefixCount = try withUnsafeMutableBytes(of: &prefix) { (p) throws(MiniBatchError) in
            try readUpTo(fd, p.baseAddress!, count: min(size, p.count), path)
        }
        let accepted = withUnsafeBytes(of: &prefix) { accept(UnsafeRawBufferPointer(rebasing: $0[0..<prefixCount])) }
        guard accepted else { throw MiniBatchError(.format, "'\(path)' is not a valid minibatch \(what): \(refused)") }
        let usable = SystemMemory.usable()
        guard size <= usable else {
            throw MiniBatchError(.outOfMemory, "'\(path)' is \(size) bytes: more than the \(usable) bytes of memory this process may use")
        }
        guard let buffer = malloc(max(size, 1)) else {
            throw MiniBatchError(.outOfMemory, "out of memory reading '\(path)' (\(size) bytes)")
        }
        defer { free(buffer) }
        let count = try readUpTo(fd, buffer, count: size, path)
        return try body(UnsafeRawBufferPointer(start: buffer, count: count))
    }

    /// Reads from the start of `fd` until `count` bytes or the end of the file: the bytes read.
    private static func readUpTo(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, _ path: String) throws(MiniBatchError) -> Int {
        var offset = 0
        while offset < count {
            let n = pread(fd, buffer + offset, count - offset, off_t(offset))
            if n > 0 { offset += n }
            else if n < 0 && errno == EINTR { continue }
            else if n < 0 { throw MiniBatchError(.io, "cannot read '\(path)': \(reason())") }
            else { break }
        }
        return offset
    }
}
