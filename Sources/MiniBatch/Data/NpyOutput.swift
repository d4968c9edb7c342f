/// A `.npy` file written row by row, in order, as `np.save` writes it: format 1.0, the
/// header dict `{'descr': ..., 'fortran_order': False, 'shape': (...), }` padded with spaces
/// and a newline so that the data starts at a multiple of 64 bytes, then the rows in C order.
/// Written atomically (`AtomicFile`): the target appears, complete, on `commit`, and an
/// output dropped before that leaves nothing behind.
final class NpyOutput {
    let type: NpyType
    /// (rows) or (rows, columns).
    let shape: [Int]
    let rowBytes: Int
    private let file: AtomicFile
    /// Rows written so far.
    private(set) var rows = 0

    /// - Parameters:
    ///   - releasesPages: flush and drop written pages as the file grows (`AtomicFile`).
    init(path: String, type: NpyType, shape: [Int], releasesPages: Bool = false) throws(MiniBatchError) {
        self.type = type
        self.shape = shape
        rowBytes = (shape.count > 1 ? shape[1] : 1) * type.size
        file = try AtomicFile(path: path, releasesPages: releasesPages)
        let header = NpyOutput.header(type: type, shape: shape)
        var failure: MiniBatchError? = nil
        header.withUnsafeBytes { bytes in
            do throws(MiniBatchError) { try file.write(bytes.baseAddress!, count: bytes.count) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The bytes before the data: magic, version 1.0, header length, padded dict.
    static func header(type: NpyType, shape: [Int]) -> [UInt8] {
        let dimensions = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(type.rawValue)', 'fortran_order': False, 'shape': \(dimensions), }"
        // 10 bytes of magic, version and length, then the dict and its newline: 64-aligned.
        let padding = (64 - (10 + dict.utf8.count + 1) % 64) % 64
        dict += String(repeating: " ", count: padding) + "\n"
        let length = dict.utf8.count  // < 2^16: two dimensions of at most 19 digits each
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    /// Appends `count` whole rows.
    func append(_ bytes: UnsafeRawPointer, rows count: Int) throws(MiniBatchError) {
        try file.write(bytes, count: count * rowBytes)
        rows += count
    }

    /// Flushes the finished file to disk (all `shape[0]` rows must have been written);
    /// `moveIntoPlace` then renames it over the target.
    func finishWriting() throws(MiniBatchError) {
        guard rows == shape[0] else {
            throw MiniBatchError(.internal, "'\(file.path)' got \(rows) rows of the \(shape[0]) its header promises")
        }
        try file.finishWriting()
    }

    func moveIntoPlace() throws(MiniBatchError) { try file.moveIntoPlace() }

    /// `finishWriting` then `moveIntoPlace`.
    func commit() throws(MiniBatchError) {
        try finishWriting()
        try moveIntoPlace()
    }
}
