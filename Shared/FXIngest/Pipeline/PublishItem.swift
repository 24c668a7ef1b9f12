import FXContracts
import FXCore
import FXKafka

/// One message on its way to Kafka, with what the publisher needs to account for it.
public struct PublishItem: Sendable {
    public enum Kind: Sendable {
        /// A tick: on delivery failure it becomes part of a `delivery` gap.
        case tick(source: String, symbol: String, venueSymbol: String, ts: Int64)
        /// A gap event: retried on failure (it is the record of a hole).
        case gap(GapEvent)
        case reject(reason: String)
        case health
        /// A fleet's shard checkpoint (the control topic).
        case control
        /// An order book message: one lost leaves a hole in the symbol's `seq` that consumers see; the
        /// symbol's next periodic snapshot gives them the whole book again.
        case book(source: String, symbol: String)
        /// A hot-layer value (or tombstone): superseded by the symbol's next one, so a loss is only counted.
        case latest
    }

    public var message: KafkaProducerMessage
    public var kind: Kind
    /// When the frame that produced it was received (monotonic), for frame-to-ack latency.
    public var receivedAt: ContinuousClock.Instant?
    public var attempts = 0

    public init(message: KafkaProducerMessage, kind: Kind, receivedAt: ContinuousClock.Instant? = nil) {
        self.message = message
        self.kind = kind
        self.receivedAt = receivedAt
    }

    public static func tick(_ tick: Tick, topics: TopicNames, receivedAt: ContinuousClock.Instant?) -> PublishItem {
        PublishItem(message: KafkaProducerMessage(topic: topics.ticks, key: tick.keyBytes, value: tick.jsonBytes()),
                    kind: .tick(source: tick.source, symbol: tick.symbol, venueSymbol: tick.venueSymbol, ts: tick.timestamp),
                    receivedAt: receivedAt)
    }

    public static func gap(_ gap: GapEvent, topics: TopicNames) -> PublishItem {
        PublishItem(message: KafkaProducerMessage(topic: topics.gaps, key: Array(gap.key.utf8), value: gap.jsonBytes()),
                    kind: .gap(gap))
    }

    public static func book(_ book: BookMessage, topics: TopicNames, receivedAt: ContinuousClock.Instant?) -> PublishItem {
        PublishItem(message: KafkaProducerMessage(topic: topics.books, key: Array(book.key.utf8), value: book.jsonBytes()),
                    kind: .book(source: book.source, symbol: book.symbol), receivedAt: receivedAt)
    }

    public static func latest(_ value: LatestQuote, topics: TopicNames) -> PublishItem {
        PublishItem(message: KafkaProducerMessage(topic: topics.latest, key: Array(value.key.utf8), value: value.jsonBytes()), kind: .latest)
    }

    /// A tombstone for `key` (`source:symbol`) on the hot layer: the symbol is no longer streamed.
    public static func latestTombstone(_ key: String, topics: TopicNames) -> PublishItem {
        PublishItem(message: .tombstone(topic: topics.latest, key: Array(key.utf8)), kind: .latest)
    }

    public static func reject(_ record: RejectRecord, topics: TopicNames) -> PublishItem {
        PublishItem(message: KafkaProducerMessage(topic: topics.rejects, key: Array(record.key.utf8), value: record.jsonBytes()),
                    kind: .reject(reason: record.reason))
    }
}
