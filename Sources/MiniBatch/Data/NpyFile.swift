#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CIntrinsics

/// The element types a `.npy` file may hold here: little-endian float32; for y also
/// float64 (numpy's default) and integers (class labels, or values for the regression
/// losses), converted to float32 as they are read.
public enum NpyType: String, Sendable {
    case float32 = "<f4"
    /// y only (since 0.10.0).
    case float64 = "<f8"
    case bool = "|b1", int8 = "|i1", uint8 = "|u1"
    case int16 = "<i2", uint16 = "<u2", int32 = "<i4", uint32 = "<u4", int64 = "<i8", uint64 = "<u8"

    public var size: Int {
        switch self {
        case .bool, .int8, .uint8: return 1
        case .int16, .uint16: return 2
        case .float32, .int32, .uint32: return 4
        case .int64, .uint64, .float64: return 8
        }
    }

    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// Element `index` of `bytes` as a float32 target, rounded once as numpy's
    /// `astype(np.float32)` rounds it (what the binding gives training for y in memory).
    @inline(__always)
    public func float(_ bytes: UnsafeRawPointer, _ index: Int) -> Float {
        switch self {
        case .float32: return bytes.loadUnaligned(fromByteOffset: 4 * index, as: Float.self)
        case .float64: return Float(bytes.loadUnaligned(fromByteOffset: 8 * index, as: Double.self))
        case .uint64: return Float(bytes.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
        default: return Float(integer(bytes, index)!)
        }
    }

    /// Element `index` of `bytes` as an integer (integer types only).
    @inline(__always)
    public func integer(_ bytes: UnsafeRawPointer, _ index: Int) -> Int64? {
        switch self {
        // numpy reads any nonzero byte of a bool as True.
        case .bool: return bytes.load(fromByteOffset: index, as: UInt8.self) == 0 ? 0 : 1
        case .int8: return Int64(bytes.load(fromByteOffset: index, as: Int8.self))
        case .uint8: return Int64(bytes.load(fromByteOffset: index, as: UInt8.self))
        case .int16: return Int64(bytes.loadUnaligned(fromByteOffset: 2 * index, as: Int16.self))
        case .uint16: return Int64(bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
        case .int32: return Int64(bytes.loadUnaligned(fromByteOffset: 4 * index, as: Int32.self))
        case .uint32: return Int64(bytes.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
        case .int64: return bytes.loadUnaligned(fromByteOffset: 8 * index, as: Int64.self)
        case .uint64:
            let value = bytes.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self)
            return value > UInt64(Int64.max) ? nil : Int64(value)
        case .float32, .float64: return nil
        }
    }
}

/// A numpy `.npy` file (format versions 1.0, 2.0 and 3.0), opened for reads of whole rows
/// with `pread`: the header is parsed, the data is never loaded whole.
///
/// The format: the magic "\x93NUMPY", a major and a minor version byte, the header length
/// (little-endian u16 for 1.0, u32 for 2.0 and 3.0), then a Python dict literal with
/// 'descr', 'fortran_order' and 'shape', then the data in C order.
public final class NpyFile: @unchecked Sendable {
    public let path: String
    public let type: NpyType
    /// The array's shape: (rows) or (rows, columns).
    public let shape: [Int]
    public let version: Int
    /// Where the data starts.
    public let dataOffset: Int
    let descriptor: Int32

    public var rows: Int { shape[0] }
    public var columns: Int { shape.count > 1 ? shape[1] : 1 }
    public var rowBytes: Int { columns * type.size }
    /// The file size the header promises.
    public var expectedSize: Int { dataOffset + rows * rowBytes }

    public init(path: String, role: String) throws(MiniBatchError) {
        self.path = path
        func bad(_ what: String) -> MiniBatchError {
            MiniBatchError(.format, "\(role) file '\(path)' is not a valid .npy file: \(what)")
        }
        let fd = try File.openRegular(path, "\(role) file '\(path)'").fd
        descriptor = fd
        var prefix = [UInt8](repeating: 0, count: 12)
        let got = prefix.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 12, 0) }
        // From here on a failure must close the descriptor: deinit does not run for a
        // partly initialised object, so each throw below closes it first.
        func fail(_ error: MiniBatchError) -> MiniBatchError {
            close(fd)
            return error
        }
        // A file cut short is told apart from one that is not .npy: the magic is checked on
        // the bytes there are, then the version, then the header length's bytes.
        guard got >= 0 else { throw fail(MiniBatchError(.io, "cannot read \(role) file '\(path)': \(File.reason())")) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59], length = got
        guard prefix[0..<min(length, 6)] == magic[0..<min(length, 6)] else { throw fail(bad("bad magic (expected \\x93NUMPY)")) }
        guard length >= 8 else { throw fail(bad(length == 0 ? "the file is empty" : "truncated header (the file ends after \(length) bytes)")) }
        let major = Int(prefix[6])
        guard (1...3).contains(major), prefix[7] == 0 else { throw fail(bad("unsupported format version \(major).\(prefix[7]) (1.0, 2.0 and 3.0 are read)")) }
        guard length >= (major == 1 ? 10 : 12) else { throw fail(bad("truncated header (the file ends after \(length) bytes)")) }
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(prefix[8]) | Int(prefix[9]) << 8
            headerStart = 10
        } else {
            headerLength = Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24
            headerStart = 12
        }
        guard headerLength <= 1 << 20 else { throw fail(bad("header of \(headerLength) bytes")) }
        var header = [UInt8](repeating: 0, count: headerLength)
        let read = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, headerLength, off_t(headerStart)) }
        guard read == headerLength else { throw fail(bad("truncated header")) }
        let parsed: (descr: String?, fortran: Bool, shape: [Int])
        do throws(MiniBatchError) {
            parsed = try NpyHeader.parse(header, utf8: major >= 3)
        } catch {
            throw fail(bad(error.message))
        }
        guard let descr = parsed.descr else {
            throw fail(MiniBatchError(.invalidArgument, "\(role) file '\(path)' holds a structured or sub-array dtype, which is not supported: features must be float32, y float32, float64 or an integer type"))
        }
        let (found, bigEndian) = NpyHeader.type(of: descr)
        guard let type = found, !bigEndian else {
            let hint = bigEndian ? " (big-endian)" : ""
            throw fail(MiniBatchError(.invalidArgument, "\(role) file '\(path)' has dtype '\(descr)'\(hint), which is not supported: features must be '<f4' (float32), y '<f4', '<f8' or an integer type"))
        }
        // (an array with at most one dimension above 1 has the same bytes in either order:
        // taken since 0.12.6)
        guard !parsed.fortran || parsed.shape.filter({ $0 > 1 }).count <= 1 else {
            throw fail(MiniBatchError(.invalidArgument, "\(role) file '\(path)' is in Fortran order; save it in C order (np.ascontiguousarray)"))
        }
        guard (1...2).contains(parsed.shape.count), parsed.shape.allSatisfy({ $0 >= 1 }) else {
            throw fail(MiniBatchError(.invalidArgument, "\(role) file '\(path)' has shape \(parsed.shape); a non-empty 1-D or 2-D array is needed"))
        }
        self.type = type
        self.shape = parsed.shape
        self.version = major
        self.dataOffset = headerStart + headerLength
        guard let size = NpyFile.size(fd) else { throw fail(MiniBatchError(.io, "cannot stat '\(path)': \(File.reason())")) }
        // The data the header promises, with every product checked: a header may claim any
        // shape, and no later size computation may overflow.
        var bytes = type.size
        for dimension in parsed.shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= Int.max / 2 else { throw fail(bad("shape \(parsed.shape) is too large")) }
            bytes = product
        }
        guard size - dataOffset >= bytes else {
            throw fail(bad("truncated: the header promises \(bytes) bytes of data after its \(dataOffset)-byte header, the file has \(size) bytes in all"))
        }
        openedSize = size
    }

    /// The file's size when it was opened: a change in either direction is reported.
    let openedSize: Int

    deinit { close(descriptor) }

    /// The current size of the open file.
    static func size(_ fd: Int32) -> Int? {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int(info.st_size) : nil
    }

    /// The open file's device, inode, size and modification time (nil if fstat fails).
    func stamp() -> FileStamp? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        return FileStamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                         seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int64(info.st_mtim.tv_nsec))
    }

    /// Checks that the file has the size it had when it was opened (it may be changed under
    /// a reader: truncated, or written to while it trains).
    func checkSize() throws(MiniBatchError) {
        let size = NpyFile.size(descriptor)
        guard size == openedSize else {
            let now = size.map { "\($0) bytes" } ?? "a size that cannot be read"
            throw MiniBatchError(.io, "'\(path)' changed size during training: \(openedSize) bytes when opened, \(now) now")
        }
    }

    /// Reads `count` whole rows starting at row `first` into `buffer`.
    func readRows(_ first: Int, count: Int, into buffer: UnsafeMutableRawPointer) throws(MiniBatchError) {
        try readBytes(dataOffset + first * rowBytes, count: count * rowBytes, into: buffer, row: first)
    }

    /// `readRows`, first from the page cache alone: false if part of the rows was not
    /// cached and had to be waited for.
    func readCachedRows(_ first: Int, count: Int, into buffer: UnsafeMutableRawPointer) throws(MiniBatchError) -> Bool {
        let bytes = count * rowBytes, offset = dataOffset + first * rowBytes
        var done = 0
        while done < bytes {
            let n = minibatch_pread_nowait(descriptor, buffer + done, bytes - done, Int64(offset + done))
            if n > 0 { done += n; continue }
            if n == -Int(EINTR) { continue }
            break  // not cached (-EAGAIN), not supported, the end of the file, or an error
        }
        if done == bytes { return true }
        try readBytes(offset + done, count: bytes - done, into: buffer + done, row: first + done / rowBytes)
        return false
    }

    /// Reads `count` bytes at file offset `offset`, which is in row `row` (for the message).
    private func readBytes(_ offset: Int, count: Int, into buffer: UnsafeMutableRawPointer, row: Int) throws(MiniBatchError) {
        var done = 0
        while done < count {
            let n = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { throw MiniBatchError(.io, "'\(path)' ended early at row \(row + done / rowBytes): the file changed size while it was read") }
            throw MiniBatchError(.io, "cannot read '\(path)': \(File.reason())")
        }
    }

    /// Asks the kernel to start reading rows `first ..< first + count` into the page cache.
    func prefetch(_ first: Int, count: Int) {
        _ = posix_fadvise(descriptor, off_t(dataOffset + first * rowBytes), off_t(count * rowBytes), POSIX_FADV_WILLNEED)
    }

    /// Tells the kernel how the whole file will be read: `POSIX_FADV_SEQUENTIAL` (more
    /// readahead) or `POSIX_FADV_RANDOM` (none).
    func advise(_ advice: Int32) {
        _ = posix_fadvise(descriptor, 0, 0, advice)
    }

    /// Tells the kernel the pages of rows `first ..< first + count` will not be needed again.
    func release(_ first: Int, count: Int) {
        _ = posix_fadvise(descriptor, off_t(dataOffset + first * rowBytes), off_t(count * rowBytes), POSIX_FADV_DONTNEED)
    }
}

/// What identifies a file's contents without reading them: a change of any field means the
/// file may have been written to.
struct FileStamp: Equatable {
    let device: UInt64, inode: UInt64, size: Int64, seconds: Int64, nanoseconds: Int64
}
