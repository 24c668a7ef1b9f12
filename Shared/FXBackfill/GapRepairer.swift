import FXContracts
import FXCandles
import FXCore
import FXVenues
import FXKafka
import FXPostgres
import Logging

/// Fills one claimed gap by carrying out what its ``GapRepair`` decides: asks the source's REST history
/// for its minutes page by page (each request under the shared rate limit), writes each page through
/// ``CandleStore/repair(source:symbol:from:to:candles:on:)``, republishes the changed candles on
/// `<prefix>candles`, records minutes without a candle as confirmed empty, renews the lease, and ends the
/// gap `filled`, `unfillable` (the venue refuses this history) or `failed` (retried later with capped
/// backoff). Malformed answers go to `<prefix>rejects` with `stage: backfill`.
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

    /// Repairs `gap`, claimed at `claimedAt` (the lease clock's reading taken before the claim was sent),
    /// and records the outcome in the ledger. An error of its own (the database refusing a write, for
    /// instance) ends the gap `failed` (if even that cannot be recorded, the lease ends and the gap is
    /// claimed again). Throws only `CancellationError`: the gap then keeps its lease and is claimed
    /// again when it ends.
    func fill(_ gap: GapLedger.Gap, claimedAt: ContinuousClock.Instant, connection: PostgresConnection) async throws -> GapRepair.Outcome {
        let ledger = GapLedger(connection: connection)
        var repair = GapRepair(gap: gap, source: sources[gap.source], lease: lease, claimedAt: claimedAt)
        var action = repair.start()
        while true {
            if case .finish(let outcome) = action {
                do {
                    try await record(outcome, gap: gap, ledger: ledger)
                } catch {
                    if Task.isCancelled { throw CancellationError() }
                    logger.error("cannot record the gap's outcome (its lease ends and it is claimed again): \(error)",
                                 metadata: ["gap": .stringConvertible(gap.id)])
                }
                return outcome
            }
            do {
                action = try await perform(action, repair: &repair, gap: gap, ledger: ledger, connection: connection)
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.error("gap repair failed: \(error)", metadata: ["gap": .stringConvertible(gap.id)])
                action = repair.interrupted(by: "\(error)")
            }
        }
    }

    /// Carries out one action and reports its result to `repair`: the next action.
    private func perform(_ action: GapRepair.Action, repair: inout GapRepair, gap: GapLedger.Gap, ledger: GapLedger,
                         connection: PostgresConnection) async throws -> GapRepair.Action {
        switch action {
        case .fetch(let request):
            try Task.checkCancellation()
            guard let source = repair.source else { return repair.fetchFailed("no REST history for source '\(gap.source)'") }
            do {
                let answer = try await fetcher.fetch(request, source: source)
                return repair.answered(answer, now: .now)
            } catch let error as HistoryFetcher.TransportError {
                return repair.fetchFailed("\(error)")
            }
        case .quarantine(let error, let body, let request):
            await quarantine(error, body: body, gap: gap, request: request)
            return repair.quarantined()
        case .write(let candles, let emptyMinutes):
            let changed = try await repairRetrying(gap, candles: candles, connection: connection)
            let minutes = changed.filter { $0.timeframe == "1m" }.count
            metrics.minutesRepaired.increment(by: minutes)
            await publish(changed, connection: connection)
            try await ledger.confirmEmpty(source: gap.source, symbol: gap.symbol, minutes: emptyMinutes)
            return repair.written(minutes: minutes)
        case .extendLease:
            let asked = ContinuousClock.now
            return repair.leaseExtended(try await ledger.extend(gap.id, owner: owner, lease: lease), now: asked)
        case .finish:
            return action
        }
    }

    /// Records the outcome in the ledger (nothing for a lost lease) and counts it.
    private func record(_ outcome: GapRepair.Outcome, gap: GapLedger.Gap, ledger: GapLedger) async throws {
        switch outcome {
        case .filled(let minutes):
            try await ledger.filled(gap.id, owner: owner)
            metrics.filled.increment()
            logger.info("gap repaired", metadata: ["source": .string(gap.source), "symbol": .string(gap.symbol),
                                                   "gap": .stringConvertible(gap.id), "minutes_written": .stringConvertible(minutes)])
        case .unfillable(let reason):
            try await ledger.unfillable(gap.id, owner: owner, reason: reason)
            metrics.unfillable.increment()
        case .failed(let reason, let retryIn):
            try await ledger.failed(gap.id, owner: owner, error: reason, retryIn: retryIn)
            metrics.failed.increment()
        case .leaseLost:
            break
        }
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
        let reject = RejectRecord(source: gap.source, stage: .backfill, reason: error.reason,
                                  detail: "\(error.detail) (\(request.redactedURL))", receivedAt: WallClock.nanoseconds(),
                                  payload: body, instance: instance, key: "\(gap.source):\(gap.symbol)")
        let results = await producer.send(contentsOf: [KafkaProducerMessage(topic: topics.rejects, key: Array(reject.key.utf8),
                                                                            value: reject.jsonBytes())])
        if case .failure = results.first { logger.error("a malformed history answer could not be quarantined: \(error)") }
    }
}
