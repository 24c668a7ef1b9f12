import FXContracts
import FXCandles
import FXCore
import FXVenues
import FXKafka
import FXPostgres
import Logging

/// Fills one claimed gap: asks the source's REST history for its minutes page by page (each request under
/// the shared rate limit), writes each page through ``CandleStore/repair(source:symbol:from:to:candles:on:)``,
/// republishes the changed candles on `<prefix>candles`, records minutes without a candle as confirmed
/// empty, and ends the gap `filled`, `unfillable` (the venue refuses this history) or `failed` (retried
/// later with capped backoff). Malformed answers go to `<prefix>rejects` with `stage: backfill`.
struct GapRepairer: Sendable {
    let sources: [String: HistorySource]
    let store: CandleStore
    let fetcher: HistoryFetcher
    let producer: KafkaProducer
    let topics: TopicNames
    let owner: String
    let lease: Duration
    let instance: String
    let metrics: BackfillMetrics
    let logger: Logger

    /// What became of the gap.
    enum Outcome: Equatable {
        case filled(minutes: Int)
        case unfillable(String)
        case failed(String)
        /// The lease went to another owner meanwhile: nothing more is written by this one.
        case leaseLost
    }

    func fill(_ gap: GapLedger.Gap, connection: PostgresConnection) async throws -> Outcome {
        let ledger = GapLedger(connection: connection)
        let outcome = try await repair(gap, ledger: ledger, connection: connection)
        switch outcome {
        case .filled:
            try await ledger.filled(gap.id, owner: owner)
            metrics.filled.increment()
        case .unfillable(let reason):
            try await ledger.unfillable(gap.id, owner: owner, reason: reason)
            metrics.unfillable.increment()
        case .failed(let reason):
            try await ledger.failed(gap.id, owner: owner, error: reason)
            metrics.failed.increment()
        case .leaseLost:
            break
        }
        return outcome
    }

    private func repair(_ gap: GapLedger.Gap, ledger: GapLedger, connection: PostgresConnection) async throws -> Outcome {
        guard let source = sources[gap.source] else {
            return .unfillable("no REST history for source '\(gap.source)'")
        }
        // A window read from the database is bounded before any arithmetic on it (rows written before the
        // intake checked event times could hold anything).
        guard ContractLimits.isPlausibleEventTime(gap.from), ContractLimits.isPlausibleEventTime(gap.to), gap.from <= gap.to else {
            return .unfillable("invalid_timestamp: window \(gap.from) ... \(gap.to) lies outside 2000-01-01 ... 2100-01-01")
        }
        let venueSymbol = gap.venueSymbol ?? source.history.venueSymbol(forCanonical: gap.symbol)
        let first = gap.from / 60_000_000_000 * 60
        let last = gap.to / 60_000_000_000 * 60
        let step = source.history.maxMinutesPerRequest * 60
        var written = 0
        var pageStart = first
        while pageStart <= last {
            try Task.checkCancellation()
            let pageLast = min(last, pageStart + step - 60)
            defer { pageStart = pageLast + 60 }
            let request: HistoryRequest
            do { request = try source.history.historyRequest(base: source.restURL, venueSymbol: venueSymbol, first: pageStart,
                                                             last: pageLast, credential: source.credential) }
            catch { return .failed("\(error)") }
            let outcome: HistoryFetcher.Outcome
            do { outcome = try await fetcher.fetch(request, source: source) }
            catch let error as HistoryFetcher.TransportError { return .failed("\(error)") }
            switch outcome {
            case .malformed(let error, let body):
                await quarantine(error, body: body, gap: gap, request: request)
                return .failed("malformed answer from \(request.redactedURL): \(error)")
            case .answer(.noAccess(let reason)):
                return .unfillable(reason)
            case .answer(.failed(let reason)):
                return .failed(reason)
            case .answer(.candles(let candles)):
                let changed = try await repairRetrying(gap, candles: candles, connection: connection)
                written += changed.filter { $0.timeframe == "1m" }.count
                metrics.minutesRepaired.increment(by: changed.filter { $0.timeframe == "1m" }.count)
                await publish(changed, connection: connection)
                let present = Set(candles.map { $0.start / 1_000_000_000 })
                let empty = stride(from: pageStart, through: pageLast, by: 60).filter { !present.contains($0) }
                try await ledger.confirmEmpty(source: gap.source, symbol: gap.symbol, minutes: empty.map { $0 * 1_000_000_000 })
            }
            guard try await ledger.extend(gap.id, owner: owner, lease: lease) else { return .leaseLost }
        }
        logger.info("gap repaired", metadata: ["source": .string(gap.source), "symbol": .string(gap.symbol),
                                               "gap": .stringConvertible(gap.id), "minutes_written": .stringConvertible(written)])
        return .filled(minutes: written)
    }

    /// One page through the store; a deadlock or serialization failure (concurrent repairs of other
    /// symbols creating the same TimescaleDB chunks, for instance) runs the transaction again.
    private func repairRetrying(_ gap: GapLedger.Gap, candles: [HistoryCandle], connection: PostgresConnection) async throws -> [CandleRow] {
        var attempt = 0
        while true {
            do {
                return try await store.repair(source: gap.source, symbol: gap.symbol, from: gap.from, to: gap.to,
                                              candles: candles, on: connection)
            } catch let error as PostgresError where [SQLState.deadlockDetected, .serializationFailure].contains(error.sqlState) && attempt < 8 {
                attempt += 1
                metrics.transactionRetries.increment()
                try await Task.sleep(for: .milliseconds(Int.random(in: 10...100) * attempt))
            }
        }
    }

    /// Publishes repaired candles (`final` once their bucket has ended) and records the finals sent.
    private func publish(_ changed: [CandleRow], connection: PostgresConnection) async {
        guard !changed.isEmpty else { return }
        let now = WallClock.nanoseconds()
        let outcome = await CandlePublisher(producer: producer, topic: topics.candles, store: store)
            .publish(changed.map { ($0, $0.end <= now) }, on: connection)
        metrics.candlesPublished.increment(by: outcome.delivered)
        if outcome.failed > 0 {
            logger.error("some repaired candles were not delivered to Kafka; the aggregator republishes unfinalized candles of its partitions")
        }
        if let error = outcome.recordingError { logger.error("cannot record published finals: \(error)") }
    }

    private func quarantine(_ error: HistoryAnswerError, body: [UInt8], gap: GapLedger.Gap, request: HistoryRequest) async {
        metrics.rejects.increment()
        let reject = RejectRecord(source: gap.source, stage: "backfill", reason: error.reason,
                                  detail: "\(error.detail) (\(request.redactedURL))", receivedAt: WallClock.nanoseconds(),
                                  payload: body, instance: instance, key: "\(gap.source):\(gap.symbol)")
        let results = await producer.send(contentsOf: [KafkaProducerMessage(topic: topics.rejects, key: Array(reject.key.utf8),
                                                                            value: reject.jsonBytes())])
        if case .failure = results.first { logger.error("a malformed history answer could not be quarantined: \(error)") }
    }
}
