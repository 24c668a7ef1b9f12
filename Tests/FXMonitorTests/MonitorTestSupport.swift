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

    static func ingestorHeartbeat(instance: String = "ing-1", ts: Int64, lastMessage: Int64?, errors: String = "0", reconnects: String = "0",
                                  stopping: Bool = false) -> [UInt8] {
        bytes(#"{"v":1,"service":"ingestor","instance":"\#(instance)","ts":\#(ts),"started_ts":\#(ts),"connections":[{"id":"coinbase-0","source":"coinbase","state":"streaming","symbols":1,"messages":1,"last_message_ts":\#(lastMessage.map(String.init) ?? "null"),"reconnects":\#(reconnects),"stale_symbols":0,"open_gaps":0,"last_error":null}],"counters":{"provider_errors":\#(errors),"delivery_failures":0,"dropped":0},"queue_depth":0,"circuits":{"coinbase":"closed"},"latency":{}"#
              + (stopping ? #","stopping":true"# : "") + "}")
    }
}
