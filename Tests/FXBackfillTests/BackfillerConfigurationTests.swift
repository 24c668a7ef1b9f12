import FXBackfill
import FXConfiguration
import FXCore
import FXDatabaseChassis
import FXServiceChassis
import Foundation
import Testing

/// The backfiller's REST endpoints and rate limits, resolved the way its executable does.
@Suite("Backfiller: REST endpoints and rate limits from flags, environment and file")
struct BackfillerConfigurationTests {
    func resolve(_ arguments: [String] = [], env: [String: String] = [:], yaml: String? = nil) throws -> BackfillerConfiguration {
        var arguments = arguments
        if let yaml {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("bf-\(UUID().uuidString).yaml").path
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            arguments += ["--config", file]
        }
        let input = try ConfigInput.parse(arguments, flags: ServiceMain.flagSpecs(for: [DatabaseSettings.self, BackfillerConfiguration.self]),
                                          configVariable: "BACKFILLER_CONFIG", environment: EnvironmentReader(env))
        var resolver = ConfigResolver(input: input)
        _ = try resolver.resolve(ServiceSettings(serviceName: "backfiller", httpPort: 9103))
        _ = try resolver.resolve(DatabaseSettings(serviceName: "backfiller"))
        let configuration = try resolver.resolve(BackfillerConfiguration.self)
        try resolver.finish()
        return configuration
    }

    @Test("defaults are the venues' endpoints and limits within their public ones")
    func defaults() throws {
        let configuration = try resolve()
        #expect(configuration.restURL(for: "coinbase") == "https://api.exchange.coinbase.com")
        #expect(configuration.restURL(for: "finnhub") == "https://finnhub.io/api/v1")
        #expect(configuration.rateLimit(for: "coinbase") == RateLimit(perSecond: 8, burst: 4))
        #expect(configuration.rateLimit(for: "finnhub")?.description == "50/m,burst=5")
    }

    @Test("repeatable flags win over the per-source environment; a YAML scalar keeps burst with its source")
    func overrides() throws {
        let flags = try resolve(["--rest-url", "coinbase=http://127.0.0.1:8790/coinbase/", "--rate-limit", "coinbase=5/s,burst=2",
                                 "--rate-limit", "finnhub=30/m"],
                                env: ["COINBASE_REST_URL": "http://other", "COINBASE_RATE_LIMIT": "1/s"])
        #expect(flags.restURL(for: "coinbase") == "http://127.0.0.1:8790/coinbase")
        #expect(flags.rateLimit(for: "coinbase") == RateLimit(perSecond: 5, burst: 2))
        #expect(flags.rateLimit(for: "finnhub")?.description == "30/m")
        let environment = try resolve(env: ["FINNHUB_REST_URL": "http://sim/finnhub/api/v1", "FINNHUB_RATE_LIMIT": "1/s,burst=3"])
        #expect(environment.restURL(for: "finnhub") == "http://sim/finnhub/api/v1")
        #expect(environment.rateLimit(for: "finnhub") == RateLimit(perSecond: 1, burst: 3))
        let file = try resolve(yaml: "rate_limit: coinbase=10/s,burst=5,finnhub=1/s\n")
        #expect(file.rateLimit(for: "coinbase") == RateLimit(perSecond: 10, burst: 5))
        #expect(file.rateLimit(for: "finnhub") == RateLimit(perSecond: 1))
    }

    @Test("an unknown source or a malformed limit is refused naming the key")
    func refusals() {
        for arguments in [["--rate-limit", "bitstamp=1/s"], ["--rate-limit", "coinbase=fast"], ["--rest-url", "coinbase=ftp://x"]] {
            #expect(throws: ConfigurationError.self, "\(arguments)") { _ = try resolve(arguments) }
        }
    }

    @Test("a credential's rate bucket is named by configuration, never from the key (not even a hash of it, which /metrics would let anyone check a guess against)")
    func bucketNames() throws {
        let key = "d3adb33fkey0042"
        let plain = HistorySource.configured(try resolve(env: ["FINNHUB_API_KEY": key]))
        #expect(plain["finnhub"]?.bucket == "finnhub:credential" && plain["coinbase"]?.bucket == "coinbase:public")
        let bucket = plain["finnhub"]?.bucket ?? ""
        #expect(bucket.contains(String(FNV1a.hash64(key), radix: 16)) == false && bucket.contains(key) == false)
        let named = HistorySource.configured(try resolve(["--rate-bucket", "finnhub=team-a"], env: ["FINNHUB_API_KEY": key]))
        #expect(named["finnhub"]?.bucket == "team-a" && named["coinbase"]?.bucket == "coinbase:public")
        #expect(throws: ConfigurationError.self) { _ = try resolve(["--rate-bucket", "bitstamp=x"]) }
    }
}
