import FXVenues
import Foundation
import FXCore
@testable import FXIngest
import FXConfiguration
import FXServiceChassis
import Testing

@Suite("Providers and configuration")
struct ProviderConfigurationTests {
    @Test("Coinbase authenticated subscribe carries the documented HMAC-SHA256 signature")
    func coinbaseSignature() throws {
        let credential = ProviderCredential(key: "k", secret: "ZnhzdHJlYW0tdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==", passphrase: "p")
        #expect(try CoinbaseProvider.signature(credential: credential, timestamp: "1700000000") == "yF8ueyjea9eeeRVqCyp5n0u0iscynKvHZq2bQEZsjkY=")
        let message = try CoinbaseProvider().subscribeMessages(symbols: ["BTC-USD"], credential: credential, now: 1_700_000_000_000_000_000)
        let json = try JSONParser().parse(message[0])
        #expect(json["signature"]?.stringValue == "yF8ueyjea9eeeRVqCyp5n0u0iscynKvHZq2bQEZsjkY=")
        #expect(json["timestamp"]?.stringValue == "1700000000")
        #expect(json["channels"]?.arrayValue?.compactMap(\.stringValue) == ["matches", "ticker", "heartbeat", "level2_batch"])
        #expect(throws: ProviderError.self) { try CoinbaseProvider.signature(credential: ProviderCredential(key: "k", secret: "%%%"), timestamp: "1") }
    }

    @Test("symbols are sharded within the per-connection limit; Finnhub needs one key per connection")
    func sharding() throws {
        let symbols = (0..<120).map { "OANDA:C\($0)_USD" }
        let keys = ["key1", "key2", "key3"].map { ProviderCredential(key: $0) }
        let plan = try ConnectionPlan.make(FeedConfiguration(provider: "finnhub", symbols: symbols, credentials: keys))
        #expect(plan.shards.map(\.symbols.count) == [50, 50, 20])
        #expect(plan.shards.map { $0.credential?.key } == ["key1", "key2", "key3"])
        #expect(Set(plan.shards.flatMap(\.symbols)) == Set(symbols))
        do {
            _ = try ConnectionPlan.make(FeedConfiguration(provider: "finnhub", symbols: symbols, credentials: Array(keys.prefix(2))))
            Issue.record("expected too_many_symbols")
        } catch {
            #expect(error.code == .tooManySymbols)
            #expect(error.message.contains("120 symbols need 3 connections"))
        }
        #expect(throws: ProviderError.self) { try ConnectionPlan.make(FeedConfiguration(provider: "finnhub", symbols: ["OANDA:EUR_USD"])) }
        #expect(throws: ProviderError.self) { try ConnectionPlan.make(FeedConfiguration(provider: "coinbase", symbols: ["NOTASYMBOL"])) }
        #expect(throws: ProviderError.self) { try ConnectionPlan.make(FeedConfiguration(provider: "kraken", symbols: ["X-Y"])) }
        let coinbase = try ConnectionPlan.make(FeedConfiguration(provider: "coinbase", symbols: (0..<1000).map { "S\($0)-USD" }))
        #expect(coinbase.shards.count == 10)
    }

    @Test("a YAML file configures several feeds; secrets come from the environment, never the file")
    func yaml() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ingestor-\(UUID().uuidString).yaml").path
        try """
        partitions: 6
        queue_capacity: 5000
        feeds:
          - provider: coinbase
            symbols: [BTC-USD, ETH-USD]
            ws_url: ws://127.0.0.1:1/coinbase
            max_symbols_per_connection: 1
          - provider: finnhub
            symbols: "OANDA:EUR_USD, OANDA:GBP_USD"
            symbol_stale_after_ms: 5000
        """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        func resolve(_ environment: [String: String]) throws -> IngestorConfiguration {
            try IngestorConfigurationLoading.resolve(["--config", path], environment: environment)
        }
        let configuration = try resolve(["FINNHUB_API_KEY": "a,b"])
        #expect(configuration.partitions == 6)
        #expect(configuration.queueCapacity == 5000)
        let plans = try configuration.plans()
        #expect(plans.map(\.shards.count) == [2, 1])
        #expect(plans[1].shards[0].credential?.key == "a")
        #expect(plans[1].tracker.symbolStaleAfter == .milliseconds(5000))
        #expect(plans[0].webSocketBase == "ws://127.0.0.1:1/coinbase")

        #expect(configuration.feeds.allSatisfy { !$0.captureRaw } && !plans.contains(where: \.captureRaw), "no capture unless a feed asks")

        try "feeds:\n  - provider: coinbase\n    symbols: [BTC-USD]\n    capture_raw: true\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try resolve([:]).plans().map(\.captureRaw) == [true])
        #expect(try IngestorConfigurationLoading.resolve(["--provider", "coinbase", "--symbols", "BTC-USD", "--capture-raw"], environment: [:]).plans()
                    .map(\.captureRaw) == [true])
        #expect(try IngestorConfigurationLoading.resolve(["--provider", "coinbase", "--symbols", "BTC-USD", "--capture-compression", "lz4"], environment: [:])
                    .capture.compression == "lz4")
        #expect(throws: ConfigurationError.self, "an unknown compression is refused") {
            try IngestorConfigurationLoading.resolve(["--provider", "coinbase", "--symbols", "BTC-USD", "--capture-compression", "brotli"], environment: [:])
        }
        try "feeds:\n  - provider: coinbase\n    symbols: [BTC-USD]\n    capture_raw: maybe\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self, "capture_raw takes a boolean") { try resolve([:]) }

        try "feeds:\n  - provider: finnhub\n    symbols: [OANDA:EUR_USD]\n    api_key: inline-secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try resolve(["FINNHUB_API_KEY": "a"]) }
    }
}

/// Resolves the ingestor's configuration the way its executable does.
enum IngestorConfigurationLoading {
    static func resolve(_ arguments: [String], environment: [String: String]) throws -> IngestorConfiguration {
        let reader = EnvironmentReader(environment)
        let input = try ConfigInput.parse(arguments, flags: ServiceMain.flagSpecs(for: [IngestorConfiguration.self, CommandLineFeed.self]),
                                          configVariable: "INGESTOR_CONFIG", environment: reader)
        var resolver = ConfigResolver(input: input)
        _ = try resolver.resolve(ServiceSettings(serviceName: "ingestor", httpPort: 9101))
        let configuration = try IngestorConfiguration.resolve(&resolver)
        try resolver.finish()
        return configuration
    }
}

extension ProviderConfigurationTests {
    @Test("the feed files shipped in deploy/ are read without complaint", arguments: ["ingestor.local.yaml", "feeds/simulator.yaml", "feeds/live.yaml"])
    func shippedFeedFiles(name: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("deploy").appendingPathComponent(name).path
        let configuration = try IngestorConfigurationLoading.resolve(["--config", path], environment: [
            "FINNHUB_API_KEY": "k", "OANDA_API_TOKEN": "t", "OANDA_ACCOUNT_ID": "101-1", "IG_API_KEY": "k", "IG_IDENTIFIER": "u", "IG_PASSWORD": "p"])
        let providers = name == "feeds/live.yaml" ? ["coinbase", "finnhub"] : ["coinbase", "finnhub", "oanda", "ig", "kraken", "binance"]
        #expect(configuration.feeds.map(\.provider) == providers)
        #expect(configuration.feeds.filter(\.captureRaw).map(\.provider) == (name == "feeds/simulator.yaml" ? ["coinbase"] : []),
                "the simulator stack captures Coinbase's frames, so a replay can be tried at once")
        #expect(try configuration.plans().count == providers.count)
        if let oanda = configuration.feeds.first(where: { $0.provider == "oanda" }) {
            #expect(oanda.credentials.first?.account == "101-1" && oanda.credentials.first?.live == false)
            #expect(oanda.webSocketURL?.hasSuffix("/oanda") == true, "stream_url read")
        }
    }

    @Test("OANDA credentials: token, account and environment from the environment; a bad environment is refused; the live switch moves only the default host")
    func oandaCredentials() throws {
        let configuration = try IngestorConfigurationLoading.resolve(["--provider", "oanda", "--symbols", "EUR_USD,USD_JPY"], environment: [
            "OANDA_API_TOKEN": "tok", "OANDA_ACCOUNT_ID": "101-004-1-001", "OANDA_ENVIRONMENT": "live"])
        let credential = try #require(configuration.feeds.first?.credentials.first)
        #expect(credential.key == "tok" && credential.account == "101-004-1-001" && credential.live)
        let request = try OandaProvider().streamRequest(base: OandaProvider.practiceStream, symbols: ["EUR_USD", "USD_JPY"], credential: credential)
        #expect(request.url == "https://stream-fxtrade.oanda.com/v3/accounts/101-004-1-001/pricing/stream?instruments=EUR_USD%2CUSD_JPY&snapshot=true")
        #expect(request.headers["Authorization"] == "Bearer tok" && !request.redactedURL.contains("tok"))
        let simulator = try OandaProvider().streamRequest(base: "http://127.0.0.1:1/oanda", symbols: ["EUR_USD"], credential: credential)
        #expect(simulator.url.hasPrefix("http://127.0.0.1:1/oanda/v3/"), "an explicit URL is kept")
        #expect(throws: ConfigurationError.self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "oanda", "--symbols", "EUR_USD"],
                                                        environment: ["OANDA_API_TOKEN": "t", "OANDA_ACCOUNT_ID": "1", "OANDA_ENVIRONMENT": "prod"])
        }
        let noAccount = ProviderCredential(key: "t")
        #expect(throws: ProviderError.self) { _ = try OandaProvider().streamRequest(base: "x", symbols: ["EUR_USD"], credential: noAccount) }
        #expect(throws: ProviderError.self) {
            _ = try OandaProvider().streamRequest(base: "x", symbols: ["EUR_USD"], credential: ProviderCredential(key: "t", account: "../x"))
        }
    }

    @Test("IG credentials: API key, user name and password from the environment; the login is a POST that never shows them; more epics than the accounts carry are refused at start")
    func igCredentials() throws {
        let configuration = try IngestorConfigurationLoading.resolve(["--provider", "ig", "--symbols", "CS.D.EURUSD.CFD.IP,CS.D.USDJPY.CFD.IP"], environment: [
            "IG_API_KEY": "key-1", "IG_IDENTIFIER": "trader", "IG_PASSWORD": "s3cret", "IG_ENVIRONMENT": "live"])
        let credential = try #require(configuration.feeds.first?.credentials.first)
        #expect(credential.key == "key-1" && credential.account == "trader" && credential.secret == "s3cret" && credential.live)
        let plan = try #require(try configuration.plans().first)
        #expect(plan.shards.count == 1 && plan.webSocketBase == IGLogin.demoREST)
        let login = try IGProvider().loginRequest(base: IGLogin.demoREST, credential: credential)
        #expect(login.method == "POST" && login.url == "https://api.ig.com/gateway/deal/session", "live moves the default gateway")
        #expect(login.headers["X-IG-API-KEY"] == "key-1" && login.headers["VERSION"] == "2")
        #expect(try JSONParser().parse(login.body ?? [])["identifier"]?.stringValue == "trader")
        #expect(!login.redactedURL.contains("s3cret") && !credential.description.contains("key-1"))
        #expect(credential.scrub("refused for trader with s3cret") == "refused for \(Redaction.placeholder) with \(Redaction.placeholder)")
        let simulator = try IGProvider().loginRequest(base: "http://127.0.0.1:1/ig", credential: credential)
        #expect(simulator.url == "http://127.0.0.1:1/ig/session", "an explicit URL is kept")
        // The session's endpoint comes from the login answer.
        let endpoint = try IGProvider().lightstreamerEndpoint(status: 200, headers: ["CST": "c", "X-SECURITY-TOKEN": "x"],
                                                              body: Array(#"{"currentAccountId":"Z1","lightstreamerEndpoint":"http://127.0.0.1:1/ig"}"#.utf8))
        #expect(endpoint == LightstreamerEndpoint(url: "ws://127.0.0.1:1/ig/lightstreamer", user: "Z1", password: "CST-c|XST-x"))
        #expect(throws: ProviderError.self) { _ = try IGProvider().loginRequest(base: IGLogin.demoREST, credential: ProviderCredential(key: "k")) }
        // One session per account, 20 epics per session: 21 epics with one account do not start.
        let epics = (0..<21).map { "CS.D.EUR\(String(UnicodeScalar(65 + $0)!))XX.CFD.IP" }
        #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "ig", "--symbols", epics.joined(separator: ",")],
                                                        environment: ["IG_API_KEY": "k", "IG_IDENTIFIER": "u", "IG_PASSWORD": "p"]).plans()
        }
        #expect(ProviderRegistry.all["ig"]?.transport == .lightstreamer)
    }

    @Test("an IG epic that does not name a currency pair is refused unless symbol_map names its canonical symbol; other venues refuse a map")
    func igSymbolMap() throws {
        let environment = ["IG_API_KEY": "k", "IG_IDENTIFIER": "u", "IG_PASSWORD": "p"]
        #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "ig", "--symbols", "IX.D.FTSE.DAILY.IP"], environment: environment).plans()
        }
        let mapped = try IngestorConfigurationLoading.resolve(["--provider", "ig", "--symbols", "IX.D.FTSE.DAILY.IP,CS.D.EURUSD.CFD.IP",
                                                               "--symbol-map", "IX.D.FTSE.DAILY.IP=FTSE/GBP"], environment: environment)
        let plan = try #require(try mapped.plans().first)
        #expect(plan.provider.canonicalSymbol("IX.D.FTSE.DAILY.IP") == "FTSE/GBP" && plan.provider.canonicalSymbol("CS.D.EURUSD.CFD.IP") == "EUR/USD")
        let events = plan.provider.lightstreamerEvents(subscription: 1, item: 1, values: ["7500.5", "7501.5", nil, nil, nil, "1795000000000"],
                                                       symbols: ["IX.D.FTSE.DAILY.IP"], receivedAt: 1_795_000_000_100_000_000)
        guard case .tick(let tick)? = events.first else { Issue.record("no tick: \(events)"); return }
        #expect(tick.symbol == "FTSE/GBP" && tick.venueSymbol == "IX.D.FTSE.DAILY.IP")
        #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "ig", "--symbols", "CS.D.EURUSD.CFD.IP", "--symbol-map", "CS.D.EURUSD.CFD.IP"],
                                                        environment: environment)
        }
        #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "coinbase", "--symbols", "BTC-USD", "--symbol-map", "BTC-USD=BTC/USD"],
                                                        environment: [:]).plans()
        }
    }

    @Test("book_depth picks one of Kraken's depths for its subscriptions and books; another depth, or a venue without books, is refused")
    func bookDepth() throws {
        let plan = try #require(try IngestorConfigurationLoading.resolve(["--provider", "kraken", "--symbols", "BTC/USD", "--book-depth", "25"],
                                                                         environment: [:]).plans().first)
        #expect(plan.provider.book?.depth == 25)
        #expect(try plan.provider.subscribeMessages(symbols: ["BTC/USD"], credential: nil, now: 0).last?.contains(#""depth":25"#) == true)
        let fallback = try #require(try IngestorConfigurationLoading.resolve(["--provider", "kraken", "--symbols", "BTC/USD"], environment: [:]).plans().first)
        #expect(fallback.provider.book?.depth == 10, "Kraken's default")
        let odd = #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "kraken", "--symbols", "BTC/USD", "--book-depth", "20"], environment: [:]).plans()
        }
        #expect("\(odd.map { "\($0)" } ?? "")".contains("book_depth 20 is not one of Kraken's: 10, 25, 100, 500, 1000"))
        let whole = #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "coinbase", "--symbols", "BTC-USD", "--book-depth", "10"], environment: [:]).plans()
        }
        #expect("\(whole.map { "\($0)" } ?? "")".contains("Coinbase sends the whole book"))
        let bookless = #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "oanda", "--symbols", "EUR_USD", "--book-depth", "10"], environment: ["OANDA_API_TOKEN": "t", "OANDA_ACCOUNT_ID": "a"]).plans()
        }
        #expect("\(bookless.map { "\($0)" } ?? "")".contains("this venue streams no order books"))
    }

    @Test("book_depth 0 turns a venue's books off (no book channel subscribed); Coinbase keeps the whole book, Binance asks its snapshot limit")
    func booksOff() throws {
        let coinbase = try #require(try IngestorConfigurationLoading.resolve(["--provider", "coinbase", "--symbols", "BTC-USD"], environment: [:]).plans().first)
        #expect(coinbase.provider.book == BookFeed(depth: nil, crossedIsError: true, snapshots: .stream), "whole books by default")
        let off = try #require(try IngestorConfigurationLoading.resolve(["--provider", "coinbase", "--symbols", "BTC-USD", "--book-depth", "0"], environment: [:]).plans().first)
        #expect(off.provider.book == nil)
        let channels = try JSONParser().parse(try off.provider.subscribeMessages(symbols: ["BTC-USD"], credential: nil, now: 0)[0])["channels"]?.arrayValue?.compactMap(\.stringValue)
        #expect(channels == ["matches", "ticker", "heartbeat"])
        let kraken = try #require(try IngestorConfigurationLoading.resolve(["--provider", "kraken", "--symbols", "BTC/USD", "--book-depth", "0"], environment: [:]).plans().first)
        #expect(kraken.provider.book == nil)
        #expect(try kraken.provider.subscribeMessages(symbols: ["BTC/USD"], credential: nil, now: 0).allSatisfy { !$0.contains("\"book\"") })
        let binance = try #require(try IngestorConfigurationLoading.resolve(["--provider", "binance", "--symbols", "BTCUSDT", "--book-depth", "100"], environment: [:]).plans().first)
        #expect(binance.provider.book == BookFeed(depth: 100, crossedIsError: true, snapshots: .rest))
        #expect(try binance.provider.bookSnapshotRequest(base: binance.restBase, venueSymbol: "BTCUSDT").url == "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=100")
        #expect(binance.provider.bookSnapshotWeight == 5)
        let refused = #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "binance", "--symbols", "BTCUSDT", "--book-depth", "25"], environment: [:]).plans()
        }
        #expect("\(refused.map { "\($0)" } ?? "")".contains("not one of Binance's snapshot limits"))
    }

    @Test("Binance subscribes by message, 200 streams a message, three per symbol, within 1024 a connection; REST follows ws_url when only it is set")
    func binanceSubscriptions() throws {
        let provider = BinanceProvider()
        let symbols = (0..<150).map { "C\($0)USDT" }
        let messages = try provider.subscribeMessages(symbols: symbols, credential: nil, now: 0)
        #expect(messages.count == 3, "450 streams in messages of 200")
        let first = try JSONParser().parse(messages[0])
        #expect(first["method"]?.stringValue == "SUBSCRIBE" && first["id"]?.int64Value == 1)
        #expect(first["params"]?.arrayValue?.prefix(3).compactMap(\.stringValue) == ["c0usdt@trade", "c0usdt@bookTicker", "c0usdt@depth@100ms"])
        #expect(provider.defaults.maxSymbolsPerConnection * 3 <= 1024)
        #expect(throws: ProviderError.self) { try provider.subscribeMessages(symbols: (0..<400).map { "C\($0)USDT" }, credential: nil, now: 0) }
        #expect(try provider.webSocketURL(base: "wss://stream.binance.com:9443", credential: nil) == "wss://stream.binance.com:9443/stream")
        #expect(try provider.webSocketURL(base: "ws://127.0.0.1:9/binance/ws", credential: nil) == "ws://127.0.0.1:9/binance/ws")
        #expect(provider.outboundMessageInterval >= .milliseconds(200), "at most 5 messages a second")
        #expect(try #require(provider.maxConnectionLifetime) < .seconds(24 * 3600))
        let plan = try #require(try IngestorConfigurationLoading.resolve(["--provider", "binance", "--symbols", "BTCUSDT", "--ws-url", "ws://127.0.0.1:9/binance"], environment: [:]).plans().first)
        #expect(plan.restBase == "http://127.0.0.1:9/binance")
        let streamURL = try #require(try IngestorConfigurationLoading.resolve(["--provider", "binance", "--symbols", "btcusdt", "--ws-url", "ws://127.0.0.1:9/binance/stream?timeUnit=MILLISECOND"], environment: [:]).plans().first)
        #expect(streamURL.restBase == "http://127.0.0.1:9/binance", "the stream's own endpoint and query are not the REST base")
        #expect(streamURL.shards.first?.symbols == ["BTCUSDT"], "Binance's events name symbols in upper case")
        let lower = #expect(throws: (any Error).self) {
            _ = try IngestorConfigurationLoading.resolve(["--provider", "binance", "--symbols", "BTCXYZ"], environment: [:]).plans()
        }
        #expect(lower != nil, "a symbol without a known quote currency cannot be mapped")
    }
}
