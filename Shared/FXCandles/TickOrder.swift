import FXCore
#if canImport(Glibc)
import Glibc
#endif

/// Where a tick stands in the order that decides a candle's open and close: event time, then sequence,
/// then trade id (numeric ids in numeric order: shorter first), then identity. Compared field by field
/// exactly as its ``text`` compares byte by byte (PostgreSQL's `COLLATE "C"` on the stored `open_key` and
/// `close_key`), so ticks are ordered without building that text; it is built only for the candle rows.
public struct TickOrder: Sendable, Comparable {
    /// Event time (ns; positive: the contract's window starts in 2000).
    public var ts: Int64
    /// The sequence, -1 when absent (0 ... 2^62 otherwise).
    public var seq: Int64
    /// The trade id, empty when absent (at most 64 bytes).
    public var tradeID: String
    public var identity: String

    public init(ts: Int64, seq: Int64?, tradeID: String?, identity: String) {
        self.ts = ts
        self.seq = seq ?? -1
        self.tradeID = tradeID ?? ""
        self.identity = identity
    }

    /// `<ts, 20 digits>|<seq + 1, 20 digits>|<trade id length, 4 digits><trade id>|<identity>`.
    public var text: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(48 + tradeID.utf8.count + identity.utf8.count)
        bytes.appendDecimal(ts, width: 20); bytes.append(UInt8(ascii: "|"))
        bytes.appendDecimal(seq + 1, width: 20); bytes.append(UInt8(ascii: "|"))
        bytes.appendDecimal(Int64(tradeID.utf8.count), width: 4); bytes.append(contentsOf: tradeID.utf8); bytes.append(UInt8(ascii: "|"))
        bytes.append(contentsOf: identity.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func < (a: TickOrder, b: TickOrder) -> Bool {
        if a.ts != b.ts { return a.ts < b.ts }
        if a.seq != b.seq { return a.seq < b.seq }
        let (x, y) = (a.tradeID.utf8.count, b.tradeID.utf8.count)
        if x != y { return x < y }
        // Equal lengths: the ids, then (after the same '|') the identities, byte by byte.
        let ids = compareBytes(a.tradeID, b.tradeID)
        return ids != 0 ? ids < 0 : compareBytes(a.identity, b.identity) < 0
    }

    /// Byte equality (not String's canonical equivalence: the stored texts compare as bytes).
    public static func == (a: TickOrder, b: TickOrder) -> Bool {
        a.ts == b.ts && a.seq == b.seq && compareBytes(a.tradeID, b.tradeID) == 0 && compareBytes(a.identity, b.identity) == 0
    }

    /// -1, 0 or 1: `a` and `b` compared as UTF-8 bytes (a prefix first).
    public static func compareBytes(_ a: String, _ b: String) -> Int {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let common = min(x.count, y.count)
                if common > 0, let left = x.baseAddress, let right = y.baseAddress {
                    let order = memcmp(left, right, common)
                    if order != 0 { return order < 0 ? -1 : 1 }
                }
                return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
            }
        }
    }
}
