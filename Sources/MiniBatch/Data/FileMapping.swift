#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMatrix

/// A read-only mapping of a `.npy` file, from which the exact shuffle copies the rows of a
/// batch that X held in part does not have, as a gather from memory copies them: a quarter
/// of a `pread`'s cost per row from the page cache (CMatrix/include/mapped.h, which says
/// what it was measured on). Its copies run under `mbm_gather_mapped`'s SIGBUS guard: a
/// file truncated while mapped fails the copy, and the rows are then read with `pread`,
/// which reports the change of size; they never end the process.
final class FileMapping: @unchecked Sendable {
    let file: NpyFile
    private let base: UnsafeMutableRawPointer
    private let bytes: Int

    /// Maps the whole of `file` (nil where it cannot be mapped: then every row is read with
    /// `pread`).
    init?(_ file: NpyFile) {
        let bytes = file.expectedSize
        guard bytes > 0, let base = mmap(nil, bytes, PROT_READ, MAP_SHARED, file.descriptor, 0),
              base != MAP_FAILED
        else { return nil }
        // A page not in the page cache is read alone when first copied, not with its
        // neighbours: the rows are copied in random order.
        _ = madvise(base, bytes, MADV_RANDOM)
        self.file = file
        self.base = base
        self.bytes = bytes
    }

    deinit { munmap(base, bytes) }

    /// Whether every page of the file is in the page cache now (`mincore`).
    var isResident: Bool {
        let page = max(1, sysconf(Int32(_SC_PAGESIZE)))
        let pages = (bytes + page - 1) / page
        guard let vector = malloc(pages)?.assumingMemoryBound(to: UInt8.self) else { return false }
        defer { free(vector) }
        guard mincore(base, bytes, vector) == 0 else { return false }
        return (0..<pages).allSatisfy { vector[$0] & 1 == 1 }
    }

    /// What a gather of rows from the mapping did.
    enum Gathered {
        /// Copied, with the largest |value| and the pages the copy waited for (rows not in
        /// the page cache).
        case copied(Magnitude, waits: Int)
        /// A page could not be read: the file changed size, or an I/O error.
        case fault
        /// Nothing copied: the guard cannot be used now (`mbm_gather_mapped`).
        case unavailable
    }

    /// Row k of `out` = file row `rows[k]` (rows of `features` floats), for k < `count`: from
    /// `held` (X's first `heldRows` rows, in memory) where it has it, else from the mapping.
    func gather(
        into out: UnsafeMutablePointer<Float>, rows: UnsafePointer<Int>, count: Int, features: Int,
        held: UnsafePointer<Float>?, heldRows: Int
    ) -> Gathered {
        let mapped = UnsafePointer<Float>((base + file.dataOffset).assumingMemoryBound(to: Float.self))
        var largest: Int32 = 0, waits = 0
        let result = mbm_gather_mapped(
            out, held ?? mapped, held == nil ? 0 : heldRows, mapped, features, rows, count, Shuffle.readAhead,
            base, bytes, &largest, &waits)
        switch Int(result) {
        case MBM_MAPPED_COPIED: return .copied(Magnitude(bits: largest), waits: waits)
        case MBM_MAPPED_FAULT: return .fault
        default: return .unavailable
        }
    }
}
