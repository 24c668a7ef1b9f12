import FXCore

extension MonitorAPI {
    /// `{"ts":..., "fleets":[{"fleet":"coinbase","shard_count":6,"redundancy":2,"unowned":0,"under_replicated":1,
    ///   "shards":{"coinbase-0":["ingest-a","ingest-b"],...}}]}`: per ingestor fleet, the live instances
    /// streaming each shard (shards nobody streams are counted in `unowned`).
    static func fleets(_ fleets: [FleetStatus], now: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + fleets.reduce(0) { $0 + $1.owners.count * 64 })
        w.beginObject()
        w.key("ts"); w.number(now)
        w.key("fleets"); w.beginArray()
        for fleet in fleets {
            w.beginObject()
            w.key("fleet"); w.string(fleet.group)
            w.key("shard_count"); w.number(fleet.shardCount)
            w.key("redundancy"); w.number(fleet.redundancy)
            w.key("unowned"); w.number(fleet.unowned)
            w.key("under_replicated"); w.number(fleet.underReplicated)
            w.key("shards"); w.beginObject()
            for (shard, owners) in fleet.owners.sorted(by: { $0.key < $1.key }) { w.key(shard); w.stringArray(owners) }
            w.endObject()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
