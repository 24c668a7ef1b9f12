import Foundation

/// Reads configuration from environment variables. A secret may instead come from a file named by
/// `<NAME>_FILE` (e.g. `DATABASE_URL_FILE=/run/secrets/db-url`), trailing newline trimmed.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// `NAME`, else the contents of the file `NAME_FILE` names, else nil. Empty values count as unset.
    public func value(_ name: String) throws -> String? {
        if let value = values[name], !value.isEmpty { return value }
        guard let path = values[name + "_FILE"], !path.isEmpty else { return nil }
        do {
            let contents = try String(contentsOfFile: path, encoding: .utf8)
            return contents.trimmingCharacters(in: .newlines)
        } catch {
            throw ConfigurationError(key: name + "_FILE", reason: "cannot read file '\(path)': \(error.localizedDescription)")
        }
    }
}

/// A configuration value that is missing or malformed. Names the key, never the value.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var key: String
    public var reason: String

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "configuration error for \(key): \(reason)" }
}
