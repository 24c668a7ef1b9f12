import FXContracts
import FXCore
import Testing

/// The `<prefix>health` contract: one encoder, one decoder, both used by the services and the monitor.
@Suite("Contracts: heartbeats")
struct HeartbeatTests {
    static let now: Int64 = 1_795_608_000_000_000_000

    static func read(_ beat: Heartbeat) throws -> Heartbeat.Reading {
        Heartbeat.read(try JSONParser().parse(beat.jsonBytes()), receivedAt: now)
    }

    static func read(_ text: String) throws -> Heartbeat.Reading {
        Heartbeat.read(try JSONParser().parse(Array(text.utf8)), receivedAt: now)
    }

    static let sample = LatencySample(count: 3, p50: 120, p90: 400, p99: 900, p999: 900, max: 900, buckets: [[120, 1], [400, 1], [900, 1]])

    @Test("an ingestor's heartbeat reads back exactly as it was written")
    func ingestor() throws {
        var beat = Heartbeat(service: "ingestor", instance: "ing-7f9c", timestamp: Self.now, startedAt: Self.now - 60_000_000_000)
        beat.ingestor = .init(connections: [
            .init(id: "coinbase-0", source: "coinbase", state: .streaming, symbols: 2, messages: 1_234, lastMessageTs: Self.now - 5_000_000,
                  reconnects: 1, staleSymbols: 0, openGaps: 0, lastError: nil),
            .init(id: "finnhub-0", source: "finnhub", state: .circuitOpen, symbols: 3, messages: 0, lastMessageTs: nil,
                  reconnects: 9, staleSymbols: 3, openGaps: 3, lastError: "HTTP 401"),
            .init(id: "oanda-0", source: "oanda", state: .streaming, symbols: 2, messages: 7, lastMessageTs: Self.now - 1,
                  reconnects: 0, staleSymbols: 0, openGaps: 0, lastError: nil, marketClosed: ["EUR/USD": "not tradeable (OANDA)"]),
        ], queueDepth: 17, circuits: [.init(provider: "coinbase", state: "closed"), .init(provider: "finnhub", state: "open")])
        beat.counters = [.init("delivery_failures", 0), .init("dropped", 0), .init("frames", 1_234), .init("provider_errors", 2)]
        beat.latency = [.init("receive_to_ack", Self.sample)]
        let reading = try Self.read(beat)
        #expect(reading.refused == nil && reading.ignored.isEmpty)
        #expect(reading.heartbeat == beat)
        #expect(reading.heartbeat?.key == "ingestor:ing-7f9c")
    }

    @Test("an aggregator's heartbeat carries its partitions' leases, last_flush_ms as exact decimal text and started_ts")
    func aggregator() throws {
        var beat = Heartbeat(service: "aggregator", instance: "agg-1", timestamp: Self.now, startedAt: Self.now - 1)
        beat.partitions = [
            .init(topic: "fx.ticks", partition: 0, consumedOffset: 88, highWatermark: 100, lag: 12,
                  fencing: .init(generation: 3, pending: 40, watermarkTs: Self.now - 2_000_000_000)),
            .init(topic: "fx.ticks", partition: 2, consumedOffset: nil, highWatermark: nil, lag: nil,
                  fencing: .init(generation: 1, pending: 0, watermarkTs: nil)),
        ]
        beat.counters = [.init("flush_failures", 0), .init("ticks", 5_000)]
        beat.aggregator = .init(lastFlushMillis: .milliseconds(micros: 12_345))
        beat.latency = [.init("tick_to_candle", Self.sample)]
        let text = String(decoding: beat.jsonBytes(), as: UTF8.self)
        #expect(text.contains(#""last_flush_ms":12.345"#) && text.contains(#""started_ts":"#))
        #expect(try Self.read(beat).heartbeat == beat)
        #expect(DecimalText.milliseconds(micros: 7).text == "0.007" && DecimalText.milliseconds(micros: 0) == DecimalText("0")!)
    }

    @Test("a backfiller's heartbeat: the ledger per gap status, or null when the database could not be asked")
    func backfiller() throws {
        var beat = Heartbeat(service: "backfiller", instance: "bf-1", timestamp: Self.now, startedAt: Self.now)
        beat.backfiller = .init(ledger: .init(byStatus: [.open: 2, .filling: 1, .failed: 1, .unfillable: 3, .filled: 40],
                                              oldestUnfilledFrom: Self.now - 3_600_000_000_000, minutesToRepair: 12))
        beat.partitions = [.init(topic: "fx.gaps", partition: 0, consumedOffset: 9, highWatermark: 9, lag: 0)]
        beat.counters = [.init("gaps_failed", 1)]
        let read = try #require(try Self.read(beat).heartbeat)
        #expect(read == beat)
        #expect(read.backfiller?.ledger?.queued == 4, "open + filling + failed")
        beat.backfiller = .init(ledger: nil)
        beat.stopping = true
        let text = String(decoding: beat.jsonBytes(), as: UTF8.self)
        #expect(text.contains(#""ledger":null"#) && text.contains(#""stopping":true"#))
        #expect(try Self.read(beat).heartbeat == beat)
    }

    @Test("parts outside the contract are left out and named; the rest of the heartbeat is kept")
    func partsLeftOut() throws {
        let reading = try Self.read("""
            {"v":1,"service":"ingestor","instance":"i-1","ts":\(Self.now),
             "counters":{"frames":5,"dropped":-1},
             "connections":[{"id":"coinbase-0","source":"coinbase","state":"streaming","reconnects":-3},
                            {"id":"bad id","source":"coinbase","state":"streaming"},
                            {"id":"finnhub-0","source":"finnhub","state":"NOT A STATE","last_message_ts":5}],
             "partitions":[{"topic":"fx ticks","partition":0},{"topic":"fx.ticks","partition":-1},{"topic":"fx.ticks","partition":1,"lag":-4}]}
            """)
        let beat = try #require(reading.heartbeat)
        #expect(beat.counters == [.init("frames", 5)], "the negative counter is left out")
        #expect(beat.ingestor?.connections.map(\.id) == ["coinbase-0", "finnhub-0"], "the connection with a bad id is left out")
        #expect(beat.ingestor?.connections.first?.reconnects == nil, "a negative reconnect count is no count")
        #expect(beat.ingestor?.connections.last?.state == nil && beat.ingestor?.connections.last?.lastMessageTs == nil)
        #expect(beat.partitions?.map(\.partition) == [1] && beat.partitions?.first?.lag == nil)
        #expect(reading.ignored.filter { $0 == .invalidNumber }.count == 4, "\(reading.ignored)")
        #expect(reading.ignored.filter { $0 == .invalidName }.count == 1, "\(reading.ignored)")
    }

    @Test("a heartbeat without a valid service, instance or time is refused whole; without ts it counts as sent on receipt")
    func refused() throws {
        #expect(try Self.read(#"{"v":1,"instance":"i-1"}"#).refused == .malformed)
        #expect(try Self.read(#"{"v":1,"service":"Ingestor!","instance":"i-1"}"#).refused == .invalidName)
        #expect(try Self.read(#"{"v":1,"service":"ingestor","instance":"","ts":1}"#).refused == .invalidName)
        #expect(try Self.read(#"{"v":1,"service":"ingestor","instance":"i-1","ts":-9223372036854775808}"#).refused == .invalidTimestamp)
        #expect(try Self.read(#"{"v":1,"service":"ingestor","instance":"i-1"}"#).heartbeat?.timestamp == Self.now)
    }

    @Test("a backfiller ledger with a negative count is no ledger; an implausible oldest gap reads as none")
    func ledgerBounds() throws {
        let negative = try Self.read(#"{"service":"backfiller","instance":"b","ledger":{"open":-1,"filled":2}}"#)
        #expect(negative.heartbeat?.backfiller != nil && negative.heartbeat?.backfiller?.ledger == nil && negative.ignored == [.invalidNumber])
        let ancient = try Self.read(#"{"service":"backfiller","instance":"b","ledger":{"open":1,"oldest_unfilled_from_ts":5,"minutes_to_repair":3}}"#)
        #expect(ancient.heartbeat?.backfiller?.ledger?.oldestUnfilledFrom == nil && ancient.heartbeat?.backfiller?.ledger?.minutesToRepair == 3)
        #expect(ancient.ignored == [.invalidTimestamp])
    }

    @Test("gap statuses and the errors each role's counters sum are named once")
    func names() {
        #expect(GapStatus.allCases.map(\.rawValue) == ["open", "filling", "failed", "unfillable", "filled"])
        #expect(GapStatus.allCases.filter(\.isQueued) == [.open, .filling, .failed])
        #expect(GapStatus.sqlList([.open, .failed]) == "'open', 'failed'")
        #expect(HeartbeatCounters.errors(of: "ingestor") == ["provider_errors", "delivery_failures", "dropped"])
        #expect(HeartbeatCounters.errors(of: "monitor").isEmpty)
    }
}

/// The `<prefix>rejects` contract: what the writers encode, the decoder reads back.
@Suite("Contracts: rejects")
struct RejectRecordTests {
    @Test("a reject reads back as written: text payloads as UTF-8, binary ones as base64, long ones cut and marked")
    func roundTrip() throws {
        let text = RejectRecord(source: "coinbase", reason: "malformed_json", detail: "unexpected end", receivedAt: 1_795_608_000_000_000_000,
                                payload: Array(#"{"type":"match","price":"#.utf8), instance: "ing-1")
        let binary = RejectRecord(source: "aggregator", stage: .aggregate, reason: "malformed_json", detail: "not UTF-8",
                                  receivedAt: 1_795_608_000_000_000_000, payload: [0xFF, 0xFE, 0x00, 0x41], instance: "agg-1")
        let long = RejectRecord(source: "backfiller", stage: .backfill, reason: "malformed_history", detail: "too long",
                                receivedAt: 1_795_608_000_000_000_000, payload: Array(repeating: UInt8(ascii: "x"), count: 10_000), instance: "bf-1")
        for record in [text, binary, long] {
            #expect(try RejectRecord(json: record.jsonBytes()) == record)
        }
        #expect(long.truncated && long.raw.count == RejectRecord.maxRawBytes && long.rawLength == 10_000)
        #expect(String(decoding: binary.jsonBytes(), as: UTF8.self).contains(#""raw_encoding":"base64""#))
    }

    @Test("a reject whose stage, version or truncation flag is outside the contract is refused")
    func refused() {
        let base = #"{"v":1,"source":"s","stage":"ingest","reason":"r","detail":"d","recv_ts":1,"raw":"x","raw_encoding":"utf8","raw_bytes":1,"truncated":false,"instance":"i"}"#
        #expect(throws: Never.self) { try RejectRecord(json: Array(base.utf8)) }
        for broken in [base.replacingOccurrences(of: #""stage":"ingest""#, with: #""stage":"egress""#),
                       base.replacingOccurrences(of: #""v":1"#, with: #""v":2"#),
                       base.replacingOccurrences(of: #""truncated":false"#, with: #""truncated":true"#)] {
            #expect(throws: ContractError.self) { try RejectRecord(json: Array(broken.utf8)) }
        }
    }
}

/// The `<prefix>alerts` contract.
@Suite("Contracts: alert events")
struct AlertEventTests {
    @Test("an alert event reads back as written; one with an unknown status or severity is refused")
    func roundTrip() throws {
        let event = AlertEvent(id: "stream_stale:coinbase:BTC/USD", rule: "stream_stale", status: .firing, severity: .critical, escalated: true,
                               subject: ["source": "coinbase", "symbol": "BTC/USD"], summary: "coinbase BTC/USD is stale", labels: ["team": "md"],
                               startedAt: 1_795_608_000_000_000_000, at: 1_795_608_300_000_000_000)
        #expect(try AlertEvent(json: event.jsonBytes()) == event)
        let text = String(decoding: event.jsonBytes(), as: UTF8.self)
        #expect(throws: ContractError.self) { try AlertEvent(json: Array(text.replacingOccurrences(of: #""critical""#, with: #""urgent""#).utf8)) }
        #expect(throws: ContractError.self) { try AlertEvent(json: Array(text.replacingOccurrences(of: #""firing""#, with: #""burning""#).utf8)) }
        #expect(AlertSeverity.warning < .critical)
    }
}
