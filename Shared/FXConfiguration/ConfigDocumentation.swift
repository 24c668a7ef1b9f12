/// `--help` text and the configuration reference's tables (docs/configuration.md), both generated from the sections' keys so
/// that neither can drift from the code.
public enum ConfigDocumentation {
    /// One row of a section's documentation.
    public struct Row: Sendable, Equatable {
        public var key: String
        public var flag: String
        public var environment: String
        public var defaultValue: String
        public var help: String
    }

    public static func rows<Section: ConfigSection>(_ type: Section.Type, defaults: Section = Section()) -> [Row] {
        Section.settings.map { setting in
            var flag = setting.flagName ?? "—"
            if setting.isSwitch, let name = setting.flag { flag = "`--\(name)` / `--no-\(name)`" }
            else if let name = setting.flagName { flag = "`\(name)`" + (setting.isRepeatable ? " (repeatable)" : "") }
            var environment = setting.environment.map { "`\($0)`" } ?? "—"
            if let name = setting.environment, setting.readsFileVariable, setting.isSecret { environment += " or `\(name)_FILE`" }
            let rendered = setting.render(defaults)
            return Row(key: "`\(setting.key)`", flag: flag, environment: environment,
                       defaultValue: rendered.isEmpty || rendered == "none" ? "none" : "`\(rendered)`", help: setting.help)
        }
    }

    /// A Markdown table of the section's keys: YAML key, flag, environment variable, default, meaning.
    public static func markdownTable<Section: ConfigSection>(_ type: Section.Type, defaults: Section = Section(),
                                                             defaultOverrides: [String: String] = [:]) -> String {
        var text = "| key (YAML) | flag | environment | default | meaning |\n|---|---|---|---|---|\n"
        for row in rows(type, defaults: defaults) {
            let key = row.key.trimmingCharacters(in: ["`"])
            text += "| \(row.key) | \(row.flag) | \(row.environment) | \(defaultOverrides[key] ?? row.defaultValue) | \(row.help) |\n"
        }
        return text
    }

    /// The `--help` lines of a section.
    public static func help<Section: ConfigSection>(_ type: Section.Type, defaults: Section = Section()) -> String {
        var text = "\(Section.sectionName):\n"
        for setting in Section.settings {
            var names: [String] = []
            if let flag = setting.flagName { names.append(setting.isSwitch ? "\(flag), --no-\(setting.flag!)" : "\(flag) <value>") }
            if let env = setting.environment { names.append("env \(env)") }
            names.append("yaml \(setting.key)")
            let rendered = setting.render(defaults)
            text += "  \(names.joined(separator: " | "))\n      \(setting.help) Default: \(rendered.isEmpty ? "none" : rendered). Allowed: \(setting.allowed).\n"
        }
        return text
    }
}
