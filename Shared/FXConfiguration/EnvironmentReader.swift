import Foundation

/// Reads configuration from environment variables. Any value may instead come from a file named by
/// `<NAME>_FILE` (e.g. `DATABASE_URL_FILE=/run/secrets/db-url`), trailing newline trimmed: the way
/// secrets are mounted in containers.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// `NAME`, else the contents of the file `NAME_FILE` names, else nil. Empty values count as unset.
    public func value(_ name: String) throws(ConfigurationError) -> String? {
        try lookup(name)?.value
    }

    /// The value and where it came from (`NAME` or `NAME_FILE`).
    public func lookup(_ name: String) throws(ConfigurationError) -> (value: String, origin: ConfigOrigin)? {
        if let value = values[name], !value.isEmpty { return (value, .environment(name)) }
        guard let path = values[name + "_FILE"], !path.isEmpty else { return nil }
        do {
            let contents = try String(contentsOfFile: path, encoding: .utf8)
            return (contents.trimmingCharacters(in: .newlines), .environment(name + "_FILE"))
        } catch {
            throw ConfigurationError(code: .unreadable, key: name, origin: .environment(name + "_FILE"),
                                     reason: "cannot read file '\(path)': \(error.localizedDescription)")
        }
    }
}
