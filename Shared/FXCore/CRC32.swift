/// CRC-32 as zlib and Ethernet compute it (IEEE 802.3, reflected polynomial `0xEDB88320`, initial value and
/// final XOR `0xFFFFFFFF`): `CRC32.checksum("123456789".utf8) == 0xCBF43926`. Kraken's book checksums use it.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
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
            for byte in bytes { state = CRC32.table[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8) }
        }

        public mutating func update(_ byte: UInt8) {
            state = CRC32.table[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8)
        }

        public var value: UInt32 { state ^ 0xFFFF_FFFF }
    }
}
