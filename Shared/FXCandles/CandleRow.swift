import FXCore
import FXPostgres

/// A candle as stored and as published on `<prefix>candles`.
public struct CandleRow: Sendable, Equatable {
    public var source: String
    public var symbol: String
    public var timeframe: String
    public var priceType: String
    /// Bucket start and end (exclusive), ns since the epoch.
    public var start: Int64
    public var end: Int64
    public var open: DecimalText
    public var high: DecimalText
    public var low: DecimalText
    public var close: DecimalText
    public var volume: DecimalText
    public var tickCount: Int64
    public var vwap: DecimalText?
    public var revision: Int
    public var finalRevision: Int
    public var kafkaPartition: Int32
    /// Where the numbers come from: `stream`, `backfill` (the provider's REST history) or `merged`.
    public var origin: String

    /// The columns ``init(row:)`` reads, for `RETURNING`/`SELECT` lists.
    static func columns(_ alias: String = "") -> String {
        let p = alias.isEmpty ? "" : alias + "."
        return "\(p)source, \(p)symbol, \(p)timeframe, \(p)price_type, (extract(epoch from \(p)bucket))::bigint AS bucket_s, " +
            "\(p)open::text AS open, \(p)high::text AS high, \(p)low::text AS low, \(p)close::text AS close, " +
            "\(p)volume::text AS volume, \(p)tick_count, \(p)vwap::text AS vwap, \(p)revision, \(p)final_revision, \(p)kafka_partition, \(p)origin"
    }

    init(row: PostgresRow, timeframes: [String: Timeframe]) throws {
        func decimal(_ name: String) throws -> DecimalText {
            guard let text = row[name], let value = DecimalText(text) else {
                throw PostgresError(code: .decoding, message: "candle column '\(name)' is not a decimal")
            }
            return value
        }
        source = try row.decode(String.self, "source")
        symbol = try row.decode(String.self, "symbol")
        timeframe = try row.decode(String.self, "timeframe")
        priceType = try row.decode(String.self, "price_type")
        let seconds = try row.decode(Int64.self, "bucket_s")
        start = seconds * 1_000_000_000
        end = start + (timeframes[timeframe]?.nanoseconds ?? 0)
        open = try decimal("open")
        high = try decimal("high")
        low = try decimal("low")
        close = try decimal("close")
        volume = try decimal("volume")
        tickCount = try row.decode(Int64.self, "tick_count")
        vwap = row["vwap"].flatMap { DecimalText($0) }
        revision = try row.decode(Int.self, "revision")
        finalRevision = try row.decode(Int.self, "final_revision")
        kafkaPartition = try row.decode(Int32.self, "kafka_partition")
        origin = try row.decode(String.self, "origin")
    }

    public var key: String { "\(source):\(symbol)" }
    public var identity: String { "\(source)|\(symbol)|\(timeframe)|\(priceType)|\(start)" }

    /// The `<prefix>candles` message (JSON v1).
    public func jsonBytes(final: Bool) -> [UInt8] {
        var w = JSONWriter(capacity: 320)
        w.beginObject()
        w.key("v"); w.number(1)
        w.key("source"); w.string(source)
        w.key("symbol"); w.string(symbol)
        w.key("timeframe"); w.string(timeframe)
        w.key("price_type"); w.string(priceType)
        w.key("start"); w.number(start)
        w.key("end"); w.number(end)
        w.key("open"); w.string(open.text)
        w.key("high"); w.string(high.text)
        w.key("low"); w.string(low.text)
        w.key("close"); w.string(close.text)
        w.key("volume"); w.string(volume.text)
        w.key("tick_count"); w.number(tickCount)
        w.key("vwap"); w.string(vwap?.text)
        w.key("final"); w.bool(final)
        w.key("revision"); w.number(Int64(revision))
        w.key("origin"); w.string(origin)
        w.endObject()
        return w.bytes
    }
}
