#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffers asked for on huge pages get them from this size on.
let hugeBufferBytes = 4 << 20

/// Allocates `count` elements of `T`, 64-byte aligned, or throws `.outOfMemory`.
///
/// Swift's own allocator traps when memory runs out; a library must report it instead, so
/// every buffer whose size comes from the caller is allocated here.
@usableFromInline
func allocate<T>(_ type: T.Type, count: Int, for what: String, hugePages: Bool = false) throws(MiniBatchError)
    -> UnsafeMutablePointer<T>
{
    let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<T>.stride)
    var raw: UnsafeMutableRawPointer? = nil
    // Large buffers that are written whole (`hugePages`) start on a huge page and ask for
    // transparent huge pages: their first touch then faults a 2 MiB page at a time instead
    // of 4 KiB. (Not by default: a buffer touched in part would then be resident in 2 MiB
    // steps.)
    let huge = hugePages && !overflow && bytes >= hugeBufferBytes
    if overflow || posix_memalign(&raw, huge ? 2 << 20 : 64, bytes) != 0 || raw == nil {
        throw MiniBatchError(.outOfMemory, "out of memory allocating \(what) (\(count) elements)")
    }
    #if os(Linux)
    if huge { _ = madvise(raw, bytes & ~((2 << 20) - 1), MADV_HUGEPAGE) }
    #endif
    return raw!.bindMemory(to: T.self, capacity: max(count, 1))
}

/// Frees a buffer from `allocate`.
@usableFromInline
func deallocate<T>(_ pointer: UnsafeMutablePointer<T>?) {
    free(pointer)
}
