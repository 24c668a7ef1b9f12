import ArgumentParser
import FXServiceChassis

@main
struct IngestorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingestor",
        abstract: "Streams provider WebSockets into normalized ticks, gap, health and reject events on Kafka.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await ServiceMain.run(role: .ingestor, options: options)
    }
}
