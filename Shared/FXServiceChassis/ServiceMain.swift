import FXConfiguration
import Foundation
import Logging
import ServiceLifecycle

/// The body of every service executable's `main`.
public enum ServiceMain {
    /// Reads the configuration (exit 78 with one line on a bad value, 64 on an unknown flag), answers
    /// `--help` and `--print-config` (and `healthcheck`: see ``HealthProbe``), bootstraps logging and
    /// metrics (the only place that does), runs the service group until SIGTERM/SIGINT.
    public static func main<Definition: ServiceDefinition>(_ definition: Definition.Type,
                                                           arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        let role = Definition.role
        let probing = arguments.first == "healthcheck"
        let resolved: (ServiceSettings, Definition.Configuration)
        do {
            guard let result = try configure(definition, arguments: probing ? Array(arguments.dropFirst()) : arguments,
                                             environment: EnvironmentReader()) else { exit(0) }
            resolved = result
        } catch {
            exitConfigurationFailure(error, program: role.name)
        }
        let (settings, configuration) = resolved
        if probing {
            // `<service> healthcheck`: the running instance's readiness, for container health checks.
            let host = ["0.0.0.0", "::", ""].contains(settings.httpHost) ? "127.0.0.1" : settings.httpHost
            let answer = HealthProbe.get(host: host, port: settings.httpPort)
            if !answer.ok { FileHandle.standardError.write(Data("\(role.name): not ready: \(answer.status)\n".utf8)) }
            exit(answer.ok ? 0 : 1)
        }
        let observability = Observability.bootstrap(settings, metricHelp: role.metricHelp)
        do {
            let parts = try Definition.parts(configuration, context: ServiceContext(settings: settings, observability: observability))
            try await ServiceRunner.run(role: role, settings: settings, observability: observability, parts: parts)
            exit(0)
        } catch {
            observability.logger.critical("\(role.name) failed: \(error)")
            exit(1)
        }
    }

    /// Resolves the configuration; nil when `--help` or `--print-config` was answered on standard output.
    public static func configure<Definition: ServiceDefinition>(_ definition: Definition.Type, arguments: [String],
                                                                environment: EnvironmentReader) throws -> (ServiceSettings, Definition.Configuration)? {
        let role = Definition.role
        let input = try ConfigInput.parse(arguments, flags: flagSpecs(for: Definition.sections), configVariable: configVariable(role),
                                          environment: environment)
        if input.help {
            print(help(definition))
            return nil
        }
        var resolver = ConfigResolver(input: input)
        let settings = try resolver.resolve(ServiceSettings(serviceName: role.name, httpPort: role.defaultHTTPPort))
        let configuration = try Definition.configure(&resolver, settings: settings)
        try resolver.finish()
        if input.printConfig {
            print(resolver.printout(service: role.name), terminator: "")
            return nil
        }
        return (settings, configuration)
    }

    /// Prints `program: error` on standard error, one line, and exits: 64 for a usage error (an unknown
    /// flag), 78 (EX_CONFIG) for anything else in the configuration.
    public static func exitConfigurationFailure(_ error: any Error, program: String) -> Never {
        FileHandle.standardError.write(Data("\(program): \(error)\n".utf8))
        exit(error is ConfigInput.UsageError ? ConfigInput.UsageError.exitCode : ConfigurationError.exitCode)
    }

    /// `<ROLE>_CONFIG`, e.g. `INGESTOR_CONFIG`: the environment variable naming the YAML file.
    public static func configVariable(_ role: ServiceRole) -> String { role.name.uppercased() + "_CONFIG" }

    /// The flags of ``ServiceSettings`` and of `sections`, for ``ConfigInput/parse(_:flags:configVariable:environment:)``.
    public static func flagSpecs(for sections: [any ConfigSection.Type]) -> [ConfigInput.FlagSpec] {
        func specs<Section: ConfigSection>(_ type: Section.Type) -> [ConfigInput.FlagSpec] {
            Section.settings.compactMap { setting in setting.flag.map { .init(name: $0, isSwitch: setting.isSwitch) } }
        }
        return specs(ServiceSettings.self) + sections.flatMap { specs($0) }
    }

    static func help<Definition: ServiceDefinition>(_ definition: Definition.Type) -> String {
        func section<Section: ConfigSection>(_ type: Section.Type) -> String { ConfigDocumentation.help(type) }
        let role = Definition.role
        var text = "usage: \(role.name) [--config FILE] [--print-config] [flags]\n\n"
        text += "Each key is read from its flag, else its environment variable, else the YAML file (--config or \(configVariable(role))), else its default.\n"
        text += "A bad value exits with status 78 naming the key and where it came from.\n\n"
        text += section(ServiceSettings.self)
        for type in Definition.sections { text += "\n" + section(type) }
        return text
    }
}
