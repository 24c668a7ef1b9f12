import FXCore

/// Resolves ``ConfigSection`` structs from one ``ConfigInput``: flag, then environment variable,
/// then YAML file, then the default. Keeps, for `--print-config`, each value with its origin; refuses
/// the file's keys that no section claimed (``finish()``).
public struct ConfigResolver: Sendable {
    public let input: ConfigInput
    public private(set) var entries: [ResolvedSetting] = []
    private var claimedFileKeys: Set<String> = []

    public init(input: ConfigInput) {
        self.input = input
    }

    /// One resolved value, as `--print-config` shows it.
    public struct ResolvedSetting: Sendable {
        public var section: String
        public var key: String
        /// Rendered; secrets redacted.
        public var value: String
        public var origin: ConfigOrigin
    }

    public mutating func resolve<Section: ConfigSection>(_ type: Section.Type = Section.self) throws(ConfigurationError) -> Section {
        try resolve(Section())
    }

    /// Resolves a section starting from `defaults` (for defaults that depend on other sections).
    public mutating func resolve<Section: ConfigSection>(_ defaults: Section) throws(ConfigurationError) -> Section {
        var section = defaults
        var origins: [String: ConfigOrigin] = [:]
        for setting in Section.settings {
            claimedFileKeys.insert(setting.key)
            guard let (raw, origin) = try rawValue(for: setting) else { continue }
            do { try setting.apply(&section, raw) }
            catch {
                throw ConfigurationError(code: .invalidValue, key: setting.key, origin: origin,
                                         reason: setting.isSecret ? "the value is refused (\(Self.withoutQuotes(error.reason)))" : error.reason,
                                         allowed: setting.allowed)
            }
            origins[setting.key] = origin
        }
        try section.validate(ConfigContext(origins: origins))
        for setting in Section.settings {
            entries.append(ResolvedSetting(section: Section.sectionName, key: setting.key, value: setting.render(section),
                                           origin: origins[setting.key] ?? .defaultValue))
        }
        return section
    }

    /// Records a value that is not a plain key (derived defaults, structured file entries).
    public mutating func record(section: String, key: String, value: String, origin: ConfigOrigin) {
        entries.append(ResolvedSetting(section: section, key: key, value: value, origin: origin))
    }

    /// Claims a top-level file key read by the caller itself (e.g. a list of feeds).
    public mutating func claimFileKey(_ key: String) -> ConfigFileValue? {
        claimedFileKeys.insert(key)
        return input.file?[key]
    }

    /// Refuses the file's keys no section claimed.
    public func finish() throws(ConfigurationError) {
        try input.file?.checkNoUnknownKeys(claimedFileKeys)
    }

    private func rawValue<Root>(for setting: Setting<Root>) throws(ConfigurationError) -> (Setting<Root>.Raw, ConfigOrigin)? {
        if let flag = setting.flag, let values = input.flags[flag], let last = values.last {
            return (setting.isRepeatable ? .texts(values) : .text(last), .flag("--" + flag))
        }
        if let name = setting.environment {
            if setting.readsFileVariable {
                if let (value, origin) = try input.environment.lookup(name) { return (.text(value), origin) }
            } else if let value = input.environment.values[name], !value.isEmpty {
                return (.text(value), .environment(name))
            }
        }
        if let file = input.file, let value = file[setting.key] {
            guard !setting.isSecret else {
                throw ConfigurationError(code: .refused, key: setting.key, origin: file.origin(of: value),
                                         reason: "secrets are not read from the configuration file",
                                         allowed: setting.environment.map { "the environment variable \($0) or \($0)_FILE" })
            }
            return (.file(value), file.origin(of: value))
        }
        return nil
    }

    private static func withoutQuotes(_ reason: String) -> String {
        // A secret's text never reaches the message: keep only the kind of refusal.
        reason.contains("'") ? "not in the allowed form" : reason
    }

    /// The resolved configuration, one `key = value  # origin` line per key, grouped by section.
    public func printout(service: String) -> String {
        var text = "# \(service) configuration (precedence: flag > environment > file > default)\n"
        let width = entries.map(\.key.count).max() ?? 0
        let valueWidth = min(48, entries.map(\.value.count).max() ?? 0)
        var section = ""
        for var entry in entries {
            // Credentials inside URLs and conninfo strings of settings that are not secret themselves
            // (a venue URL with ?token=, a URL with a password) are redacted too.
            if entry.value.contains("://") { entry.value = Redaction.redactURL(entry.value) }
            if entry.section != section {
                section = entry.section
                text += "\n[\(section)]\n"
            }
            let key = entry.key.padding(toLength: width, withPad: " ", startingAt: 0)
            let value = entry.value.count >= valueWidth ? entry.value : entry.value.padding(toLength: valueWidth, withPad: " ", startingAt: 0)
            text += "\(key) = \(value)  # \(entry.origin)\n"
        }
        return text
    }
}

extension String {
    fileprivate func padding(toLength length: Int, withPad pad: String, startingAt _: Int) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }
}
