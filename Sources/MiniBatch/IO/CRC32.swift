/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zlib's `crc32`.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        value(update(start, bytes))
    }

    /// The running value before any byte; `update` adds bytes to it; `value` is the
    /// checksum of the bytes added.
    static let start: UInt32 = 0xFFFF_FFFF

    static func value(_ running: UInt32) -> UInt32 { running ^ 0xFFFF_FFFF }

    static func update(_ running: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = running
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc
    }
}
