import Foundation
import Yams

/// The YAML configuration file of a service (`--config`): a mapping of setting names to values.
/// Every top-level key must be claimed by some setting; ``unclaimedKeys(_:)`` names the rest.
public struct ConfigFile: Sendable {
    public let path: String
    public let root: [(key: String, value: ConfigFileValue)]

    public init(path: String) throws(ConfigurationError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) }
        catch { throw ConfigurationError(code: .unreadable, key: "config", origin: .file(path: path, line: 0), reason: "cannot read the file") }
        try self.init(path: path, text: text)
    }

    public init(path: String, text: String) throws(ConfigurationError) {
        self.path = path
        let node: Node?
        do { node = try Yams.compose(yaml: text) }
        catch {
            throw ConfigurationError(code: .unreadable, key: "config", origin: .file(path: path, line: Self.line(of: error)),
                                     reason: "not valid YAML: \(error)")
        }
        guard let node else { root = []; return }
        let value: ConfigFileValue
        do { value = try ConfigFileValue(node: node) }
        catch { throw ConfigurationError(code: .unreadable, key: "config", origin: .file(path: path, line: 0), reason: error.reason) }
        guard case .mapping(let pairs) = value.content else {
            throw ConfigurationError(code: .unreadable, key: "config", origin: .file(path: path, line: value.line),
                                     reason: "the file must be a mapping of setting names to values")
        }
        root = pairs
    }

    public subscript(key: String) -> ConfigFileValue? {
        root.first { $0.key == key }?.value
    }

    public func origin(of value: ConfigFileValue) -> ConfigOrigin {
        .file(path: path, line: value.line)
    }

    /// The first top-level key not in `claimed`, as an error naming its line.
    public func checkNoUnknownKeys(_ claimed: Set<String>) throws(ConfigurationError) {
        if let unknown = root.first(where: { !claimed.contains($0.key) }) {
            throw ConfigurationError(code: .unknownKey, key: unknown.key, origin: origin(of: unknown.value),
                                     reason: "unknown key", allowed: claimed.sorted().joined(separator: ", "))
        }
    }

    private static func line(of error: any Error) -> Int {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
            default: return 0
            }
        }
        return 0
    }
}
