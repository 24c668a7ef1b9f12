import ArgumentParser
import FXServiceChassis

@main
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Watches feed health and gaps: stream states, latency percentiles, alerts, status page.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await ServiceMain.run(role: .monitor, options: options)
    }
}
