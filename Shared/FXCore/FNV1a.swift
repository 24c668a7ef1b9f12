/// FNV-1a, 64 bits: a fast, stable (platform-independent) hash of text — migration checksums, the
/// simulator's per-symbol seeds. Not for security.
public enum FNV1a {
    public static func hash64(_ text: some StringProtocol) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
