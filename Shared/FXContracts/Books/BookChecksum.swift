import FXCore

/// A venue's checksum of its book, carried on the books topic so that consumers can check their copy too.
///
/// JSON: `{"kind":"kraken_crc32","value":974947235,"verified":true}`: `value` is the venue's checksum
/// (unsigned 32-bit), `verified` whether the ingestor's book, after applying the message, gave the same.
public struct BookChecksum: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Kraken (WebSocket v2 `book`): CRC-32 of the top 10 asks (ascending) then the top 10 bids
        /// (descending), each level's price text then its quantity text, with `.` removed and leading zeros
        /// stripped.
        case krakenCRC32 = "kraken_crc32"
    }

    public var kind: Kind
    public var value: UInt32
    public var verified: Bool

    public init(kind: Kind, value: UInt32, verified: Bool) {
        self.kind = kind
        self.value = value
        self.verified = verified
    }

    /// The checksum `kind` gives for `book`.
    public static func compute(_ kind: Kind, of book: OrderBook) -> UInt32 {
        switch kind {
        case .krakenCRC32: return kraken(book)
        }
    }

    /// Kraken's book checksum (see ``Kind/krakenCRC32``). The text must be the venue's own (trailing zeros
    /// kept), which ``BookLevel`` preserves.
    public static func kraken(_ book: OrderBook) -> UInt32 {
        var crc = CRC32.Running()
        for index in 0..<min(10, book.count(.ask)) {
            let level = book.level(.ask, at: index)
            feed(level.price, &crc)
            feed(level.quantity, &crc)
        }
        for index in 0..<min(10, book.count(.bid)) {
            let level = book.level(.bid, at: index)
            feed(level.price, &crc)
            feed(level.quantity, &crc)
        }
        return crc.value
    }

    /// `text` into the checksum without its `.` and its leading zeros (`0.00100` -> `100`), a run of bytes
    /// at a time.
    private static func feed(_ text: String, _ crc: inout CRC32.Running) {
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            while start < bytes.count, bytes[start] == UInt8(ascii: "0") || bytes[start] == UInt8(ascii: ".") { start += 1 }
            var run = start
            for index in start..<bytes.count where bytes[index] == UInt8(ascii: ".") {
                crc.update(UnsafeBufferPointer(rebasing: bytes[run..<index]))
                run = index + 1
            }
            if run < bytes.count { crc.update(UnsafeBufferPointer(rebasing: bytes[run...])) }
        }
    }
}
