import FXCore
import FXKafka
import FXPostgres

/// Publishes candle rows on `<prefix>candles`, then records in `candles.final_revision` the finals Kafka
/// acknowledged: the one sequence the aggregator's flushes and closes and the backfiller's repairs share.
/// A final that was not acknowledged stays unrecorded, so the aggregator's next close of its partition (or
/// a restart) sends it again.
public struct CandlePublisher: Sendable {
    public let producer: KafkaProducer
    /// The full candles topic name (`<prefix>candles`).
    public let topic: String
    public let store: CandleStore

    public init(producer: KafkaProducer, topic: String, store: CandleStore) {
        self.producer = producer
        self.topic = topic
        self.store = store
    }

    /// What became of one publication.
    public struct Outcome: Sendable {
        /// Messages Kafka acknowledged.
        public var delivered = 0
        /// Messages not delivered (finals among them are sent again later).
        public var failed = 0
        /// The acknowledged finals, recorded as published unless ``recordingError`` is set.
        public var acknowledgedFinals: [CandleRow] = []
        /// Why the acknowledged finals could not be recorded (they will be sent again).
        public var recordingError: (any Error)?
    }

    /// The message of one candle revision.
    public func message(_ candle: CandleRow, final: Bool) -> KafkaProducerMessage {
        KafkaProducerMessage(topic: topic, key: Array(candle.key.utf8), value: candle.jsonBytes(final: final))
    }

    /// Sends every candle (each `final` or not) and waits for the acknowledgements; then records the
    /// acknowledged finals.
    public func publish(_ candles: [(candle: CandleRow, final: Bool)], on connection: PostgresConnection) async -> Outcome {
        var outcome = Outcome()
        guard !candles.isEmpty else { return outcome }
        let results = await producer.send(contentsOf: candles.map { message($0.candle, final: $0.final) })
        for (entry, result) in zip(candles, results) {
            switch result {
            case .success:
                outcome.delivered += 1
                if entry.final { outcome.acknowledgedFinals.append(entry.candle) }
            case .failure:
                outcome.failed += 1
            }
        }
        guard !outcome.acknowledgedFinals.isEmpty else { return outcome }
        do { try await store.markFinal(outcome.acknowledgedFinals, on: connection) }
        catch { outcome.recordingError = error }
        return outcome
    }
}
