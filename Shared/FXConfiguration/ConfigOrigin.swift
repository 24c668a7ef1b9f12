/// Where a configuration value came from, named in errors and in `--print-config`.
public enum ConfigOrigin: Sendable, Equatable, CustomStringConvertible {
    /// The default written next to the key in code.
    case defaultValue
    /// A command-line flag, e.g. `--flush-interval-ms`.
    case flag(String)
    /// An environment variable, e.g. `FLUSH_INTERVAL_MS` (or `DATABASE_URL_FILE` for a value read from a file).
    case environment(String)
    /// A line of the YAML configuration file.
    case file(path: String, line: Int)
    /// Derived from other settings (e.g. the consumer group from the topic prefix).
    case derived(String)

    public var description: String {
        switch self {
        case .defaultValue: return "default"
        case .flag(let name): return "flag \(name)"
        case .environment(let name): return "environment \(name)"
        case .file(let path, let line): return "file \(path):\(line)"
        case .derived(let how): return "derived from \(how)"
        }
    }
}
