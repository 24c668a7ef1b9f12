import FXCore

/// One message of `<prefix>health` (schema version 1, key `<service>:<instance>`): the envelope every
/// service sends every `health_interval`, with the sections of its role. ``jsonBytes()`` is the one
/// encoder (ingestor, aggregator, backfiller) and ``read(_:receivedAt:)`` the one decoder (the monitor,
/// tests, tools).
///
/// Envelope: `v`, `service`, `instance`, `ts` (ns), `started_ts`, `counters` (`{name: total}`, the same
/// totals as the instance's `/metrics`), `latency` (`{measure: sample}`: `receive_to_ack` from the
/// ingestor, `tick_to_candle` from the aggregator), `stopping` (`true` only in the last heartbeat of an
/// instance stopping gracefully). Sections: `partitions` (consumers: the aggregator and the backfiller),
/// the ingestor's `connections`, `queue_depth` and `circuits`, the aggregator's `last_flush_ms`, the
/// backfiller's `ledger`.
public struct Heartbeat: Sendable, Equatable {
    public static let version: Int64 = 1

    public var service: String
    public var instance: String
    /// When it was sent (ns since the epoch).
    public var timestamp: Int64
    /// When the instance started (ns).
    public var startedAt: Int64?
    /// Totals since the instance started, in the order the service lists them.
    public var counters: [Counter] = []
    /// Latency samples of the service's own stages since its previous heartbeat.
    public var latency: [Latency] = []
    /// The partitions this instance consumes (nil: the service consumes none).
    public var partitions: [Partition]?
    public var ingestor: IngestorSection?
    public var aggregator: AggregatorSection?
    public var backfiller: BackfillerSection?
    /// The last heartbeat of an instance stopping gracefully: the monitor forgets it instead of reporting it missing.
    public var stopping = false

    public init(service: String, instance: String, timestamp: Int64, startedAt: Int64?) {
        self.service = service
        self.instance = instance
        self.timestamp = timestamp
        self.startedAt = startedAt
    }

    /// The message key: `<service>:<instance>`.
    public var key: String { "\(service):\(instance)" }

    /// The value of the counter `name`, nil when not reported.
    public func counter(_ name: String) -> Int64? {
        counters.first { $0.name == name }?.value
    }

    public struct Counter: Sendable, Equatable {
        public var name: String
        public var value: Int64

        public init(_ name: String, _ value: Int64) {
            self.name = name
            self.value = value
        }
    }

    public struct Latency: Sendable, Equatable {
        /// `receive_to_ack` or `tick_to_candle`.
        public var measure: String
        public var sample: LatencySample

        public init(_ measure: String, _ sample: LatencySample) {
            self.measure = measure
            self.sample = sample
        }
    }

    /// One consumed partition: `topic`, `partition`, `consumed_offset`, `high_watermark`, `lag` (null while
    /// unknown), and for the aggregator also `generation`, `pending` and `watermark_ts`.
    public struct Partition: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var consumedOffset: Int64?
        public var highWatermark: Int64?
        public var lag: Int64?
        public var fencing: Fencing?

        public init(topic: String, partition: Int32, consumedOffset: Int64?, highWatermark: Int64?, lag: Int64?, fencing: Fencing? = nil) {
            self.topic = topic
            self.partition = partition
            self.consumedOffset = consumedOffset
            self.highWatermark = highWatermark
            self.lag = lag
            self.fencing = fencing
        }

        /// The aggregator's lease of the partition: its `generation`, the ticks `pending` a flush and the
        /// partition's event-time `watermark_ts`.
        public struct Fencing: Sendable, Equatable {
            public var generation: Int64
            public var pending: Int64
            public var watermarkTs: Int64?

            public init(generation: Int64, pending: Int64, watermarkTs: Int64?) {
                self.generation = generation
                self.pending = pending
                self.watermarkTs = watermarkTs
            }
        }
    }

    /// The ingestor's section: one entry per WebSocket connection, its publish queue, its circuit breakers.
    public struct IngestorSection: Sendable, Equatable {
        public var connections: [Connection]
        public var queueDepth: Int64
        /// `(provider, state)`: `closed`, `open` or `half_open`.
        public var circuits: [Circuit]
        /// The instance's part of its fleet (absent when it streams its whole configuration alone).
        public var fleet: Fleet?

        public init(connections: [Connection], queueDepth: Int64, circuits: [Circuit], fleet: Fleet? = nil) {
            self.connections = connections
            self.queueDepth = queueDepth
            self.circuits = circuits
            self.fleet = fleet
        }
    }

    /// An ingestor in a fleet: its group, the fleet's redundancy, how many shards the fleet has and
    /// which of them this instance streams now (shard ids, e.g. `coinbase-0`).
    public struct Fleet: Sendable, Equatable {
        public var group: String
        public var redundancy: Int64
        public var shardCount: Int64
        public var shards: [String]

        public init(group: String, redundancy: Int64, shardCount: Int64, shards: [String]) {
            self.group = group
            self.redundancy = redundancy
            self.shardCount = shardCount
            self.shards = shards
        }
    }

    public struct Circuit: Sendable, Equatable {
        public var provider: String
        public var state: String

        public init(provider: String, state: String) {
            self.provider = provider
            self.state = state
        }
    }

    /// One ingestor connection: `id`, `source`, `state` (``ConnectionState``), `symbols`, `messages`,
    /// `last_message_ts`, `reconnects`, `stale_symbols`, `open_gaps`, `last_error`.
    public struct Connection: Sendable, Equatable {
        public var id: String
        public var source: String
        /// Nil when a reader found a value outside the contract.
        public var state: ConnectionState?
        public var symbols: Int64
        public var messages: Int64
        public var lastMessageTs: Int64?
        /// Nil when a reader found a value outside the contract.
        public var reconnects: Int64?
        public var staleSymbols: Int64
        public var openGaps: Int64
        public var lastError: String?
        /// Symbols whose venue says their market is closed (canonical symbol -> the venue's reason), e.g.
        /// OANDA's `tradeable: false`: quiet, not stale. At most ``maxMarketClosed`` entries.
        public var marketClosed: [String: String]
        public static let maxMarketClosed = 1_000
        /// The order books this connection keeps (venues with books; empty otherwise).
        public var books: [Book] = []

        public init(id: String, source: String, state: ConnectionState?, symbols: Int64, messages: Int64, lastMessageTs: Int64?,
                    reconnects: Int64?, staleSymbols: Int64, openGaps: Int64, lastError: String?, marketClosed: [String: String] = [:]) {
            self.marketClosed = marketClosed
            self.id = id
            self.source = source
            self.state = state
            self.symbols = symbols
            self.messages = messages
            self.lastMessageTs = lastMessageTs
            self.reconnects = reconnects
            self.staleSymbols = staleSymbols
            self.openGaps = openGaps
            self.lastError = lastError
        }
    }

    /// The aggregator's section: how long its last flush transaction took.
    public struct AggregatorSection: Sendable, Equatable {
        /// Milliseconds, exact decimal text (e.g. `12.345`).
        public var lastFlushMillis: DecimalText

        public init(lastFlushMillis: DecimalText) {
            self.lastFlushMillis = lastFlushMillis
        }
    }

    /// The backfiller's section: the gap ledger's state, nil when the database could not be asked.
    public struct BackfillerSection: Sendable, Equatable {
        public var ledger: Ledger?

        public init(ledger: Ledger?) {
            self.ledger = ledger
        }
    }

    /// Gaps per ``GapStatus``, the start of the oldest gap not yet filled, the minutes still to repair.
    public struct Ledger: Sendable, Equatable {
        public var byStatus: [GapStatus: Int64]
        public var oldestUnfilledFrom: Int64?
        public var minutesToRepair: Int64

        public init(byStatus: [GapStatus: Int64], oldestUnfilledFrom: Int64?, minutesToRepair: Int64) {
            self.byStatus = byStatus
            self.oldestUnfilledFrom = oldestUnfilledFrom
            self.minutesToRepair = minutesToRepair
        }
    }
}
