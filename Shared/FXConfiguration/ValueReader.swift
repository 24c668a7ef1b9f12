/// Turns raw configuration text (a flag, an environment variable) or a YAML value into a typed value,
/// and back into text for `--print-config`. Readers refuse what they cannot represent exactly: no
/// trap on overflow, no silent default.
public struct ValueReader<Value: Sendable>: Sendable {
    /// What is accepted, in words: shown in errors and in `--help`.
    public let allowed: String
    private let parseText: @Sendable (String) throws(ConfigValueError) -> Value
    private let parseFile: @Sendable (ConfigFileValue) throws(ConfigValueError) -> Value
    public let format: @Sendable (Value) -> String

    public init(allowed: String,
                text: @escaping @Sendable (String) throws(ConfigValueError) -> Value,
                file: (@Sendable (ConfigFileValue) throws(ConfigValueError) -> Value)? = nil,
                format: @escaping @Sendable (Value) -> String = { "\($0)" }) {
        self.allowed = allowed
        self.parseText = text
        if let file {
            self.parseFile = file
        } else {
            self.parseFile = { (value: ConfigFileValue) throws(ConfigValueError) -> Value in
                guard case .scalar(let raw, _, _) = value.content else {
                    throw ConfigValueError("expected a single value, found \(value.kindDescription)")
                }
                return try text(raw)
            }
        }
        self.format = format
    }

    public func parse(_ text: String) throws(ConfigValueError) -> Value {
        try parseText(trimmedConfigText(text))
    }

    public func parse(_ value: ConfigFileValue) throws(ConfigValueError) -> Value {
        try parseFile(value)
    }

    /// Reads into `Optional<Value>` (for settings whose default is "none").
    public var optional: ValueReader<Value?> {
        let base = self
        return ValueReader<Value?>(allowed: allowed,
                                   text: { (text: String) throws(ConfigValueError) -> Value? in try base.parse(text) },
                                   file: { (file: ConfigFileValue) throws(ConfigValueError) -> Value? in try base.parse(file) },
                                   format: { $0.map(base.format) ?? "none" })
    }
}

/// The text without leading and trailing spaces and tabs.
func trimmedConfigText<S: StringProtocol>(_ text: S) -> String {
    var slice = Substring(text)
    while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
    while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
    return String(slice)
}
