import FXCore
import FXMetrics

/// One `<prefix>health` heartbeat of an ingestor instance (JSON v1, key `ingestor:<instance>`):
/// `v`, `service` (`ingestor`), `instance`, `ts` (ns), `started_ts`, `connections` (one object each:
/// `id`, `source`, `state`, `symbols`, `messages`, `last_message_ts`, `reconnects`, `stale_symbols`,
/// `open_gaps`, `last_error`), `counters` (`frames`, `ticks`, `heartbeats`, `rejects`, `gaps`,
/// `delivered`, `delivery_failures`, `dropped`, `provider_errors`, `gaps_lost`), `queue_depth`,
/// `circuits` (`{provider: closed|open|half_open}`), `latency` (`receive_to_ack`: frame received -> Kafka
/// acknowledged since the previous heartbeat, a ``LatencySample``); `stopping` (`true`, only in the last
/// heartbeat of an instance stopping gracefully: the monitor forgets it instead of reporting it missing).
public struct HealthReport: Sendable {
    public var instance: String
    public var timestamp: Int64
    public var startedAt: Int64
    public var connections: [ConnectionHealth]
    public var counters: [(String, Int)]
    public var queueDepth: Int
    public var circuits: [(String, String)]
    public var latency: [(String, LatencySample)]
    /// The instance's last heartbeat, sent while stopping gracefully.
    public var stopping = false

    public var key: String { "ingestor:\(instance)" }

    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: 512 + connections.count * 200)
        writer.beginObject()
        writer.key("v"); writer.number(1)
        writer.key("service"); writer.string("ingestor")
        writer.key("instance"); writer.string(instance)
        writer.key("ts"); writer.number(timestamp)
        writer.key("started_ts"); writer.number(startedAt)
        writer.key("connections"); writer.beginArray()
        for connection in connections {
            writer.beginObject()
            writer.key("id"); writer.string(connection.id)
            writer.key("source"); writer.string(connection.source)
            writer.key("state"); writer.string(connection.state)
            writer.key("symbols"); writer.number(Int64(connection.symbols))
            writer.key("messages"); writer.number(Int64(connection.messages))
            writer.key("last_message_ts"); writer.number(connection.lastMessageAt)
            writer.key("reconnects"); writer.number(Int64(connection.reconnects))
            writer.key("stale_symbols"); writer.number(Int64(connection.staleSymbols))
            writer.key("open_gaps"); writer.number(Int64(connection.openGaps))
            writer.key("last_error"); writer.string(connection.lastError.map { String($0.prefix(300)) })
            writer.endObject()
        }
        writer.endArray()
        writer.key("counters"); writer.beginObject()
        for (name, value) in counters { writer.key(name); writer.number(Int64(value)) }
        writer.endObject()
        writer.key("queue_depth"); writer.number(Int64(queueDepth))
        writer.key("circuits"); writer.beginObject()
        for (provider, state) in circuits { writer.key(provider); writer.string(state) }
        writer.endObject()
        writer.key("latency"); writer.beginObject()
        for (measure, sample) in latency { writer.key(measure); sample.write(to: &writer) }
        writer.endObject()
        if stopping { writer.key("stopping"); writer.bool(true) }
        writer.endObject()
        return writer.bytes
    }
}
