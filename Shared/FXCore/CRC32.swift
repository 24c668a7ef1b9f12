/// CRC-32 as zlib and Ethernet compute it (IEEE 802.3, reflected polynomial `0xEDB88320`, initial value and
/// final XOR `0xFFFFFFFF`): `CRC32.checksum("123456789".utf8) == 0xCBF43926`. Kraken's book checksums use it.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var running = Running()
        running.update(bytes)
        return running.value
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var running = Running()
        running.update(bytes)
        return running.value
    }

    /// A checksum computed over several pieces without joining them first.
    public struct Running: Sendable {
        private var state: UInt32 = 0xFFFF_FFFF
        public init() {}

        public mutating func update(_ bytes: some Sequence<UInt8>) {
            for byte in bytes { update(byte) }
        }

        /// The same for bytes in an array: not generic (so fast across modules), the table fetched once.
        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { update($0) }
        }

        /// The same for bytes in a buffer.
        public mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
            var state = self.state
            CRC32.table.withUnsafeBufferPointer { table in
                for byte in bytes { state = table[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8) }
            }
            self.state = state
        }

        public mutating func update(_ byte: UInt8) {
            state = CRC32.table[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8)
        }

        public var value: UInt32 { state ^ 0xFFFF_FFFF }
    }
}
