/// A settings struct for one concern (shared service settings, the aggregator, the ingestor's
/// tuning, ...): its defaults are its initial values, its keys are ``settings``.
public protocol ConfigSection: Sendable {
    /// The defaults.
    init()
    /// The heading of the section in `--help` and `--print-config`.
    static var sectionName: String { get }
    /// Every key of the section, each documented once.
    static var settings: [Setting<Self>] { get }
    /// Checks that span several keys, after every key is resolved. Throw a ``ConfigurationError``
    /// naming the key at fault.
    mutating func validate(_ context: ConfigContext) throws(ConfigurationError)
}

extension ConfigSection {
    public mutating func validate(_ context: ConfigContext) throws(ConfigurationError) {}
}

/// What ``ConfigSection/validate(_:)`` may consult: where each key of the section came from.
public struct ConfigContext: Sendable {
    public let origins: [String: ConfigOrigin]
    public func origin(of key: String) -> ConfigOrigin { origins[key] ?? .defaultValue }
}
