/// A parsed JSON document. Numbers keep their literal text, so prices never pass through `Double`.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written, e.g. `1.08765` or `1.2e-5`; see ``decimal``.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members by name; when a name repeats, the last one wins (as in most parsers).
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// A number (or a string holding a plain decimal, as some venues send prices) as an exact decimal.
    public var decimal: DecimalText? {
        switch self {
        case .number(let literal): return DecimalText(jsonNumber: literal.utf8)
        case .string(let text): return DecimalText(text)
        default: return nil
        }
    }

    /// A number literal that is a whole number fitting Int64 (no fraction, no exponent).
    public var int64Value: Int64? {
        if case .number(let literal) = self { return Int64(literal) }
        return nil
    }
}
