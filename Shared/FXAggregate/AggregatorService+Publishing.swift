import FXContracts
import FXCandles
import FXCore
import FXKafka
import FXPostgres

extension AggregatorService {
    // MARK: Candles topic

    /// Sends rejects to `<prefix>rejects` and waits for every acknowledgement; throws when one is not
    /// delivered (the caller keeps their messages' offsets where they are and retries).
    func deliver(_ rejects: [RejectRecord], producer: KafkaProducer) async throws {
        guard !rejects.isEmpty else { return }
        let results = await producer.send(contentsOf: rejects.map {
            KafkaProducerMessage(topic: topics.rejects, key: Array($0.key.utf8), value: $0.jsonBytes())
        })
        for case .failure(let error) in results { throw error }
    }

    func publish(changed: [CandleRow], producer: KafkaProducer, connection: PostgresConnection) async {
        let wallNow = WallClock.nanoseconds()
        let now = ContinuousClock.now
        var candles: [(candle: CandleRow, final: Bool)] = []
        for candle in changed {
            let watermark = state.withLock { $0.watermark(candle.kafkaPartition, wallNow: wallNow, now: now) }
            if let watermark, candle.end <= watermark {
                candles.append((candle, true))
            } else {
                let due = lastOpenPublish.withLock { last -> Bool in
                    if let previous = last[candle.identity], now - previous < configuration.openUpdateInterval { return false }
                    last[candle.identity] = now
                    return true
                }
                if due { candles.append((candle, false)) }
            }
        }
        await send(candles, producer: producer, connection: connection)
    }

    /// Sends (``CandlePublisher``), which records the acknowledged finals. Finals that failed are sent
    /// again by the next close of their partition (or after a restart).
    private func send(_ candles: [(candle: CandleRow, final: Bool)], producer: KafkaProducer, connection: PostgresConnection) async {
        guard !candles.isEmpty else { return }
        let outcome = await CandlePublisher(producer: producer, topic: topics.candles, store: store.candles).publish(candles, on: connection)
        if outcome.failed > 0, errorLog.allow() { logger.error("\(outcome.failed) candle message(s) not delivered") }
        metrics.candlesPublished.increment(by: outcome.delivered)
        if let error = outcome.recordingError, errorLog.allow() { logger.error("cannot record published finals (they will be sent again): \(error)") }
        guard outcome.recordingError == nil, !outcome.acknowledgedFinals.isEmpty else { return }
        lastOpenPublish.withLock { last in for candle in outcome.acknowledgedFinals { last.removeValue(forKey: candle.identity) } }
    }

    /// Publishes `final: true` for every candle whose bucket ended before its partition's watermark. Runs
    /// when the state asks (a watermark passed a bucket boundary, a partition was assigned) and, for idle
    /// partitions whose watermark follows the wall clock, when the next boundary is due: it parks in
    /// between.
    func closeLoop(connection: PostgresConnection, producer: KafkaProducer) async {
        while !Task.isCancelled {
            let (clockCloses, nextCheck) = state.withLock { $0.dueCloses(wallNow: WallClock.nanoseconds(), now: .now) }
            var closes = requestedCloses.withLock { requested in
                defer { requested = [:] }
                return requested
            }
            for case .close(let partition, let watermark) in clockCloses { closes[partition] = max(closes[partition] ?? .min, watermark) }
            for (partition, watermark) in closes.sorted(by: { $0.key < $1.key }) {
                do {
                    let candles = try await store.candles.unfinalized(partition: partition, watermark: watermark, on: connection)
                    await send(candles.map { ($0, true) }, producer: producer, connection: connection)
                } catch {
                    if errorLog.allow() { logger.error("closing buckets failed: \(error)") }
                }
            }
            if let nextCheck {
                await closeBell.wait(timeout: max(nextCheck, .milliseconds(10)))
            } else {
                await closeBell.wait()
            }
        }
    }
}
