/// One `KEY=VALUE` item of a repeatable setting (`--stale-after coinbase=30s`, `--rest-url coinbase=URL`),
/// read once into its typed value: the key lowercased, the value by the value's own reader.
public struct KeyedValue<Value: Sendable>: Sendable {
    public var key: String
    public var value: Value

    public init(key: String, value: Value) {
        self.key = key
        self.value = value
    }
}

extension Array {
    /// The items by key; a later item with the same key wins.
    public func byKey<Value>() -> [String: Value] where Element == KeyedValue<Value> {
        Dictionary(map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

extension ValueReader {
    /// `KEY=VALUE` items: `KEY` (named `keyName` in messages) one of `keys` (any non-empty key when nil),
    /// `VALUE` read by `value`.
    public static func keyed<Item>(_ value: ValueReader<Item>, keyName: String = "SOURCE", keys: [String]? = nil) -> ValueReader<KeyedValue<Item>>
    where Value == KeyedValue<Item> {
        let allowed = "\(keyName)=\(value.allowed)" + (keys.map { " with \(keyName) one of \($0.joined(separator: ", "))" } ?? "")
        return ValueReader(allowed: allowed,
                           text: { (text: String) throws(ConfigValueError) -> KeyedValue<Item> in
                               guard let equals = text.firstIndex(of: "=") else { throw ConfigValueError("'\(text)' is not \(allowed)") }
                               let key = text[..<equals].lowercased()
                               guard !key.isEmpty, keys?.contains(key) ?? true else { throw ConfigValueError("'\(text)' is not \(allowed)") }
                               return KeyedValue(key: key, value: try value.parse(String(text[text.index(after: equals)...])))
                           },
                           format: { "\($0.key)=\(value.format($0.value))" })
    }
}
