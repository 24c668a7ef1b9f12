import FXContracts
import CoreMetrics
import Foundation
import FXCore
import FXKafka
import FXMonitor
import Logging

/// A monitor service for in-process specs: no broker is contacted until `run()`, which they never call.
enum MonitorTestSupport {
    static let second: Int64 = 1_000_000_000
    /// Wednesday 2026-11-25 12:00 UTC (every market open).
    static let wednesday: Int64 = 1_795_608_000 * second
    static let topics = TopicNames(prefix: "spec.")

    static func service(_ configure: (inout MonitorConfiguration) -> Void = { _ in }) -> MonitorService {
        var configuration = MonitorConfiguration()
        configure(&configuration)
        var logger = Logger(label: "monitor-spec")
        logger.logLevel = .critical
        return MonitorService(configuration: configuration, rules: AlertRule.defaults, kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"),
                              topics: topics, instance: "spec", metricsFactory: NOOPMetricsHandler.instance, logger: logger)
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func tick(source: String = "coinbase", symbol: String = "BTC/USD", ts: Int64, recv: Int64?) -> [UInt8] {
        bytes(#"{"v":1,"kind":"trade","source":"\#(source)","symbol":"\#(symbol)","venue_symbol":"\#(symbol.replacingOccurrences(of: "/", with: "-"))","ts":\#(ts),"#
              + (recv.map { #""recv_ts":\#($0),"# } ?? "") + #""seq":1,"price":"100.25","size":"0.5","side":"buy","trade_id":"1"}"#)
    }

    /// An ingestor's heartbeat encoded as the ingestor encodes it (``Heartbeat/jsonBytes()``): one
    /// Coinbase connection.
    static func ingestorHeartbeat(instance: String = "ing-1", ts: Int64, lastMessage: Int64?, errors: Int64 = 0, reconnects: Int64 = 0,
                                  stopping: Bool = false) -> [UInt8] {
        var beat = Heartbeat.ingestor(instance: instance, ts: ts, lastMessage: lastMessage, reconnects: reconnects)
        beat.counters = [.init("provider_errors", errors), .init("delivery_failures", 0), .init("dropped", 0)]
        beat.stopping = stopping
        return beat.jsonBytes()
    }
}

extension Heartbeat {
    /// An ingestor heartbeat with one connection.
    static func ingestor(instance: String = "ing-1", ts: Int64, source: String = "coinbase", state: ConnectionState = .streaming,
                         lastMessage: Int64?, reconnects: Int64 = 0, staleSymbols: Int64 = 0, marketClosed: [String: String] = [:]) -> Heartbeat {
        var beat = Heartbeat(service: "ingestor", instance: instance, timestamp: ts, startedAt: ts)
        beat.ingestor = IngestorSection(
            connections: [Connection(id: "\(source)-0", source: source, state: state, symbols: 2, messages: 1, lastMessageTs: lastMessage,
                                     reconnects: reconnects, staleSymbols: staleSymbols, openGaps: 0, lastError: nil,
                                     marketClosed: marketClosed)],
            queueDepth: 0, circuits: [Circuit(provider: source, state: "closed")])
        return beat
    }

    /// This heartbeat as the monitor receives it: written by the services' encoder, read by the monitor's decoder.
    func received(at now: Int64) -> Heartbeat {
        let reading = Heartbeat.read(try! JSONParser().parse(jsonBytes()), receivedAt: now)
        return reading.heartbeat!
    }
}
