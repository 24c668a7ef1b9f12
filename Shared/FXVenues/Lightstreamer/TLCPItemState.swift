/// The current field values of one subscription's items, and the decoding of TLCP's update values
/// against them (`U,<subId>,<item>,<v1|v2|...>`, Lightstreamer TLCP 2.x):
/// - an empty value: unchanged since the item's previous update (in DISTINCT mode too); before any
///   update, null;
/// - `#`: null; `$`: the empty string;
/// - `^N`: the next N fields unchanged;
/// - otherwise the value, percent-encoded where it would be ambiguous (a leading `#`, `$` or `^`, and
///   `|`, `%`, CR, LF anywhere): `%XX` bytes decode as UTF-8.
/// A value type, one per subscription: ``reset()`` on every `SUBOK` (a new subscription starts with no
/// values). Diff encodings (`^P`, `^T`) are not asked for and are refused.
public struct TLCPItemState: Sendable, Equatable {
    public let fieldCount: Int
    private var items: [Int: [String?]] = [:]

    public init(fieldCount: Int) {
        self.fieldCount = fieldCount
    }

    /// Forgets every item's values (`SUBOK`: the subscription starts again).
    public mutating func reset() {
        items = [:]
    }

    /// The item's values before any update are all null.
    public func values(of item: Int) -> [String?] {
        items[item] ?? Array(repeating: nil, count: fieldCount)
    }

    /// Applies one update's encoded values to `item` (1-based, as on the wire); returns the item's
    /// values now. On an error the item's values are unchanged.
    public mutating func apply(item: Int, encoded: Substring) throws(TLCPError) -> [String?] {
        guard item >= 1 else { throw TLCPError(.malformed, "item \(item) is not 1-based") }
        var values = self.values(of: item)
        var field = 0
        for token in encoded.split(separator: "|", omittingEmptySubsequences: false) {
            if token.first == "^", let count = Int(token.dropFirst()) {
                guard count >= 1, count <= fieldCount - field else {
                    throw TLCPError(.malformed, "'^\(count)' runs past the \(fieldCount) fields")
                }
                field += count
                continue
            }
            guard field < fieldCount else { throw TLCPError(.malformed, "more values than the \(fieldCount) fields") }
            switch token {
            case "": break
            case "#": values[field] = nil
            case "$": values[field] = ""
            default:
                if token.first == "^" { throw TLCPError(.unsupported, "diff value '\(token.prefix(8))' (not asked for)") }
                values[field] = try Self.percentDecoded(token)
            }
            field += 1
        }
        guard field == fieldCount else { throw TLCPError(.malformed, "\(field) values for \(fieldCount) fields") }
        items[item] = values
        return values
    }

    /// `%XX` sequences as bytes, read as UTF-8.
    static func percentDecoded(_ text: Substring) throws(TLCPError) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hex), let low = iterator.next().flatMap(hex) else {
                throw TLCPError(.malformed, "bad percent-encoding in '\(text.prefix(20))'")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw TLCPError(.malformed, "percent-encoding is not UTF-8") }
        return decoded
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
