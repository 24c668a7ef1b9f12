import FXConfiguration
@testable import FXIngest
import Testing

/// The fleet's settings: what starts a fleet, and what is refused before anything connects.
@Suite("Ingestor fleet: configuration")
struct FleetConfigurationTests {
    static let coinbase = ["--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD"]

    static func refusal(_ arguments: [String], environment: [String: String] = [:]) -> String? {
        do {
            _ = try IngestorConfigurationLoading.resolve(arguments, environment: environment)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("a fleet is named by --fleet-group or INGEST_FLEET_GROUP; redundancy, session timeout and topic creation have defaults")
    func keys() throws {
        let standalone = try IngestorConfigurationLoading.resolve(Self.coinbase, environment: [:])
        #expect(standalone.fleetGroup.isEmpty && standalone.redundancy == 1 && standalone.createTopics && standalone.replicationFactor == 1)
        #expect(standalone.fleetSessionTimeout == .seconds(6))
        let fleet = try IngestorConfigurationLoading.resolve(Self.coinbase + ["--redundancy", "2", "--fleet-session-timeout-ms", "3000"],
                                                             environment: ["INGEST_FLEET_GROUP": "coinbase-a", "CREATE_TOPICS": "false",
                                                                           "REPLICATION_FACTOR": "3"])
        #expect(fleet.fleetGroup == "coinbase-a" && fleet.redundancy == 2 && fleet.fleetSessionTimeout == .seconds(3))
        #expect(!fleet.createTopics && fleet.replicationFactor == 3)
    }

    @Test("refused: a fleet name outside a-z 0-9 _ -, redundancy without a fleet, and redundancy on a venue of one session per key")
    func refusals() {
        #expect(Self.refusal(Self.coinbase + ["--fleet-group", "Coinbase.A"])?.contains("fleet_group") == true)
        #expect(Self.refusal(Self.coinbase + ["--redundancy", "2"])?.contains("needs a fleet") == true)
        let finnhub = ["--provider", "finnhub", "--symbols", "OANDA:EUR_USD", "--fleet-group", "fx", "--redundancy", "2"]
        #expect(Self.refusal(finnhub, environment: ["FINNHUB_API_KEY": "k"])?.contains("one connection per API key") == true)
        #expect(Self.refusal(Self.coinbase + ["--redundancy", "5", "--fleet-group", "fx"])?.contains("redundancy") == true)
    }
}
