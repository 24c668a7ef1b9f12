import FXCore

extension Heartbeat {
    /// Why a reader set a heartbeat, or a part of one, aside.
    public enum Problem: String, Sendable, Equatable {
        /// Not JSON, or `service`/`instance` missing.
        case malformed
        /// A `service`, `instance`, connection `id`/`source` or topic outside its contract.
        case invalidName = "invalid_name"
        /// A time outside 2000-01-01 ... 2100-01-01.
        case invalidTimestamp = "invalid_timestamp"
        /// A negative counter, an out-of-range partition, a negative ledger count.
        case invalidNumber = "invalid_number"
    }

    /// What ``read(_:receivedAt:)`` made of a message: the heartbeat (nil when the whole message is refused,
    /// see `refused`), and each part it left out and why.
    public struct Reading: Sendable {
        public var heartbeat: Heartbeat?
        public var refused: Problem?
        public var ignored: [Problem] = []
    }

    /// At most this many connections, partitions and counters are read from one heartbeat.
    public static let maxConnections = 256
    public static let maxPartitions = 1_024
    public static let maxCounters = 256

    /// Reads a heartbeat: the envelope must hold (`service` 1-32 of `a-z0-9_-`, `instance` 1-253 bytes
    /// without control characters, `ts` a plausible time; a heartbeat without `ts` counts as sent at
    /// `receivedAt`); a part outside the contract is left out and named in `ignored`, the rest is kept.
    public static func read(_ message: JSONValue, receivedAt: Int64) -> Reading {
        guard let service = message["service"]?.stringValue, let instance = message["instance"]?.stringValue else {
            return Reading(heartbeat: nil, refused: .malformed)
        }
        guard isValidService(service), isValidInstance(instance) else { return Reading(heartbeat: nil, refused: .invalidName) }
        let timestamp = message["ts"]?.int64Value ?? receivedAt
        guard ContractLimits.isPlausibleEventTime(timestamp) else { return Reading(heartbeat: nil, refused: .invalidTimestamp) }
        var ignored: [Problem] = []
        let startedAt = message["started_ts"]?.int64Value.flatMap { ContractLimits.isPlausibleEventTime($0) ? $0 : nil }
        var beat = Heartbeat(service: service, instance: instance, timestamp: timestamp, startedAt: startedAt)
        beat.stopping = message["stopping"]?.boolValue == true
        if case .object(let members)? = message["counters"] {
            for (name, value) in members.sorted(by: { $0.key < $1.key }).prefix(maxCounters) {
                guard let number = value.int64Value else { continue }
                guard number >= 0 else { ignored.append(.invalidNumber); continue }
                beat.counters.append(Counter(name, number))
            }
        }
        if case .object(let members)? = message["latency"] {
            for (measure, sample) in members.sorted(by: { $0.key < $1.key }).prefix(8) {
                beat.latency.append(Latency(measure, LatencySample(json: sample)))
            }
        }
        if let partitions = message["partitions"]?.arrayValue {
            beat.partitions = partitions.prefix(maxPartitions).compactMap { partition in
                guard let number = partition["partition"]?.int64Value, number >= 0, number <= Int64(Int32.max),
                      let topic = partition["topic"]?.stringValue, isValidTopic(topic) else {
                    ignored.append(.invalidNumber)
                    return nil
                }
                func count(_ name: String) -> Int64? { partition[name]?.int64Value.flatMap { $0 >= 0 ? $0 : nil } }
                let fencing = partition["generation"]?.int64Value.map { generation in
                    Partition.Fencing(generation: generation, pending: count("pending") ?? 0,
                                      watermarkTs: partition["watermark_ts"]?.int64Value.flatMap { ContractLimits.isPlausibleEventTime($0) ? $0 : nil })
                }
                return Partition(topic: topic, partition: Int32(number), consumedOffset: count("consumed_offset"),
                                 highWatermark: count("high_watermark"), lag: count("lag"), fencing: fencing)
            }
        }
        if let connections = message["connections"]?.arrayValue {
            beat.ingestor = IngestorSection(connections: connections.prefix(maxConnections).compactMap { connection in
                readConnection(connection, ignored: &ignored)
            }, queueDepth: max(0, message["queue_depth"]?.int64Value ?? 0), circuits: readCircuits(message["circuits"]),
               fleet: readFleet(message["fleet"], ignored: &ignored))
        }
        if let milliseconds = message["last_flush_ms"]?.decimal {
            beat.aggregator = AggregatorSection(lastFlushMillis: milliseconds)
        }
        if let ledger = message["ledger"] {
            beat.backfiller = BackfillerSection(ledger: ledger.isNull ? nil : readLedger(ledger, ignored: &ignored))
        }
        return Reading(heartbeat: beat, refused: nil, ignored: ignored)
    }

    static func readConnection(_ connection: JSONValue, ignored: inout [Problem]) -> Connection? {
        guard let source = connection["source"]?.stringValue, let id = connection["id"]?.stringValue else { return nil }
        guard ContractLimits.isValidSource(source), ContractLimits.isValidVenueSymbol(id) else {
            ignored.append(.invalidName)
            return nil
        }
        var reconnects: Int64? = connection["reconnects"]?.int64Value ?? 0
        if let value = reconnects, value < 0 {
            ignored.append(.invalidNumber)
            reconnects = nil
        }
        func count(_ name: String) -> Int64 { min(max(connection[name]?.int64Value ?? 0, 0), Int64(Int32.max)) }
        let state = connection["state"]?.stringValue.flatMap { ContractLimits.isValidSource($0) ? ConnectionState(rawValue: $0) : nil }
        let lastError = connection["last_error"]?.stringValue.map { String($0.prefix(300)) }
        var marketClosed: [String: String] = [:]
        let closed: [String: JSONValue] = if case .object(let members)? = connection["market_closed"] { members } else { [:] }
        for (symbol, reason) in closed.sorted(by: { $0.key < $1.key }).prefix(Connection.maxMarketClosed) {
            guard ContractLimits.isValidSymbol(symbol), let reason = reason.stringValue else { ignored.append(.invalidName); continue }
            marketClosed[symbol] = String(reason.prefix(100))
        }
        var books: [Book] = []
        for entry in (connection["books"]?.arrayValue ?? []).prefix(Book.maxPerConnection) {
            if let book = Book.read(entry) { books.append(book) } else { ignored.append(.invalidName) }
        }
        var read = Connection(id: id, source: source, state: state, symbols: count("symbols"), messages: max(connection["messages"]?.int64Value ?? 0, 0),
                              lastMessageTs: connection["last_message_ts"]?.int64Value.flatMap { ContractLimits.isPlausibleEventTime($0) ? $0 : nil },
                              reconnects: reconnects, staleSymbols: count("stale_symbols"), openGaps: count("open_gaps"), lastError: lastError,
                              marketClosed: marketClosed)
        read.books = books
        return read
    }

    /// An ingestor's fleet part; nil (named) when a field is outside the contract.
    static func readFleet(_ value: JSONValue?, ignored: inout [Problem]) -> Fleet? {
        guard let value, !value.isNull else { return nil }
        guard let group = value["group"]?.stringValue, ContractLimits.isValidSource(group),
              let redundancy = value["redundancy"]?.int64Value, (1...16).contains(redundancy),
              let count = value["shard_count"]?.int64Value, (0...100_000).contains(count),
              let shards = value["shards"]?.arrayValue, shards.count <= maxConnections else {
            ignored.append(.invalidNumber)
            return nil
        }
        let ids = shards.compactMap { $0.stringValue.flatMap { ContractLimits.isValidVenueSymbol($0) ? $0 : nil } }
        guard ids.count == shards.count else {
            ignored.append(.invalidName)
            return nil
        }
        return Fleet(group: group, redundancy: redundancy, shardCount: count, shards: ids)
    }

    static func readCircuits(_ value: JSONValue?) -> [Circuit] {
        guard case .object(let members)? = value else { return [] }
        return members.sorted { $0.key < $1.key }.prefix(maxConnections).compactMap { provider, state in
            guard ContractLimits.isValidSource(provider), let state = state.stringValue, ContractLimits.isValidSource(state) else { return nil }
            return Circuit(provider: provider, state: state)
        }
    }

    /// A backfiller's ledger; nil when a count is negative (an implausible oldest time reads as none, and is named).
    static func readLedger(_ ledger: JSONValue, ignored: inout [Problem]) -> Ledger? {
        var byStatus: [GapStatus: Int64] = [:]
        for status in GapStatus.allCases {
            let value = ledger[status.rawValue]?.int64Value ?? 0
            guard value >= 0 else { ignored.append(.invalidNumber); return nil }
            byStatus[status] = value
        }
        let minutes = ledger["minutes_to_repair"]?.int64Value ?? 0
        guard minutes >= 0 else { ignored.append(.invalidNumber); return nil }
        var oldest = ledger["oldest_unfilled_from_ts"]?.int64Value
        if let value = oldest, !ContractLimits.isPlausibleEventTime(value) {
            ignored.append(.invalidTimestamp)
            oldest = nil
        }
        return Ledger(byStatus: byStatus, oldestUnfilledFrom: oldest, minutesToRepair: minutes)
    }

    /// A service name: the characters of a `source` (1-32 of `a-z0-9_-`).
    public static func isValidService(_ name: String) -> Bool { ContractLimits.isValidSource(name) }

    /// An instance name (a pod name, a host name): 1-253 bytes without control characters.
    public static func isValidInstance(_ name: String) -> Bool {
        !name.isEmpty && (try? ContractLimits.checkText(name, field: "instance", maxBytes: ContractLimits.maxInstanceBytes)) != nil
    }

    /// A Kafka topic name: 1-249 bytes of `a-z A-Z 0-9 . _ -`.
    public static func isValidTopic(_ name: String) -> Bool {
        let bytes = name.utf8
        return !bytes.isEmpty && bytes.count <= 249 && bytes.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}

extension LatencySample {
    /// A sample read back from a heartbeat; missing or malformed values read as 0, malformed buckets are skipped.
    public init(json: JSONValue) {
        func value(_ name: String) -> UInt64 { UInt64(Swift.max(0, json[name]?.int64Value ?? 0)) }
        self.init(count: value("count"), p50: value("p50_us"), p90: value("p90_us"), p99: value("p99_us"), p999: value("p999_us"),
                  max: value("max_us"), buckets: Self.buckets(of: json).map { [$0.micros, $0.count] })
    }
}
