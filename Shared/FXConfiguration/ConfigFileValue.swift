import Yams

/// One value of the YAML configuration file, with its line, as the readers see it.
public struct ConfigFileValue: Sendable {
    public enum Content: Sendable {
        /// A scalar: its text, YAML's resolved type (`int`, `bool`, `str`, `float`, `null`, ...) and
        /// whether it was quoted (a quoted `"50"` is a string, never a number).
        case scalar(text: String, type: String, quoted: Bool)
        case sequence([ConfigFileValue])
        case mapping([(key: String, value: ConfigFileValue)])
    }

    public var content: Content
    /// 1-based line of the value in the file.
    public var line: Int

    init(node: Node) throws(ConfigValueError) {
        line = node.mark?.line ?? 0
        switch node {
        case .scalar(let scalar):
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            let tag = Resolver.default.resolveTag(of: node).rawValue
            content = .scalar(text: scalar.string, type: quoted ? "str" : String(tag.split(separator: ":").last ?? "str"), quoted: quoted)
        case .sequence(let sequence):
            var items: [ConfigFileValue] = []
            for item in sequence { items.append(try ConfigFileValue(node: item)) }
            content = .sequence(items)
        case .mapping(let mapping):
            var pairs: [(key: String, value: ConfigFileValue)] = []
            var merged: [(key: String, value: ConfigFileValue)] = []
            for (key, value) in mapping {
                guard case .scalar(let name) = key else {
                    throw ConfigValueError("line \(key.mark?.line ?? 0): mapping keys must be plain names")
                }
                // YAML's merge key (`<<: *defaults`, or a list of them): the merged mappings' keys apply
                // where the mapping does not set them itself (the first merged mapping wins among them).
                if name.string == "<<", name.style == .plain {
                    let sources = value.sequence.map(Array.init) ?? [value]
                    for source in sources {
                        guard case .mapping(let sourcePairs) = try ConfigFileValue(node: source).content else {
                            throw ConfigValueError("line \(key.mark?.line ?? 0): a merge key (<<) takes a mapping or a list of mappings")
                        }
                        merged += sourcePairs.filter { pair in !merged.contains { $0.key == pair.key } }
                    }
                    continue
                }
                if pairs.contains(where: { $0.key == name.string }) {
                    throw ConfigValueError("line \(key.mark?.line ?? 0): key '\(name.string)' appears twice")
                }
                pairs.append((name.string, try ConfigFileValue(node: value)))
            }
            pairs += merged.filter { pair in !pairs.contains { $0.key == pair.key } }
            content = .mapping(pairs)
        case .alias:
            throw ConfigValueError("line \(node.mark?.line ?? 0): YAML aliases are not supported")
        }
    }

    /// What kind of value this is, for error messages: `an integer`, `a string "50"`, `a list`, ...
    public var kindDescription: String {
        switch content {
        case .scalar(let text, let type, _):
            switch type {
            case "int": return "an integer"
            case "bool": return "a boolean"
            case "float": return "a number"
            case "null": return "null"
            default: return "a string \"\(text)\""
            }
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// The mapping's value for `key`, if this is a mapping.
    public subscript(key: String) -> ConfigFileValue? {
        guard case .mapping(let pairs) = content else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    /// The scalar's text, if this is a scalar.
    public var scalarText: String? {
        if case .scalar(let text, _, _) = content { return text }
        return nil
    }
}
