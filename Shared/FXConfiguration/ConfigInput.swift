/// The raw configuration of one process: its flags, its environment and its YAML file.
public struct ConfigInput: Sendable {
    /// Flag values by flag name without dashes, in the order given.
    public var flags: [String: [String]]
    public var environment: EnvironmentReader
    public var file: ConfigFile?
    /// `--print-config`: print the resolved configuration with the origin of each value, then exit.
    public var printConfig: Bool
    /// `--help` / `-h`.
    public var help: Bool

    public init(flags: [String: [String]] = [:], environment: EnvironmentReader = EnvironmentReader(), file: ConfigFile? = nil,
                printConfig: Bool = false, help: Bool = false) {
        self.flags = flags
        self.environment = environment
        self.file = file
        self.printConfig = printConfig
        self.help = help
    }

    /// What the flag parser needs to know about a flag.
    public struct FlagSpec: Sendable {
        public var name: String
        public var isSwitch: Bool
        public init(name: String, isSwitch: Bool) {
            self.name = name
            self.isSwitch = isSwitch
        }
    }

    /// A flag that names no setting, or lacks its value: a usage error (exit 64).
    public struct UsageError: Error, CustomStringConvertible, Sendable {
        public static let exitCode: Int32 = 64
        public var description: String
    }

    /// Parses `arguments` (without the program name): `--name value`, `--name=value`, switches
    /// `--name`/`--no-name`, `--config PATH`, `--print-config`, `--help`. The file comes from
    /// `--config`, else the environment variable `configVariable`.
    public static func parse(_ arguments: [String], flags specs: [FlagSpec], configVariable: String,
                             environment: EnvironmentReader = EnvironmentReader()) throws -> ConfigInput {
        var input = ConfigInput(environment: environment)
        let byName = Dictionary(specs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var configPath: (String, ConfigOrigin)?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" { input.help = true; continue }
            if argument == "--print-config" { input.printConfig = true; continue }
            guard argument.hasPrefix("--") else { throw UsageError(description: "unexpected argument '\(argument)' (flags start with --)") }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if name == "config" {
                guard let value = inlineValue ?? (index < arguments.count ? arguments[index] : nil) else {
                    throw UsageError(description: "--config needs a file path")
                }
                if inlineValue == nil { index += 1 }
                configPath = (value, .flag("--config"))
                continue
            }
            if let spec = byName[name], spec.isSwitch {
                input.flags[name, default: []].append(inlineValue ?? "true")
                continue
            }
            if name.hasPrefix("no-"), let spec = byName[String(name.dropFirst(3))], spec.isSwitch, inlineValue == nil {
                input.flags[spec.name, default: []].append("false")
                continue
            }
            guard byName[name] != nil else { throw UsageError(description: "unknown flag --\(name) (see --help)") }
            guard let value = inlineValue ?? (index < arguments.count ? arguments[index] : nil) else {
                throw UsageError(description: "--\(name) needs a value")
            }
            if inlineValue == nil { index += 1 }
            input.flags[name, default: []].append(value)
        }
        if configPath == nil, let (path, origin) = try environment.lookup(configVariable) {
            configPath = (path, origin)
        }
        if let (path, _) = configPath { input.file = try ConfigFile(path: path) }
        return input
    }
}
