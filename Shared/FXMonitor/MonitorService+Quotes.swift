import FXContracts
import FXCore
import FXKafka
import ServiceLifecycle

extension MonitorService {
    /// Reads the compacted `<prefix>latest` topic from its beginning (every start: the monitor commits
    /// nothing) into ``QuoteBoard``, for `GET /api/quotes` and the status page.
    struct QuoteIntake: Service {
        let service: MonitorService
        let consumer: KafkaConsumer

        /// Returns at graceful shutdown; a consumer that fails otherwise ends the monitor (exit non-zero),
        /// like the main intake.
        func run() async throws {
            do {
                try await cancelWhenGracefulShutdown {
                    for try await event in consumer.events {
                        guard case .message(let message) = event else { continue }
                        service.applyLatest(key: message.keyString ?? "", value: message.value, tombstone: message.isTombstone)
                    }
                }
            } catch {
                if Task.isShuttingDownGracefully { return }
                service.logger.critical("monitor stops: the latest topic's consumer failed: \(error)")
                throw MonitorError(code: .consumerFailed, detail: "the latest topic's consumer failed: \(error)")
            }
        }
    }

    /// Applies one message of the latest topic (public for tools and tests).
    public func applyLatest(key: String, value: [UInt8], tombstone: Bool) {
        let quote: LatestQuote?
        if tombstone {
            quote = nil
        } else {
            do { quote = try LatestQuote(json: value) } catch {
                ignored.record(.malformed, topic: topics.latest)
                return
            }
        }
        if !quotes.withLock({ $0.apply(key: key, value: quote) }) { ignored.record(.streamCap, topic: topics.latest) }
    }

    /// The consumer of the latest topic: a group of its own, always from the beginning.
    func makeQuoteConsumer() throws -> KafkaConsumer {
        var properties = kafka
        properties.properties["auto.offset.reset"] = "earliest"
        properties.properties["enable.partition.eof"] = "false"
        return try KafkaConsumer(configuration: properties, groupID: "\(topics.prefix)monitor-latest.\(instance)", topics: [topics.latest],
                                 rebalanceHandler: KafkaRebalanceHandler(partitionsAssigned: { partitions in
                                     Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) })
                                 }), bufferCapacity: 1_000, logger: logger)
    }
}
