import FXCore

/// What a fleet replica writes about a shard it streams, to the shard's control partitions every health
/// interval: the shard's last event time per venue symbol. A replica that takes the shard over reads
/// the newest checkpoints and reports the window between them and its own first data as `handover`
/// gaps. Internal to the fleet (the control topic), JSON:
///
/// ```json
/// {"v":1,"shard":"coinbase-0","instance":"ingest-1","ts":1795597590000000000,"since":1795597160000000000,"released":false,
///  "last":{"BTC-USD":1795597589990000000,"ETH-USD":1795597589870000000}}
/// ```
///
/// A running shard's `last` lags by one interval (the previous interval's times: ticks observed since
/// may still be on their way to the broker when the replica dies), so the window reported after a crash
/// covers them. `released: true` is the last one of a replica that stopped the shard cleanly (a
/// rebalance or a graceful stop): its times are exact, every tick before them delivered or reported.
/// `since` is when the writer started streaming the shard; a symbol it has no data for yet carries the
/// previous owner's time, so that knowledge survives an owner that dies quickly.
struct ShardCheckpoint: Sendable, Equatable {
    static let version: Int64 = 1

    var shard: String
    var instance: String
    var timestamp: Int64
    /// When the writer started streaming the shard.
    var since: Int64
    var released: Bool
    /// Venue symbol -> the newest event time streamed.
    var last: [String: Int64]

    func jsonBytes() -> [UInt8] {
        var w = JSONWriter(capacity: 128 + last.count * 48)
        w.beginObject()
        w.key("v"); w.number(Self.version)
        w.key("shard"); w.string(shard)
        w.key("instance"); w.string(instance)
        w.key("ts"); w.number(timestamp)
        w.key("since"); w.number(since)
        w.key("released"); w.bool(released)
        w.key("last"); w.beginObject()
        for (symbol, ts) in last.sorted(by: { $0.key < $1.key }) { w.key(symbol); w.number(ts) }
        w.endObject()
        w.endObject()
        return w.bytes
    }

    /// Reads a checkpoint; nil for anything else (a newer version, a foreign or malformed message, times
    /// outside the contract window): a control topic is never trusted blindly.
    init?(json: [UInt8]) {
        guard let value = try? JSONParser().parse(json), value["v"]?.int64Value == Self.version,
              let shard = value["shard"]?.stringValue, let instance = value["instance"]?.stringValue,
              let timestamp = value["ts"]?.int64Value, ContractLimits.isPlausibleEventTime(timestamp),
              let since = value["since"]?.int64Value, ContractLimits.isPlausibleEventTime(since),
              case .object(let members)? = value["last"] else { return nil }
        var last: [String: Int64] = [:]
        for (symbol, time) in members {
            guard let ts = time.int64Value, ContractLimits.isPlausibleEventTime(ts) else { return nil }
            last[symbol] = ts
        }
        self.init(shard: shard, instance: instance, timestamp: timestamp, since: since, released: value["released"]?.boolValue == true, last: last)
    }

    init(shard: String, instance: String, timestamp: Int64, since: Int64, released: Bool, last: [String: Int64]) {
        self.since = since
        self.shard = shard
        self.instance = instance
        self.timestamp = timestamp
        self.released = released
        self.last = last
    }
}
