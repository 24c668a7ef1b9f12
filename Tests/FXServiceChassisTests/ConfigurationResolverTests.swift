import FXAggregate
import FXConfiguration
import FXDatabaseChassis
import FXServiceChassis
import Foundation
import Testing

/// Resolves the aggregator's configuration the way its executable does.
private func aggregator(_ arguments: [String] = [], env: [String: String] = [:], yaml: String? = nil) throws -> (AggregatorConfiguration, ConfigResolver) {
    var arguments = arguments
    var path: String?
    if let yaml {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("agg-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        arguments += ["--config", file]
        path = file
    }
    defer { if let path { try? FileManager.default.removeItem(atPath: path) } }
    let input = try ConfigInput.parse(arguments, flags: ServiceMain.flagSpecs(for: [DatabaseSettings.self, AggregatorConfiguration.self]),
                                      configVariable: "AGGREGATOR_CONFIG", environment: EnvironmentReader(env))
    var resolver = ConfigResolver(input: input)
    let settings = try resolver.resolve(ServiceSettings(serviceName: "aggregator", httpPort: 9102))
    _ = try resolver.resolve(DatabaseSettings(serviceName: "aggregator"))
    let configuration = try resolver.resolve(AggregatorConfiguration.withTopicPrefix(settings.topicPrefix))
    try resolver.finish()
    return (configuration, resolver)
}

private func refusal(_ body: () throws -> Any) -> ConfigurationError? {
    do { _ = try body(); return nil } catch let error as ConfigurationError { return error } catch { return nil }
}

@Suite("Configuration: one resolver, typed readers, precise refusals")
struct ConfigurationResolverTests {
    @Test("booleans read 1/0, true/false, yes/no, on/off in any case", arguments: [
        ("1", true), ("0", false), ("TRUE", true), ("False", false), ("yes", true), ("NO", false), ("On", true), ("off", false),
    ])
    func booleans(text: String, expected: Bool) throws {
        #expect(try aggregator(env: ["BID_ASK_CANDLES": text]).0.bidAskCandles == expected)
    }

    @Test("a boolean that is none of those is refused, never read as false")
    func badBoolean() {
        let error = refusal { try aggregator(env: ["BID_ASK_CANDLES": "maybe"]) }
        #expect(error?.key == "bid_ask_candles")
        #expect(error?.origin == .environment("BID_ASK_CANDLES"))
        #expect(error?.description.contains("1/0, true/false, yes/no, on/off") == true)
    }

    @Test("durations take units; keys named in ms read bare numbers as milliseconds")
    func durations() throws {
        #expect(try aggregator(env: ["FLUSH_INTERVAL_MS": "5s"]).0.flushInterval == .seconds(5))
        #expect(try aggregator(env: ["FLUSH_INTERVAL_MS": "250"]).0.flushInterval == .milliseconds(250))
        #expect(try aggregator(["--flush-interval-ms", "1m"]).0.flushInterval == .seconds(60))
        #expect(try aggregator(env: ["DEDUP_WINDOW_MINUTES": "2h"]).0.dedupWindow == .seconds(7_200))
        #expect(try aggregator(env: ["DEDUP_WINDOW_MINUTES": "15"]).0.dedupWindow == .seconds(900))
        #expect(refusal { try aggregator(env: ["FLUSH_INTERVAL_MS": "5 parsecs"]) }?.key == "flush_interval_ms")
        #expect(refusal { try aggregator(env: ["DEDUP_WINDOW_MINUTES": "5"]) }?.reason.contains("out of range") == true)
    }

    @Test("an integer that overflows or leaves its range is refused by name, with the origin, never a trap")
    func integers() {
        let overflow = refusal { try aggregator(["--flush-max-ticks", "99999999999999999999999"]) }
        #expect(overflow?.key == "flush_max_ticks")
        #expect(overflow?.origin == .flag("--flush-max-ticks"))
        #expect(overflow?.reason.contains("out of range") == true)
        #expect(overflow?.allowed?.contains("from 1 to 1000000") == true)
        #expect(refusal { try aggregator(["--flush-max-ticks", "0"]) }?.key == "flush_max_ticks")
        #expect(refusal { try aggregator(["--flush-max-ticks", "12abc"]) }?.reason.contains("not a whole number") == true)
        #expect(refusal { try aggregator(env: ["HTTP_PORT": "70000"]) }?.key == "http_port")
    }

    @Test("flags win over environment variables, which win over the file, which wins over defaults")
    func precedence() throws {
        let yaml = "flush_max_ticks: 700\nopen_update_interval_ms: 3s\ntimeframes: [1m, 1h]\n"
        let (fromFile, _) = try aggregator(yaml: yaml)
        #expect(fromFile.flushMaxTicks == 700)
        #expect(fromFile.openUpdateInterval == .seconds(3))
        #expect(fromFile.timeframes.map(\.name) == ["1m", "1h"])
        let (fromEnv, _) = try aggregator(env: ["FLUSH_MAX_TICKS": "800"], yaml: yaml)
        #expect(fromEnv.flushMaxTicks == 800)
        let (fromFlag, resolver) = try aggregator(["--flush-max-ticks=900"], env: ["FLUSH_MAX_TICKS": "800"], yaml: yaml)
        #expect(fromFlag.flushMaxTicks == 900)
        let printed = resolver.printout(service: "aggregator")
        #expect(printed.contains("flush_max_ticks"))
        #expect(printed.contains("# flag --flush-max-ticks"))
        #expect(printed.contains("# default"))
        #expect(printed.range(of: #"open_update_interval_ms\s+= 3s\s+# file .*agg-.*\.yaml:2"#, options: .regularExpression) != nil, "\(printed)")
    }

    @Test("a YAML value of the wrong type is refused with file and line, not ignored")
    func yamlWrongType() {
        let error = refusal { try aggregator(yaml: "timeframes: 1m\nflush_max_ticks: \"50\"\n") }
        #expect(error?.key == "flush_max_ticks")
        if case .file(_, let line)? = error?.origin { #expect(line == 2) } else { Issue.record("no file origin: \(String(describing: error))") }
        #expect(error?.reason.contains("expected an integer, found a string \"50\"") == true)
    }

    @Test("an unknown YAML key is refused with its line")
    func yamlUnknownKey() {
        let error = refusal { try aggregator(yaml: "flush_max_ticks: 10\nflush_max_tiks: 20\n") }
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "flush_max_tiks")
        if case .file(_, let line)? = error?.origin { #expect(line == 2) } else { Issue.record("no file origin") }
    }

    @Test("the consumer group follows the topic prefix unless set")
    func consumerGroupFromPrefix() throws {
        #expect(try aggregator().0.consumerGroup == "fx.aggregator")
        #expect(try aggregator(env: ["TOPIC_PREFIX": "staging."]).0.consumerGroup == "staging.aggregator")
        #expect(try aggregator(env: ["TOPIC_PREFIX": "staging.", "AGGREGATOR_GROUP": "mine"]).0.consumerGroup == "mine")
    }

    @Test("--print-config redacts the database password and secret Kafka properties")
    func printRedacts() throws {
        let (_, resolver) = try aggregator(env: ["DATABASE_URL": "postgres://app:pw-secret-9@db/fx",
                                                 "KAFKA_PROPERTIES": "sasl.password=kafka-secret-7,linger.ms=3"])
        let printed = resolver.printout(service: "aggregator")
        #expect(!printed.contains("pw-secret-9"))
        #expect(!printed.contains("kafka-secret-7"))
        #expect(printed.contains("linger.ms=3"))
        #expect(printed.contains("postgres://app:[redacted]@db/fx"))
    }

    @Test("byte sizes take KiB/MiB/KB units and refuse overflow")
    func byteSizes() throws {
        let reader = ValueReader<ByteSize>.byteSize(1...(1 << 30))
        #expect(try reader.parse("512KiB").bytes == 524_288)
        #expect(try reader.parse("1MiB").bytes == 1_048_576)
        #expect(try reader.parse("64KB").bytes == 64_000)
        #expect(try reader.parse("4096").bytes == 4_096)
        #expect(throws: ConfigValueError.self) { try reader.parse("2GiB") }
        #expect(throws: ConfigValueError.self) { try reader.parse("99999999999999999999GiB") }
        #expect(throws: ConfigValueError.self) { try reader.parse("12 parsecs") }
    }
}
