import FXCore

/// librdkafka properties for one client, passed through verbatim (any property of librdkafka's
/// CONFIGURATION.md, SASL/SSL included). Secrets are kept out of logs: see ``redactedProperties``.
public struct KafkaConfiguration: Sendable {
    /// The properties given to librdkafka, after the client kind's defaults.
    public var properties: [String: String]

    /// - Parameters:
    ///   - bootstrapServers: `bootstrap.servers`, e.g. `127.0.0.1:9092`.
    ///   - properties: any further librdkafka properties; they win over the defaults.
    public init(bootstrapServers: String, properties: [String: String] = [:]) {
        var all = properties
        all["bootstrap.servers"] = bootstrapServers
        self.properties = all
    }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// The properties with every secret-looking value replaced: the only form that may be logged.
    public var redactedProperties: [String: String] { Redaction.redact(properties) }

    /// Producer defaults: idempotent, `acks=all`. Caller-supplied properties win.
    static let producerDefaults: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        "linger.ms": "5",
    ]

    /// Consumer defaults: manual offset management. Caller-supplied properties win.
    ///
    /// `fetch.queue.backoff.ms`: once a partition's prefetch queue passes `queued.min.messages`,
    /// librdkafka postpones its next fetch by this long (default 1000 ms). A consumer that drains the
    /// 100,000 queued messages faster than that then sits idle for the rest of the second: the bridge's
    /// "slow mode" (0.46 of a raw poll loop in 2M-message rounds; 0.56-0.66 with 10 ms, before batching).
    ///
    /// `fetch.wait.max.ms`: how long the broker may hold a fetch (default 500 ms). Kafka answers as soon
    /// as `fetch.min.bytes` are there; the local Tansu broker was seen to hold fetches for the whole wait
    /// even with data (tick -> candle p50 300 ms with 500, 115 ms with 50 at 10k ticks/s). Idle, 50 ms
    /// costs one empty fetch per broker every 50 ms.
    static let consumerDefaults: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "auto.offset.reset": "earliest",
        "enable.partition.eof": "false",
        "fetch.queue.backoff.ms": "20",
        "fetch.wait.max.ms": "50",
    ]

    func merged(withDefaults defaults: [String: String]) -> [String: String] {
        properties.merging(defaults) { mine, _ in mine }
    }
}
