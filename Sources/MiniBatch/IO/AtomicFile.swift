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
/// fs.protected_symlinks refuses; the link stays). A new file is made as open() makes one
/// (mode 0666 under the umask, or the directory's default ACL). A file of this process's
/// user that is replaced keeps its permission bits (a private 0600 model stays private;
/// until 0.12.5 it became 0666 without the umask), its group where the process may set it
/// (else the group's bits become the others', so that no other group gains access), and its
/// access ACL, or none where it had none (one inherited from the directory's default ACL is
/// removed); where its ACL cannot be read or set, only the owner's bits. Its temporary file
/// is 0600 until then. Another user's file replaced (root saving over it; a name made in
/// advance in /tmp) gives nothing: the new file is made as a new one. What is replaced is
/// read without following a link (lstat, lgetxattr), once, when the write starts: a link
/// put in the target's place afterwards decides nothing (the rename replaces it). Other
/// hard links to a file replaced keep the old contents.
///
/// `File.writeAtomically` writes a buffer through one; `.npy` outputs (`NpyOutput`) are
/// written through one a chunk at a time.
final class AtomicFile {
    let path: String
    /// The file replaced: `path`, or its symbolic link's target.
    let target: String
    /// `target` + ".tmp-" and 6 random letters (`template(for:)`, `create`).
    let temporary: String
    /// The permission bits, group and access ACL (its bytes; empty: none; nil: one that
    /// could not be read) of the file replaced, where it is this process's user's regular
    /// file (nil: a new file, or another user's).
    private let replaced: (mode: mode_t, group: gid_t, acl: [UInt8]?)?
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
        let target = try File.linkTarget(path)
        self.target = target
        var info = stat()
        if lstat(target, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() {
            var acl = [UInt8](repeating: 0, count: 4096)
            let n = acl.withUnsafeMutableBytes { mbm_read_access_acl(target, $0.baseAddress!, UInt($0.count)) }
            replaced = (info.st_mode & 0o777, info.st_gid, n < 0 ? nil : Array(acl[..<n]))
        } else {
            replaced = nil
        }
        self.releasesPages = releasesPages
        // A replaced file's temporary is 0600 until its mode is set (its contents may be
        // private); a new file's gets open()'s mode (the umask, a default ACL) as it is.
        let (fd, name) = try AtomicFile.create(AtomicFile.template(for: target), mode: replaced == nil ? 0o666 : 0o600, next: target)
        self.fd = fd
        temporary = name
        slot = mbm_temporary_register(name)
    }

    /// Makes the temporary file: `template`'s "XXXXXX" replaced by 6 random letters and
    /// digits until open(O_CREAT | O_EXCL) makes a new file, at most 100 names, with `mode`
    /// under the umask or a default ACL, as open() applies them (mkstemp, used before
    /// 0.12.5, gives 0600 whatever they say).
    private static func create(_ template: String, mode: mode_t, next target: String) throws(MiniBatchError) -> (Int32, String) {
        let prefix = String(template.utf8.dropLast(6))!
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let name = prefix + String(decoding: (0..<6).map { _ in letters[Int(random.next() % UInt64(letters.count))] }, as: UTF8.self)
            let fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
            if fd >= 0 { return (fd, name) }
            guard errno == EEXIST else { break }
        }
        throw MiniBatchError(.io, "cannot create a temporary file next to '\(target)': \(File.reason())")
    }

    deinit { discard() }

    /// `path` + ".tmp-XXXXXX", for `create`; where that would make the last component longer
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

    /// Gives a replaced file's mode, group and ACL to the new file (see the type's notes; a
    /// new file keeps what open() gave it), flushes it to disk (fsync) and closes it. After
    /// this, only `moveIntoPlace` is left (two files that must both be written finish both
    /// before either is renamed).
    func finishWriting() throws(MiniBatchError) {
        var failure: MiniBatchError? = nil
        var failed = false
        if let replaced {
            var mode = replaced.mode, acl = replaced.acl  // acl: [] none, nil unreadable
            var made = stat()
            // (the group before the mode: chown may clear mode bits)
            if fstat(fd, &made) == 0, made.st_gid != replaced.group, fchown(fd, uid_t.max, replaced.group) != 0 {
                mode = (mode & ~0o070) | ((mode & 0o007) << 3)  // the group's bits: the others'
                if acl != [] { acl = nil }  // (an ACL's group entries named the old group)
            }
            if let acl, acl.withUnsafeBytes({ mbm_set_access_acl(fd, $0.baseAddress, UInt($0.count)) }) == 0 {
                // an ACL set holds the mode's bits (the group's are its mask); none: the mode
                if acl.isEmpty { failed = fchmod(fd, mode) != 0 }
            } else {
                // an ACL that cannot be read or set: none, and the owner's bits alone
                _ = mbm_set_access_acl(fd, nil, 0)
                failed = fchmod(fd, mode & 0o700) != 0
            }
        }
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
