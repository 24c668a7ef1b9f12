import FXConfiguration
import FXContracts
import FXCore
import FXIngest
import FXKafka
import FXTestSupport
import FXVenues
import Foundation
import Testing

/// The raw capture and its replay against the real local broker: a session of six venues with faults
/// is captured, replayed twice (from the topic, and from exported files) and compared, byte for byte,
/// with itself and with what the ingestor published live.
@Suite("Raw capture and replay", .serialized, .tags(.integration))
struct RawCaptureReplayTests {
    static func feeds(_ port: Int) -> [FeedConfiguration] {
        [FeedConfiguration(provider: "coinbase", symbols: ["BTC-USD", "ETH-USD"], webSocketURL: "ws://127.0.0.1:\(port)/coinbase",
                           restURL: "http://127.0.0.1:\(port)/coinbase", captureRaw: true),
         FeedConfiguration(provider: "finnhub", symbols: ["OANDA:EUR_USD"], webSocketURL: "ws://127.0.0.1:\(port)/finnhub",
                           credentials: [ProviderCredential(key: "test-key")], captureRaw: true),
         FeedConfiguration(provider: "oanda", symbols: ["EUR_USD", "USD_JPY"], webSocketURL: "http://127.0.0.1:\(port)/oanda",
                           credentials: [ProviderCredential(key: "practice-token", account: "101-004-1234567-001")], captureRaw: true),
         FeedConfiguration(provider: "kraken", symbols: ["BTC/USD"], webSocketURL: "ws://127.0.0.1:\(port)/kraken/v2", captureRaw: true),
         FeedConfiguration(provider: "binance", symbols: ["BTCUSDT"], webSocketURL: "ws://127.0.0.1:\(port)/binance", captureRaw: true),
         FeedConfiguration(provider: "ig", symbols: ["CS.D.EURUSD.CFD.IP", "CS.D.USDJPY.CFD.IP"], webSocketURL: "http://127.0.0.1:\(port)/ig",
                           credentials: [ProviderCredential(key: "demo-api-key", secret: "demo-password", account: "demo-user")], captureRaw: true)]
    }

    /// The live topics' messages, read once the ingestor has stopped (until nothing new comes for 3 s).
    static func settled(_ topics: [String], expecting minimum: Int = 1) async throws -> [String: [KafkaConsumerMessage]] {
        let recorder = try TopicRecorder(topics: topics)
        var last = -1, stableSince = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            let count = topics.reduce(0) { $0 + recorder.messages($1).count }
            if count != last { last = count; stableSince = .now }
            if count >= minimum, ContinuousClock.now - stableSince >= .seconds(3) { break }
        }
        await recorder.stop()
        return Dictionary(uniqueKeysWithValues: topics.map { ($0, recorder.messages($0)) })
    }

    /// The values, sorted; order book gap events left out (a replay does not rebuild books).
    static func values(_ messages: [KafkaConsumerMessage]?) -> [String] {
        (messages ?? []).map(\.valueString).filter { !$0.contains(#""reason":"book""#) }.sorted()
    }

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
    }

    @Test("a session with drops, skipped sequences and malformed frames replays twice to the same bytes, which are what the ingestor published live")
    func replayMatchesLive() async throws {
        var captured: TopicNames?
        try await IngestHarness.run(feeds: Self.feeds, tune: { $0.maxMessageBytes = ByteSize(bytes: 64 * 1024) }) { h in
            captured = h.topics
            try await h.waitForTicks("ticks of the six venues") { ticks in
                Set(ticks.compactMap { $0["source"]?.stringValue }) == ["coinbase", "finnhub", "oanda", "kraken", "binance", "ig"]
            }
            let now = WallClock.nanoseconds()
            h.market.skip(venue: "coinbase", symbol: "BTC-USD", count: 3)
            for kind in ["json", "negative", "unsubscribed", "utf8"] { _ = try h.market.sendMalformed("coinbase", kind: kind, size: 0, now: now) }
            _ = try h.market.sendMalformed("coinbase", kind: "oversized", size: 100_000, now: now)
            _ = try h.market.sendMalformed("finnhub", kind: "nan", size: 0, now: now)
            _ = try h.market.sendMalformed("oanda", kind: "half_line", size: 0, now: now)
            #expect(try h.market.igFault("ov") == 1)   // the server dropped updates: a sequence gap of that epic
            try await h.waitForGaps("a sequence gap and the OANDA cut") { gaps in
                gaps.contains { $0.reason == .sequence && $0.source == "coinbase" } && gaps.contains { $0.reason == .disconnect && $0.source == "oanda" }
            }
            #expect(h.market.dropConnections("coinbase") == 1)
            #expect(h.market.kraken.drop() == 1 && h.market.binance.drop() == 1)
            #expect(try h.market.igFault("drop") == 1)   // a lost socket: the session is recovered, nothing lost
            let droppedAt = WallClock.nanoseconds()
            try await h.waitForTicks("ticks after the reconnects") { ticks in
                Set(ticks.filter { ($0["recv_ts"]?.int64Value ?? 0) > droppedAt + 500_000_000 }.compactMap { $0["source"]?.stringValue })
                    .isSuperset(of: ["coinbase", "kraken", "binance", "ig"])
            }
            try await h.recorder.waitFor(h.topics.rejects, "the malformed frames' rejects") { $0.count >= 7 }
        }
        let topics = try #require(captured)
        let live = try await Self.settled([topics.ticks, topics.gaps, topics.rejects], expecting: 50)
        let kafka = KafkaTestKit.configuration()
        let logger = TestEnvironment.logger("replay-test")

        // Replay 1: from the raw topic into another prefix's topics.
        var options = ReplayJob.Options()
        options.fromTopic = topics.raw
        let first = TopicNames(prefix: TestEnvironment.uniqueName("replay-a") + ".")
        options.toPrefix = first.prefix
        let report = try await ReplayJob.replay(options, kafka: kafka, logger: logger)
        #expect(report.unreplayable == 0 && report.unreadable == 0 && report.missingRecords == 0, "\(report)")
        #expect(report.rejects >= 7 && report.gaps >= 3, "\(report)")
        let replayed = try await Self.settled([first.ticks, first.gaps, first.rejects], expecting: report.ticks + report.gaps + report.rejects)

        // Replay 2: exported to files, then replayed from them into files.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("capture")).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var export = ReplayJob.Options()
        export.fromTopic = topics.raw
        let files = try await ReplayJob.export(export, directory: directory + "/files", kafka: kafka, logger: logger)
        #expect(Set(files.map { ($0 as NSString).lastPathComponent.split(separator: "-").first.map(String.init) ?? "" })
                == ["coinbase", "finnhub", "oanda", "kraken", "binance", "ig"])
        var fromFiles = ReplayJob.Options()
        fromFiles.files = [directory + "/files"]
        fromFiles.toDirectory = directory + "/out"
        let second = try await ReplayJob.replay(fromFiles, kafka: kafka, logger: logger)
        #expect(second == report, "the same capture, from the topic or from its files, replays the same")

        for (name, liveTopic, replayTopic) in [("ticks", topics.ticks, first.ticks), ("gaps", topics.gaps, first.gaps), ("rejects", topics.rejects, first.rejects)] {
            let liveValues = Self.values(live[liveTopic]), firstValues = Self.values(replayed[replayTopic])
            let secondValues = try Self.lines(directory + "/out/\(name).jsonl")
            #expect(!liveValues.isEmpty, "live \(name)")
            #expect(firstValues == secondValues, "two replays of one capture give the same \(name), byte for byte")
            #expect(firstValues == liveValues, "the replay's \(name) are the live ones, byte for byte (live \(liveValues.count), replayed \(firstValues.count))")
        }
        // Per key, the replayed ticks come in the live order.
        func byKey(_ messages: [KafkaConsumerMessage]?) -> [String: [String]] {
            Dictionary(grouping: messages ?? [], by: { $0.keyString ?? "" }).mapValues { $0.map(\.valueString) }
        }
        #expect(byKey(replayed[first.ticks]) == byKey(live[topics.ticks]))

        if let fixture = ProcessInfo.processInfo.environment["FX_RECORD_CAPTURE_FIXTURE"] {
            try Self.record(fixture, from: directory + "/files", kafka: kafka)
        }
    }

    /// Stores the exported capture and its replay as a fixture (`FX_RECORD_CAPTURE_FIXTURE=<dir>`).
    static func record(_ fixture: String, from files: String, kafka: KafkaConfiguration) throws {
        try? FileManager.default.removeItem(atPath: fixture)
        try FileManager.default.createDirectory(atPath: fixture + "/capture", withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: files) {
            try FileManager.default.copyItem(atPath: files + "/" + name, toPath: fixture + "/capture/" + name)
        }
    }
}
