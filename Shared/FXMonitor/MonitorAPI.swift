import FXContracts
import FXCore
import FXPostgres
import Hummingbird

/// The monitor's JSON API on its HTTP server:
/// - `GET /api/streams`: `{"ts":..., "streams":[{"source","symbol","venue_symbol","state","since","reason",
///   "last_event_ts","last_received_ts","ticks","gaps"}]}`
/// - `GET /api/instances`: `{"ts":..., "instances":[{"service","instance","alive","last_seen_ts","heartbeat_ts"}],
///   "untrusted":[{"key","reason","count","last_seen_ts"}]}` (ingestors in a fleet add `"fleet"` and `"shards"`;
///   `untrusted`: heartbeat senders set aside, see ``HeartbeatTrust``)
/// - `GET /api/books`: `{"ts":..., "books":[{"source","symbol","venue_symbol","state","epoch","seq","resyncs",
///   "resyncs_last_hour","last_checksum_failure_ts","last_error","instance","connection"}]}`: the order books the live
///   ingestors keep (see ``BookStatus``)
/// - `GET /api/quotes`: `{"ts":..., "quotes":[{<latest value>..., "age_ms":...}]}`: the hot layer, each symbol's
///   latest quote and trade from `<prefix>latest` with its age (now - `recv_ts`, ms; null before any tick)
/// - `GET /api/fleets`: the ingestor fleets, which live instance streams which shard (see ``fleets(_:now:)``)
/// - `GET /api/latency`: `{"ts":..., "window_ms":..., "exchange_to_receive":{"<source>":{"count","p50_us","p90_us","p99_us","p999_us"}},
///   "receive_to_ack":{"all":{...}}, "tick_to_candle":{"all":{...}}}` (over the last `latency_window`)
/// - `GET /api/pipeline`: rates, consumer lag and the backfill queue (see ``pipeline(_:now:)``)
/// - `GET /api/candles?source=&symbol=&timeframe=&price_type=&limit=`: the latest candles of a stream (see ``candles(_:service:)``)
/// - `GET /`: the status page (``StatusPage``)
///
/// With a token configured, every one of these needs it (``MonitorHTTPAccess``).
/// - `GET /api/alerts`: `{"ts":..., "firing":[<alert event>...], "recent":[<alert event>...]}` (the `<prefix>alerts` JSON)
///
/// `ts`, `since`, `last_seen_ts`, `last_received_ts` and `reported_ts` are read on the monitor's clock
/// (``MonitorClock``: wall time at start, advanced monotonically), so their differences are true durations.
public enum MonitorAPI {
    public static func routes(_ service: MonitorService) -> @Sendable (Router<BasicRequestContext>) -> Void {
        let access = MonitorHTTPAccess(token: service.configuration.authToken)
        let candleGate = RequestGate(limit: service.configuration.candlesConcurrency)
        /// A JSON endpoint behind the token.
        @Sendable func api(_ body: @escaping @Sendable (Request) async throws -> Response) -> @Sendable (Request, BasicRequestContext) async throws -> Response {
            { request, _ in access.allows(request) ? try await body(request) : access.denied(page: false) }
        }
        return { router in
            router.get("/api/streams", use: api { _ in json(streams(service.state.withLock { $0.board.snapshot }, now: service.clock.now())) })
            router.get("/api/instances", use: api { _ in
                let (known, untrusted) = service.state.withLock { ($0.board.instanceSnapshot, $0.trust.untrusted) }
                return json(instances(known, untrusted: untrusted, now: service.clock.now()))
            })
            router.get("/api/latency", use: api { _ in json(latency(service.state.withLock { $0.latency }, now: service.clock.now())) })
            router.get("/api/pipeline", use: api { _ in json(pipeline(service.state.withLock { $0.pipeline }, now: service.clock.now())) })
            router.get("/api/candles", use: api { request in
                guard candleGate.enter() else {
                    var headers = HTTPFields()
                    headers[.retryAfter] = "1"
                    return Response(status: .serviceUnavailable, headers: headers,
                                    body: .init(byteBuffer: ByteBuffer(string: "too many candle requests at once (api_candles_concurrency \(candleGate.limit))\n")))
                }
                defer { candleGate.leave() }
                return try await candles(request, service: service)
            })
            router.get("/api/books", use: api { _ in
                let now = service.clock.now()
                return json(books(service.state.withLock { $0.board.books(now: now) }, now: now))
            })
            router.get("/api/quotes", use: api { _ in
                json(quotes(service.quotes.withLock { $0.snapshot }, now: WallClock.nanoseconds()))
            })
            router.get("/api/fleets", use: api { _ in
                json(fleets(FleetStatus.fleets(service.state.withLock { $0.board.instanceSnapshot }), now: service.clock.now()))
            })
            router.get("/") { request, _ -> Response in
                access.allows(request) ? MonitorHTTPAccess.html(StatusPage.html) : access.denied(page: true)
            }
            router.get("/api/alerts", use: api { _ in
                let (firing, recent) = service.state.withLock { ($0.engine.firing, $0.recentAlerts) }   // one consistent view
                return json(alerts(firing: firing, recent: recent, now: service.clock.now()))
            })
        }
    }

    static func streams(_ streams: [StreamStatus], now: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + streams.count * 256)
        w.beginObject()
        w.key("ts"); w.number(now)
        w.key("streams"); w.beginArray()
        for stream in streams {
            w.beginObject()
            w.key("source"); w.string(stream.source)
            w.key("symbol"); w.string(stream.symbol)
            w.key("venue_symbol"); w.string(stream.venueSymbol)
            w.key("state"); w.string(stream.state.rawValue)
            w.key("since"); w.number(stream.since)
            w.key("reason"); w.string(stream.reason)
            w.key("last_event_ts"); w.number(stream.lastEventTs)
            w.key("last_received_ts"); w.number(stream.lastReceivedAt)
            w.key("ticks"); w.number(stream.ticks)
            w.key("gaps"); w.number(stream.gaps)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    static func instances(_ instances: [InstanceStatus], untrusted: [String: HeartbeatTrust.Sender] = [:], now: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + instances.count * 128)
        w.beginObject()
        w.key("ts"); w.number(now)
        w.key("instances"); w.beginArray()
        for instance in instances {
            w.beginObject()
            w.key("service"); w.string(instance.service)
            w.key("instance"); w.string(instance.instance)
            w.key("alive"); w.bool(instance.alive)
            w.key("last_seen_ts"); w.number(instance.lastSeen)
            w.key("heartbeat_ts"); w.number(instance.heartbeatTs)
            if let fleet = instance.fleet {
                w.key("fleet"); w.string(fleet.group)
                w.key("shards"); w.stringArray(fleet.shards)
            }
            w.endObject()
        }
        w.endArray()
        // Heartbeat senders set aside (HeartbeatTrust): shown, never applied.
        w.key("untrusted"); w.beginArray()
        for (key, sender) in untrusted.sorted(by: { $0.key < $1.key }) {
            w.beginObject()
            w.key("key"); w.string(key)
            w.key("reason"); w.string(sender.reason.rawValue)
            w.key("count"); w.number(sender.count)
            w.key("last_seen_ts"); w.number(sender.lastSeen)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    static func latency(_ book: LatencyBook, now: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.key("ts"); w.number(now)
        w.key("window_ms"); w.number(book.window / 1_000_000)
        for measure in LatencyBook.Measure.allCases {
            w.key(measure.rawValue); w.beginObject()
            for source in book.sources(measure) {
                guard let p = book.percentiles(measure, source: source, now: now) else { continue }
                w.key(source); w.beginObject()
                w.key("count"); w.number(Int64(p.count))
                w.key("p50_us"); w.number(Int64(p.p50))
                w.key("p90_us"); w.number(Int64(p.p90))
                w.key("p99_us"); w.number(Int64(p.p99))
                w.key("p999_us"); w.number(Int64(p.p999))
                w.endObject()
            }
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    /// `{"ts":..., "rates":{"<kind>":{"<source>":{"last_minute":n,"total":n}}}, "lag":[{"service","instance","topic",
    /// "partition","lag","reported_ts"}], "backfill":{"queued","open","filling","failed","unfillable","filled",
    /// "oldest_unfilled_from_ts","oldest_age_ms","minutes_to_repair","reported_ts"} | null}`; kinds: `ticks`, `gaps`,
    /// `rejects`, `candles` (per source), `reconnects` (per source), `errors` (per service).
    static func pipeline(_ book: PipelineBook, now: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        w.key("ts"); w.number(now)
        w.key("rates"); w.beginObject()
        for kind in PipelineBook.Kind.allCases {
            w.key(kind.rawValue); w.beginObject()
            for source in book.sources(kind) {
                let rate = book.rate(kind, source: source, now: now)
                w.key(source); w.beginObject()
                w.key("last_minute"); w.number(rate.lastMinute)
                w.key("total"); w.number(rate.total)
                w.endObject()
            }
            w.endObject()
        }
        w.endObject()
        w.key("lag"); w.beginArray()
        for partition in book.partitionLags {
            w.beginObject()
            w.key("service"); w.string(partition.service)
            w.key("instance"); w.string(partition.instance)
            w.key("topic"); w.string(partition.topic)
            w.key("partition"); w.number(partition.partition)
            w.key("lag"); w.number(partition.lag)
            w.key("reported_ts"); w.number(partition.reportedAt)
            w.endObject()
        }
        w.endArray()
        w.key("backfill")
        if let backfill = book.backfill {
            w.beginObject()
            w.key("queued"); w.number(backfill.queued)
            for status in GapStatus.allCases { w.key(status.rawValue); w.number(backfill.byStatus[status.rawValue] ?? 0) }
            w.key("oldest_unfilled_from_ts"); w.number(backfill.oldestUnfilledFrom)
            w.key("oldest_age_ms"); w.number(backfill.oldestUnfilledFrom.map { max(0, now.subtractingClamped($0)) / 1_000_000 })
            w.key("minutes_to_repair"); w.number(backfill.minutesToRepair)
            w.key("reported_ts"); w.number(backfill.reportedAt)
            w.endObject()
        } else {
            w.null()
        }
        w.endObject()
        return w.bytes
    }

    static func books(_ books: [BookStatus], now: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + books.count * 320)
        w.beginObject()
        w.key("ts"); w.number(now)
        w.key("books"); w.beginArray()
        for book in books {
            w.beginObject()
            w.key("source"); w.string(book.source)
            w.key("symbol"); w.string(book.symbol)
            w.key("venue_symbol"); w.string(book.venueSymbol)
            w.key("state"); w.string(book.state)
            w.key("epoch"); w.number(book.epoch)
            w.key("seq"); w.number(book.seq)
            w.key("resyncs"); w.number(book.resyncs)
            w.key("resyncs_last_hour"); w.number(book.resyncsLastHour)
            w.key("last_checksum_failure_ts"); w.number(book.lastChecksumFailureTs)
            w.key("last_error"); w.string(book.lastError)
            w.key("instance"); w.string(book.instance)
            w.key("connection"); w.string(book.connection)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// `age_ms` is on the wall clock (`recv_ts` is the ingestor's wall clock; the machines' clocks must agree).
    static func quotes(_ quotes: [LatestQuote], now: Int64) -> [UInt8] {
        var bytes = Array(#"{"ts":\#(now),"quotes":["#.utf8)
        for (index, quote) in quotes.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            var value = quote.jsonBytes()
            value.removeLast()   // the closing brace: the age goes in
            bytes += value
            let age = quote.recvTs.map { String(max(0, now.subtractingClamped($0)) / 1_000_000) } ?? "null"
            bytes += Array(#","age_ms":\#(age)}"#.utf8)
        }
        bytes += Array("]}".utf8)
        return bytes
    }

    static func alerts(firing: [AlertEvent], recent: [AlertEvent], now: Int64) -> [UInt8] {
        var bytes = Array(#"{"ts":\#(now),"firing":["#.utf8)
        bytes += firing.map { $0.jsonBytes() }.joined(separator: Array(",".utf8))
        bytes += Array(#"],"recent":["#.utf8)
        bytes += recent.reversed().map { $0.jsonBytes() }.joined(separator: Array(",".utf8))
        bytes += Array("]}".utf8)
        return bytes
    }

    static func json(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension MonitorAPI {
    /// `GET /api/candles?source=&symbol=&timeframe=1m&price_type=&limit=60`: the latest candles of a stream in one
    /// price type (`price_type`, else `trade` where the stream has trades, else `mid`), oldest first:
    /// `{"source","symbol","timeframe","price_type","candles":[{"start","open","high","low","close","volume","origin","revision"}]}`
    /// (exact decimals as strings). 400 without source and symbol, or with a source, symbol, timeframe or price type outside
    /// the topic contract; `limit` is clamped to 1...500 (anything else reads 60); 503 while the database is not reachable,
    /// when `api_candles_concurrency` requests are already being served, or when the query outlives `api_candles_timeout_ms`.
    /// The candles' price types (tables.md).
    static let priceTypes: Set<String> = ["trade", "mid", "bid", "ask"]

    static func candles(_ request: Request, service: MonitorService) async throws -> Response {
        let query = request.uri.queryParameters
        guard let source = query["source"].map(String.init), let symbol = query["symbol"].map(String.init) else {
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "source and symbol are required\n")))
        }
        let timeframe = query["timeframe"].map(String.init) ?? "1m"
        guard ContractLimits.isValidSource(source), ContractLimits.isValidSymbol(symbol), ContractLimits.isValidSource(timeframe) else {
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "source, symbol or timeframe outside the topic contract\n")))
        }
        let limit = min(500, max(1, Int(String(query["limit"] ?? "60")) ?? 60))
        guard let connection = service.candleReader.withLock({ $0 }) else {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "database not reachable yet\n")))
        }
        let priceType = query["price_type"].map(String.init)
        guard priceType.map(Self.priceTypes.contains) ?? true else {
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "price_type is one of trade, mid, bid, ask\n")))
        }
        let timeoutMs = Int(service.configuration.candlesTimeout.components.seconds * 1_000
                            + service.configuration.candlesTimeout.components.attoseconds / 1_000_000_000_000_000)
        let rows: PostgresRows
        do {
            rows = try await connection.transaction { session in
                try await session.executeScript("SET LOCAL statement_timeout = \(timeoutMs)")
                // One price type: the one asked for, else trades where the stream has them, else mid (forex).
                return try await session.query("""
                    SELECT * FROM (
                        SELECT (extract(epoch FROM bucket))::bigint * 1000000000 AS start, open::text, high::text, low::text, close::text,
                               volume::text, origin, revision, price_type
                        FROM candles WHERE source = $1 AND symbol = $2 AND timeframe = $3
                          AND price_type = coalesce($5, CASE WHEN EXISTS (SELECT 1 FROM candles WHERE source = $1 AND symbol = $2
                                                                          AND timeframe = $3 AND price_type = 'trade')
                                                             THEN 'trade' ELSE 'mid' END)
                        ORDER BY bucket DESC LIMIT $4) latest
                    ORDER BY start
                    """, [source, symbol, timeframe, limit, priceType])
            }
        } catch let error as PostgresError where error.sqlState == .queryCanceled {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "the candle query ran out of time (api_candles_timeout_ms)\n")))
        }
        var w = JSONWriter(capacity: 256 + rows.count * 160)
        w.beginObject()
        w.key("source"); w.string(source)
        w.key("symbol"); w.string(symbol)
        w.key("timeframe"); w.string(timeframe)
        w.key("price_type"); w.string(rows.rows.first?["price_type"] ?? priceType)
        w.key("candles"); w.beginArray()
        for row in rows.rows {
            w.beginObject()
            w.key("start"); w.number(row["start"].flatMap { Int64($0) })
            for column in ["open", "high", "low", "close", "volume"] { w.key(column); w.string(row[column]) }
            w.key("origin"); w.string(row["origin"])
            w.key("revision"); w.number(row["revision"].flatMap { Int64($0) })
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return json(w.bytes)
    }
}
