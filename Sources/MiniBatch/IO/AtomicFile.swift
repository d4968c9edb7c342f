import CMatrix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written in order under a temporary name next to its target, then renamed over the
/// target when complete, so that a crash leaves the old file or the new one, never a part of
/// either. Dropped before `commit` (an error on the way), it removes its temporary file.
///
/// The file replaced is the one a write through open() would change: where `path` is a
/// symbolic link, its target (`File.linkTarget`, which refuses the links the kernel's
/// fs.protected_symlinks refuses; the link stays). A file of this process's user that is
/// replaced keeps its permission bits (a private 0600 model stays private; until 0.12.5 it
/// became 0666 without the umask), its group where the process may set it (else the group's
/// bits become the others', so that no other group gains access), and its access ACL (else,
/// where it has one, only the owner's bits). Another user's file replaced (root saving over
/// it; a name made in advance in /tmp) gives nothing: the new file is this process's, with
/// the mode a new file gets, what open() would give it. Other hard links to a file
/// replaced keep the old contents.
///
/// `File.writeAtomically` writes a buffer through one; `.npy` outputs (`NpyOutput`) are
/// written through one a chunk at a time.
final class AtomicFile {
    let path: String
    /// The file replaced: `path`, or its symbolic link's target.
    let target: String
    /// `target` + ".tmp-XXXXXX" (`template(for:)`), made unique by mkstemp.
    let temporary: String
    /// The permission bits and group of the file replaced, where it is this process's
    /// user's (nil: a new file, or another user's).
    private let replaced: (mode: mode_t, group: gid_t)?
    private var fd: Int32
    /// The temporary file's slot in the table a signal handler removes them from
    /// (`mbm_temporary_register`; -1: not registered).
    private var slot: Int32 = -1
    /// Bytes written so far.
    private(set) var size = 0
    /// Whether written pages are flushed to disk and dropped from the page cache every
    /// `releaseBytes` bytes: a file larger than memory is then not held as dirty pages
    /// (which a memory cgroup charges to the writer, and cannot reclaim until written back).
    private let releasesPages: Bool
    private var releasedUpTo = 0
    static let releaseBytes = 8 << 20

    /// A target that exists and is not a regular file (a device, a FIFO, a directory) is
    /// refused with `.io` before anything is written: a rename would replace a device
    /// node with the file (`mb_model_save` to /dev/null did, as root).
    init(path: String, releasesPages: Bool = false) throws(MiniBatchError) {
        try File.checkNoNUL(path)
        try File.checkTarget(path, "the output")
        self.path = path
        target = try File.linkTarget(path)
        var info = stat()
        replaced = stat(target, &info) == 0 && info.st_uid == geteuid() ? (info.st_mode & 0o777, info.st_gid) : nil
        self.releasesPages = releasesPages
        var template = Array(AtomicFile.template(for: target).utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw MiniBatchError(.io, "cannot create a temporary file next to '\(target)': \(File.reason())") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // not inherited by a program another thread starts
        self.fd = fd
        temporary = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        slot = template.withUnsafeBufferPointer { mbm_temporary_register($0.baseAddress!) }
    }

    deinit { discard() }

    /// `path` + ".tmp-XXXXXX", for mkstemp; where that would make the last component longer
    /// than a name may be (255 bytes), the component is shortened first, at a UTF-8
    /// character's start, so that a name of up to 255 bytes can be written (one of 245-255
    /// bytes could not). Worked on the path's bytes: the directory ends at its last "/"
    /// byte (a "/" followed by a combining mark is one Swift Character, which a search by
    /// characters would not find, putting the file in the parent directory).
    static func template(for path: String) -> String {
        let suffix = Array(".tmp-XXXXXX".utf8), longestName = 255
        let bytes = Array(path.utf8), start = File.nameStart(bytes)
        var end = bytes.count
        if end - start + suffix.count > longestName {
            end = start + max(0, longestName - suffix.count)
            while end > start, bytes[end] & 0xC0 == 0x80 { end -= 1 }  // a continuation byte
        }
        return String(decoding: bytes[..<end] + suffix, as: UTF8.self)
    }

    /// Appends `count` bytes.
    func write(_ bytes: UnsafeRawPointer, count: Int) throws(MiniBatchError) {
        do throws(MiniBatchError) {
            guard fd >= 0 else { throw MiniBatchError(.internal, "'\(temporary)' was written after it was closed") }
            try File.writeFully(fd, bytes, count: count, at: size, what: "'\(temporary)'")
            size += count
            if releasesPages, size - releasedUpTo >= AtomicFile.releaseBytes {
                guard fdatasync(fd) == 0 else { throw MiniBatchError(.io, "cannot flush '\(temporary)' to disk: \(File.reason())") }
                _ = posix_fadvise(fd, off_t(releasedUpTo), off_t(size - releasedUpTo), POSIX_FADV_DONTNEED)
                releasedUpTo = size
            }
        } catch {
            discard()
            throw error
        }
    }

    /// Flushes the file to disk and renames it over `path`: `finishWriting` then `moveIntoPlace`.
    func commit() throws(MiniBatchError) {
        try finishWriting()
        try moveIntoPlace()
    }

    /// Sets the file's mode (the replaced file's, with its group and ACL where they can be
    /// kept: see the type's notes; for a new file 0666 without the umask, as a file made by
    /// open() gets: mkstemp made it 0600), flushes it to disk (fsync) and closes it. After
    /// this, only `moveIntoPlace` is left (two files that must both be written finish both
    /// before either is renamed).
    func finishWriting() throws(MiniBatchError) {
        var failure: MiniBatchError? = nil
        var mode = File.creationMode(), copiesACL = false
        if let replaced {
            mode = replaced.mode
            var made = stat()
            // (the group before the mode: chown may clear mode bits)
            if fstat(fd, &made) == 0, made.st_gid != replaced.group, fchown(fd, uid_t.max, replaced.group) != 0 {
                mode = (mode & ~0o070) | ((mode & 0o007) << 3)  // the group's bits: the others'
            } else {
                copiesACL = true  // (an ACL's group entries name the file's group: kept)
            }
        }
        var failed = fchmod(fd, mode) != 0
        if !failed, copiesACL, mbm_copy_access_acl(target, fd) < 0 { failed = fchmod(fd, mode & 0o700) != 0 }
        if failed || fsync(fd) != 0 {
            failure = MiniBatchError(.io, "cannot flush '\(temporary)' to disk: \(File.reason())")
        }
        if close(fd) != 0, failure == nil { failure = MiniBatchError(.io, "cannot close '\(temporary)': \(File.reason())") }
        fd = -2  // closed, not yet renamed: deinit still removes the temporary file
        if let failure {
            discard()
            throw failure
        }
    }

    /// Renames the finished file over `target` and makes the rename durable.
    func moveIntoPlace() throws(MiniBatchError) {
        guard rename(temporary, target) == 0 else {
            let failure = MiniBatchError(.io, "cannot rename '\(temporary)' to '\(target)': \(File.reason())")
            discard()
            throw failure
        }
        fd = -1
        mbm_temporary_unregister(slot)
        slot = -1
        File.syncDirectory(of: target)
    }

    /// Closes and removes the temporary file (idempotent).
    private func discard() {
        if fd >= 0 { close(fd) }
        if fd != -1 { unlink(temporary) }
        fd = -1
        mbm_temporary_unregister(slot)
        slot = -1
    }
}

extension File {
    /// Whether an atomic write to `path` can start: the target is not a device, FIFO or
    /// directory (`checkTarget`), and its temporary file can be made (the directory exists
    /// and takes it, the name fits); the temporary file is removed at once. For checking
    /// outputs before long work (the command-line tool, before training).
    /// - Parameter what: how a refused target is named ("--out": "--out 'adir' is a directory").
    package static func checkWritable(_ path: String, _ what: String) throws(MiniBatchError) {
        try checkTarget(path, what)
        // (the temporary file's name is shortened to fit, so a name too long for the final
        // rename would pass the next line: it is checked here)
        // (and so is the name a symbolic link leads to, which the file is written under)
        for name in [path, try linkTarget(path)].map({ Array($0.utf8) }).map({ $0[File.nameStart($0)...] }) {
            guard name.count <= 255 else {
                throw MiniBatchError(.io, "cannot write '\(path)': File name too long (\(name.count) bytes; a name has at most 255)")
            }
            guard !name.isEmpty else { throw MiniBatchError(.io, "cannot write '\(path)': the path names no file") }
        }
        _ = try AtomicFile(path: path)
    }
}

/// The temporary files of atomic writes, for a process that handles fatal signals (the
/// command-line tool): see `mbm_temporary_register` (CMatrix/temporary.h).
package enum TemporaryFiles {
    /// Makes `signalNumber` remove the temporary files of the writes in progress, then kill
    /// the process as its default action does (`mbm_temporary_remove_and_reraise`). Only
    /// `signal`: callable from a signal handler.
    package static func removeOnSignal(_ signalNumber: Int32) {
        signal(signalNumber, mbm_temporary_remove_and_reraise)
    }
}
