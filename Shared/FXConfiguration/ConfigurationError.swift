/// A configuration value that is missing, malformed or out of range. Services exit with
/// ``exitCode`` (EX_CONFIG) and print ``description``: one line naming the key, where the value came
/// from and what is allowed. A secret's value is never repeated.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// sysexits.h EX_CONFIG.
    public static let exitCode: Int32 = 78

    public enum Code: String, Sendable {
        /// The value does not parse or is out of range.
        case invalidValue = "invalid_value"
        /// The YAML file has a key nothing reads.
        case unknownKey = "unknown_key"
        /// A required value is missing.
        case missing
        /// A file (configuration file, `*_FILE` secret) cannot be read or parsed.
        case unreadable
        /// The value is well-formed but the combination of settings is refused.
        case refused
    }

    public var code: Code
    public var key: String
    public var origin: ConfigOrigin?
    public var reason: String
    /// What would be accepted, e.g. `a duration like 250ms, 5s, 2m; at least 1ms`.
    public var allowed: String?

    public init(code: Code = .refused, key: String, origin: ConfigOrigin? = nil, reason: String, allowed: String? = nil) {
        self.code = code
        self.key = key
        self.origin = origin
        self.reason = reason
        self.allowed = allowed
    }

    public var description: String {
        var line = "configuration error: \(key)"
        if let origin { line += " (\(origin))" }
        line += ": \(reason)"
        if let allowed { line += "; allowed: \(allowed)" }
        return line
    }
}

/// Why one raw value was refused; the resolver adds the key and the origin.
public struct ConfigValueError: Error, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
