import ArgumentParser
import FXServiceChassis

@main
struct BackfillerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfiller",
        abstract: "Repairs gaps from provider REST history under a shared rate limit.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await ServiceMain.run(role: .backfiller, options: options)
    }
}
