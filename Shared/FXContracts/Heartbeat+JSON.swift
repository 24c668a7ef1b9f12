import FXCore

extension Heartbeat {
    /// The message value (JSON v1).
    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter(capacity: 512 + (ingestor?.connections.count ?? 0) * 200 + (partitions?.count ?? 0) * 120)
        w.beginObject()
        w.key("v"); w.number(Self.version)
        w.key("service"); w.string(service)
        w.key("instance"); w.string(instance)
        w.key("ts"); w.number(timestamp)
        if let startedAt { w.key("started_ts"); w.number(startedAt) }
        if let ingestor {
            w.key("connections"); w.beginArray()
            for connection in ingestor.connections { connection.write(to: &w) }
            w.endArray()
        }
        if let backfiller {
            w.key("ledger")
            if let ledger = backfiller.ledger { ledger.write(to: &w) } else { w.null() }
        }
        if let partitions {
            w.key("partitions"); w.beginArray()
            for partition in partitions { partition.write(to: &w) }
            w.endArray()
        }
        w.key("counters"); w.beginObject()
        for counter in counters { w.key(counter.name); w.number(counter.value) }
        w.endObject()
        if let ingestor {
            w.key("queue_depth"); w.number(ingestor.queueDepth)
            w.key("circuits"); w.beginObject()
            for circuit in ingestor.circuits { w.key(circuit.provider); w.string(circuit.state) }
            w.endObject()
            if let fleet = ingestor.fleet {
                w.key("fleet"); w.beginObject()
                w.key("group"); w.string(fleet.group)
                w.key("redundancy"); w.number(fleet.redundancy)
                w.key("shard_count"); w.number(fleet.shardCount)
                w.key("shards"); w.beginArray()
                for shard in fleet.shards { w.string(shard) }
                w.endArray()
                w.endObject()
            }
        }
        if let aggregator { w.key("last_flush_ms"); w.number(aggregator.lastFlushMillis.text) }
        if !latency.isEmpty {
            w.key("latency"); w.beginObject()
            for entry in latency { w.key(entry.measure); entry.sample.write(to: &w) }
            w.endObject()
        }
        if stopping { w.key("stopping"); w.bool(true) }
        w.endObject()
        return w.bytes
    }
}

extension Heartbeat.Connection {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("source"); w.string(source)
        w.key("state"); w.string(state?.rawValue)
        w.key("symbols"); w.number(symbols)
        w.key("messages"); w.number(messages)
        w.key("last_message_ts"); w.number(lastMessageTs)
        w.key("reconnects"); w.number(reconnects)
        w.key("stale_symbols"); w.number(staleSymbols)
        w.key("open_gaps"); w.number(openGaps)
        w.key("last_error"); w.string(lastError.map { String($0.prefix(300)) })
        w.key("market_closed"); w.beginObject()
        for (symbol, reason) in marketClosed.sorted(by: { $0.key < $1.key }).prefix(Self.maxMarketClosed) {
            w.key(symbol); w.string(String(reason.prefix(100)))
        }
        w.endObject()
        if !books.isEmpty {
            w.key("books"); w.beginArray()
            for book in books.prefix(Heartbeat.Book.maxPerConnection) { book.write(to: &w) }
            w.endArray()
        }
        w.endObject()
    }
}

extension Heartbeat.Partition {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("topic"); w.string(topic)
        w.key("partition"); w.number(Int64(partition))
        if let fencing { w.key("generation"); w.number(fencing.generation) }
        w.key("consumed_offset"); w.number(consumedOffset)
        w.key("high_watermark"); w.number(highWatermark)
        w.key("lag"); w.number(lag)
        if let fencing {
            w.key("pending"); w.number(fencing.pending)
            w.key("watermark_ts"); w.number(fencing.watermarkTs)
        }
        w.endObject()
    }
}

extension Heartbeat.Ledger {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        for status in GapStatus.allCases { w.key(status.rawValue); w.number(byStatus[status] ?? 0) }
        w.key("oldest_unfilled_from_ts"); w.number(oldestUnfilledFrom)
        w.key("minutes_to_repair"); w.number(minutesToRepair)
        w.endObject()
    }

    /// Gaps still to be repaired: `open`, `filling` or `failed`.
    public var queued: Int64 {
        GapStatus.allCases.filter(\.isQueued).reduce(Int64(0)) { $0.addingClamped(byStatus[$1] ?? 0) }
    }
}

extension DecimalText {
    /// Milliseconds as exact (canonical) decimal text from whole microseconds (`12345` -> `12.345`, `0` -> `0`).
    public static func milliseconds(micros: Int64) -> DecimalText {
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        let fraction = String(magnitude % 1_000)
        return DecimalText("\(sign)\(magnitude / 1_000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)")!
    }
}
