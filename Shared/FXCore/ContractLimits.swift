/// The bounds every topic contract (v1) puts on the values it carries, checked where data enters the
/// pipeline (the ingestor's normalizers, `TickRecord`, `GapEvent`, heartbeat readers, REST history
/// readers). They keep every later computation on these values (bucket arithmetic, sequence distances,
/// latencies) far from `Int64`'s edges, and bound what one message can make a database row hold.
///
/// | value | bound |
/// | --- | --- |
/// | event time (`ts`, `from_ts`, `to_ts`) at the ingestor | 2000-01-01T00:00:00Z ... now + 1 day |
/// | event time read by consumers | 2000-01-01T00:00:00Z ... 2100-01-01T00:00:00Z |
/// | `seq`; a venue heartbeat's `sequence` and numeric `last_trade_id` | 0 ... 2^62 |
/// | `source` | 1-32 bytes of `a-z 0-9 _ -` |
/// | `symbol` | 1-32 bytes of `A-Z 0-9 / . _ -` |
/// | `venue_symbol` | 1-64 printable ASCII bytes (0x21-0x7E) |
/// | `trade_id` | 1-64 printable ASCII bytes (0x21-0x7E): no NUL, no control characters, no spaces; not range-checked as a number |
/// | decimals (`price`, `size`, `bid`, ...) | at most 38 significant digits, at most 18 after the point |
/// | free text (`detail`, `instance`) | bounded length (4096 and 253 bytes), no control characters but tab and newline |
public enum ContractLimits {
    /// 2000-01-01T00:00:00Z in nanoseconds since the epoch.
    public static let earliestEventTime: Int64 = 946_684_800_000_000_000
    /// 2100-01-01T00:00:00Z in nanoseconds: the latest event time a consumer accepts.
    public static let latestEventTime: Int64 = 4_102_444_800_000_000_000
    /// How far past the ingestor's clock an event time may lie (one day, in nanoseconds).
    public static let futureTolerance: Int64 = 86_400_000_000_000
    /// The largest sequence number (2^62: sums and differences of two never overflow). A tick's numeric
    /// trade id above it is not refused, only left out of the ingestor's trade-id sequence check.
    public static let maxSequence: Int64 = 1 << 62
    public static let maxSourceBytes = 32
    public static let maxSymbolBytes = 32
    public static let maxVenueSymbolBytes = 64
    public static let maxTradeIDBytes = 64
    /// An instance name (a host or pod name: Kubernetes allows 253).
    public static let maxInstanceBytes = 253
    public static let maxDecimalDigits = 38
    public static let maxDecimalScale = 18

    /// A reason and a detail for a value outside these bounds (the `rejects` reason codes).
    public struct Violation: Error, Sendable, Equatable, CustomStringConvertible {
        /// `invalid_timestamp`, `invalid_sequence`, `invalid_source`, `invalid_symbol`, `invalid_trade_id`,
        /// `invalid_decimal`, `invalid_text`.
        public var reason: String
        public var detail: String
        public init(reason: String, detail: String) {
            self.reason = reason
            self.detail = detail
        }
        public var description: String { "\(reason): \(detail)" }
    }

    // MARK: Times

    /// The consumers' window: 2000-01-01 ... 2100-01-01.
    public static func isPlausibleEventTime(_ ts: Int64) -> Bool {
        ts >= earliestEventTime && ts <= latestEventTime
    }

    /// The ingestor's window: 2000-01-01 ... `now` + 1 day.
    public static func isPlausibleEventTime(_ ts: Int64, now: Int64) -> Bool {
        ts >= earliestEventTime && ts <= min(latestEventTime, now.addingClamped(futureTolerance))
    }

    public static func checkEventTime(_ ts: Int64, field: String = "ts", now: Int64? = nil) throws(Violation) {
        let ok = now.map { isPlausibleEventTime(ts, now: $0) } ?? isPlausibleEventTime(ts)
        guard ok else {
            throw Violation(reason: "invalid_timestamp",
                            detail: "'\(field)' = \(ts) lies outside 2000-01-01 ... \(now == nil ? "2100-01-01" : "now + 1 day")")
        }
    }

    // MARK: Numbers

    public static func isPlausibleSequence(_ value: Int64) -> Bool { value >= 0 && value <= maxSequence }

    public static func checkSequence(_ value: Int64?, field: String = "seq") throws(Violation) {
        guard let value else { return }
        guard isPlausibleSequence(value) else {
            throw Violation(reason: "invalid_sequence", detail: "'\(field)' = \(value) lies outside 0 ... 2^62")
        }
    }

    /// Digits and scale of a canonical decimal: at most ``maxDecimalDigits`` significant digits (leading
    /// zeros of a fraction below one do not count), at most ``maxDecimalScale`` after the point.
    public static func checkDecimal(_ value: DecimalText, field: String) throws(Violation) {
        var text = value.text
        let (digits, scale) = text.withUTF8 { bytes -> (Int, Int) in
            var digits = 0, scale = 0
            var afterPoint = false, significant = false
            for byte in bytes {
                if byte == UInt8(ascii: ".") { afterPoint = true; continue }
                guard byte != UInt8(ascii: "-") else { continue }
                if afterPoint { scale += 1 }
                if byte != UInt8(ascii: "0") { significant = true }
                if significant { digits += 1 }
            }
            return (digits, scale)
        }
        guard digits <= maxDecimalDigits, scale <= maxDecimalScale else {
            throw Violation(reason: "invalid_decimal",
                            detail: "'\(field)' has \(digits) significant digits and scale \(scale) (limits \(maxDecimalDigits) and \(maxDecimalScale))")
        }
    }

    // MARK: Names

    public static func isValidSource(_ text: String) -> Bool {
        bounded(text, max: maxSourceBytes) { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    public static func isValidSymbol(_ text: String) -> Bool {
        bounded(text, max: maxSymbolBytes) { byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "/")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    public static func isValidVenueSymbol(_ text: String) -> Bool {
        bounded(text, max: maxVenueSymbolBytes, allows: isPrintable)
    }

    public static func isValidTradeID(_ text: String) -> Bool {
        bounded(text, max: maxTradeIDBytes, allows: isPrintable)
    }

    public static func checkSource(_ text: String, field: String = "source") throws(Violation) {
        guard isValidSource(text) else {
            throw Violation(reason: "invalid_source", detail: "'\(field)' must be 1-\(maxSourceBytes) bytes of a-z 0-9 _ - (\(preview(text)))")
        }
    }

    public static func checkSymbol(_ text: String, field: String = "symbol") throws(Violation) {
        guard isValidSymbol(text) else {
            throw Violation(reason: "invalid_symbol", detail: "'\(field)' must be 1-\(maxSymbolBytes) bytes of A-Z 0-9 / . _ - (\(preview(text)))")
        }
    }

    public static func checkVenueSymbol(_ text: String, field: String = "venue_symbol") throws(Violation) {
        guard isValidVenueSymbol(text) else {
            throw Violation(reason: "invalid_symbol", detail: "'\(field)' must be 1-\(maxVenueSymbolBytes) printable ASCII bytes (\(preview(text)))")
        }
    }

    public static func checkTradeID(_ text: String?, field: String = "trade_id") throws(Violation) {
        guard let text else { return }
        guard isValidTradeID(text) else {
            throw Violation(reason: "invalid_trade_id", detail: "'\(field)' must be 1-\(maxTradeIDBytes) printable ASCII bytes (\(preview(text)))")
        }
    }

    /// Free text (a gap's `detail`, an `instance` name): at most `maxBytes` bytes of UTF-8 without NUL or
    /// other control characters but tab and newline (PostgreSQL refuses NUL in text).
    public static func checkText(_ text: String, field: String, maxBytes: Int) throws(Violation) {
        guard text.utf8.count <= maxBytes,
              !text.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A }) else {
            throw Violation(reason: "invalid_text", detail: "'\(field)' must be at most \(maxBytes) bytes without control characters (\(preview(text)))")
        }
    }

    /// The first 40 characters, for an error detail (the whole value travels in the reject's `raw`).
    public static func preview(_ text: String) -> String {
        let utf8 = text.utf8
        if utf8.count <= 40 { return "\(utf8.count) bytes" }
        return "\(utf8.count) bytes, starting \(String(decoding: utf8.prefix(40), as: UTF8.self).debugDescription)"
    }

    private static func isPrintable(_ byte: UInt8) -> Bool { byte >= 0x21 && byte <= 0x7E }

    // Concrete `String` (not `some StringProtocol`): these run per tick from other modules, where a generic
    // call is not specialized.
    private static func bounded(_ text: String, max: Int, allows: (UInt8) -> Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard !bytes.isEmpty, bytes.count <= max else { return false }
            for byte in bytes where !allows(byte) { return false }
            return true
        }
    }
}

extension Int64 {
    /// `self + other`, clamped to `Int64`'s range instead of trapping.
    public func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self - other`, clamped to `Int64`'s range instead of trapping.
    public func subtractingClamped(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }

    /// `self * other`, clamped to `Int64`'s range instead of trapping.
    public func multipliedClamped(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }
}
