#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The memory this process may use: physical memory, or less when its control group sets a
/// lower limit (cgroup v1's memory controller `memory.limit_in_bytes`, or cgroup v2's
/// `memory.max`, on this group or any group above it).
enum SystemMemory {
    /// Bytes; physical memory when no limit can be read.
    static func usable() -> Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        let physical = pages > 0 && pageSize > 0 ? pages.multipliedReportingOverflow(by: pageSize).partialValue : Int.max
        let groups = readText("/proc/self/cgroup") ?? ""
        return min(physical, cgroupLimit(groups: groups, read: readText) ?? Int.max)
    }

    /// The smallest memory limit on the way from this process's groups up to the root.
    /// `groups` is the text of /proc/self/cgroup (lines "id:controllers:path"); `read` gives
    /// the text of a file, or nil.
    static func cgroupLimit(groups: String, read: (String) -> String?) -> Int? {
        var limit: Int? = nil
        for line in groups.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[2].hasPrefix("/") else { continue }
            let file: String, root: String
            if fields[1].split(separator: ",").contains("memory") {
                (root, file) = ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")  // v1
            } else if fields[0] == "0" && fields[1].isEmpty {
                (root, file) = ("/sys/fs/cgroup", "memory.max")  // v2
            } else {
                continue
            }
            var path = String(fields[2])
            while true {
                let directory = path == "/" ? root : root + path
                if let text = read(directory + "/" + file),
                   let value = Int(text.filter { !$0.isWhitespace }), value > 0 {  // "max": no limit
                    limit = min(limit ?? value, value)
                }
                guard path != "/", let slash = path.lastIndex(of: "/") else { break }
                path = slash == path.startIndex ? "/" : String(path[..<slash])
            }
        }
        return limit
    }

    /// The text of a small file such as those in /proc and /sys (whose size stat reports
    /// as 0), or nil.
    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { bytes += chunk[0..<n] }
            else if n < 0 && errno == EINTR { continue }
            else if n < 0 { return nil }
            else { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Bytes the process can still take under its address-space and data limits (`ulimit
    /// -v`, `RLIMIT_AS`: the limit less /proc/self/status's VmSize; `RLIMIT_DATA`: less
    /// VmData), Int.max where neither is set or they cannot be read. An allocation beyond
    /// it fails however much memory the machine has.
    static func underLimits() -> Int {
        var left = Int.max
        var text: String?  // /proc/self/status, read only where a limit is set
        func used(_ field: String) -> Int? {
            if text == nil { text = readText("/proc/self/status") ?? "" }
            let status = text!
            for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
                let digits = line.dropFirst(field.count + 1).filter(\.isNumber)
                return Int(digits).map { $0.multipliedReportingOverflow(by: 1024).partialValue }
            }
            return nil
        }
        for (resource, field) in [(RLIMIT_AS, "VmSize"), (RLIMIT_DATA, "VmData")] {
            var limit = rlimit()
            guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
                  limit.rlim_cur < UInt64(Int.max) else { continue }
            left = min(left, max(0, Int(limit.rlim_cur) - (used(field) ?? 0)))
        }
        return left
    }
}
