/// One configuration key of a settings struct, declared once: its name in the YAML file, its
/// environment variable, its flag, how its value is read, and its help text. The default is the
/// struct's own initial value. Precedence: flag, then environment, then file, then default.
public struct Setting<Root>: Sendable {
    /// The YAML key, also the name shown by `--print-config` (snake_case).
    public let key: String
    /// The environment variable, if any. `NAME_FILE` is also read (a file holding the value) unless
    /// ``readsFileVariable`` is false.
    public let environment: String?
    /// The flag without dashes (`flush-interval-ms`), if any.
    public let flag: String?
    public let help: String
    public let allowed: String
    /// Never printed or repeated in errors; never read from the YAML file.
    public let isSecret: Bool
    /// The flag takes no value (`--x` sets true, `--no-x` false).
    public let isSwitch: Bool
    /// The flag may repeat; each occurrence adds an item.
    public let isRepeatable: Bool
    public let readsFileVariable: Bool
    let apply: @Sendable (inout Root, Raw) throws(ConfigValueError) -> Void
    /// The current value as text (secrets: `[redacted]` when set).
    public let render: @Sendable (Root) -> String

    /// A raw value on its way to the reader.
    enum Raw {
        case text(String)
        case texts([String])
        case file(ConfigFileValue)
    }

    public init<Value>(_ keyPath: WritableKeyPath<Root, Value>, key: String, env: String?, flag: String?,
                       reader: ValueReader<Value>, secret: Bool = false, readsFileVariable: Bool = true,
                       help: String, render: (@Sendable (Value) -> String)? = nil) {
        nonisolated(unsafe) let path = keyPath
        self.key = key
        self.environment = env
        self.flag = flag
        self.help = help
        self.allowed = reader.allowed
        self.isSecret = secret
        self.isSwitch = Value.self == Bool.self
        self.isRepeatable = false
        self.readsFileVariable = readsFileVariable
        self.apply = { (root: inout Root, raw: Raw) throws(ConfigValueError) in
            switch raw {
            case .text(let text): root[keyPath: path] = try reader.parse(text)
            case .texts(let texts): root[keyPath: path] = try reader.parse(texts.last ?? "")
            case .file(let value): root[keyPath: path] = try reader.parse(value)
            }
        }
        let format = render ?? reader.format
        self.render = { root in secret ? Setting.redacted(format(root[keyPath: path])) : format(root[keyPath: path]) }
    }

    /// A list whose flag repeats (`--kafka-property a=1 --kafka-property b=2`), whose environment
    /// variable is comma-separated and whose YAML value is a list. Each item goes through `item`.
    /// `regroup` (optional) rejoins the pieces of a comma-separated text whose items contain commas
    /// themselves (e.g. `coinbase=10/s,burst=5,finnhub=1/s`).
    public init<Item: Sendable>(list keyPath: WritableKeyPath<Root, [Item]>, key: String, env: String?, flag: String?,
                                item: ValueReader<Item>, secret: Bool = false, readsFileVariable: Bool = true, help: String,
                                regroup: (@Sendable ([String]) -> [String])? = nil) {
        nonisolated(unsafe) let path = keyPath
        self.key = key
        self.environment = env
        self.flag = flag
        self.help = help
        self.allowed = "a list of \(item.allowed)"
        self.isSecret = secret
        self.isSwitch = false
        self.isRepeatable = true
        self.readsFileVariable = readsFileVariable
        self.apply = { (root: inout Root, raw: Raw) throws(ConfigValueError) in
            let items: [String]
            switch raw {
            case .text(let text):
                let pieces = try ValueReader.list.parse(text)
                items = regroup?(pieces) ?? pieces
            case .texts(let texts): items = texts
            case .file(let value):
                let pieces = try ValueReader.list.parse(value)
                items = value.scalarText != nil ? (regroup?(pieces) ?? pieces) : pieces
            }
            var parsed: [Item] = []
            for (index, text) in items.enumerated() {
                do throws(ConfigValueError) { parsed.append(try item.parse(text)) }
                catch { throw ConfigValueError("item \(index + 1): \(error.reason)") }
            }
            root[keyPath: path] = parsed
        }
        self.render = { root in
            let text = root[keyPath: path].map { item.format($0) }.joined(separator: ",")
            return secret ? Setting.redacted(text) : text
        }
    }

    static func redacted(_ text: String) -> String {
        text.isEmpty || text == "none" ? text : "[redacted]"
    }

    /// `--flag`, for messages and help.
    public var flagName: String? { flag.map { "--" + $0 } }
}
