import Foundation

/// A value that can be sent as a query parameter in PostgreSQL's text format.
/// Prices and sizes go as `Decimal` or as decimal strings: there is deliberately no `Double` conformance.
public protocol PostgresEncodable: Sendable {
    var postgresText: String { get }
}

extension String: PostgresEncodable { public var postgresText: String { self } }
extension Substring: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int64: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int32: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int16: PostgresEncodable { public var postgresText: String { String(self) } }
extension Bool: PostgresEncodable { public var postgresText: String { self ? "t" : "f" } }
extension Decimal: PostgresEncodable {
    /// Foundation's `Decimal.description` is exact (base-10 digits, '.' separator, no exponent).
    public var postgresText: String { description }
}
extension UUID: PostgresEncodable { public var postgresText: String { uuidString } }
extension Array: PostgresEncodable where Element == UInt8 {
    /// `bytea` in hex format.
    public var postgresText: String {
        "\\x" + map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// A value that can be read from PostgreSQL's text format.
public protocol PostgresDecodable {
    init?(postgresText: String)
}

extension String: PostgresDecodable { public init?(postgresText: String) { self = postgresText } }
extension Int: PostgresDecodable { public init?(postgresText: String) { self.init(postgresText) } }
extension Int64: PostgresDecodable { public init?(postgresText: String) { self.init(postgresText) } }
extension Int32: PostgresDecodable { public init?(postgresText: String) { self.init(postgresText) } }
extension Bool: PostgresDecodable {
    public init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}
extension Decimal: PostgresDecodable {
    /// Reads `numeric` exactly; refuses NaN and text Foundation cannot hold without rounding
    /// (more than 38 significant digits).
    public init?(postgresText: String) {
        guard postgresText != "NaN", let value = Decimal(string: postgresText, locale: Locale(identifier: "en_US_POSIX")),
              value.description == Self.canonical(postgresText) else { return nil }
        self = value
    }

    /// The text as Decimal.description would print it: no trailing fractional zeros, no leading '+'.
    private static func canonical(_ text: String) -> String {
        var text = text.hasPrefix("+") ? String(text.dropFirst()) : text
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        if text == "-0" || text.isEmpty { return "0" }
        let negative = text.hasPrefix("-")
        var digits = negative ? String(text.dropFirst()) : text
        while digits.count > 1, digits.hasPrefix("0"), !digits.hasPrefix("0.") { digits.removeFirst() }
        return (negative ? "-" : "") + digits
    }
}
