import FXContracts
import FXCandles
import FXCore
import FXKafka
import FXPostgres
import ServiceLifecycle

/// The aggregator's loops, as the last service of its child group: consuming, flushing, closing
/// buckets, maintenance and heartbeats. Every loop parks until it has work (a ``Doorbell``) or until a
/// timer it needs (flush interval, idle close, maintenance, heartbeat): nothing polls. At graceful
/// shutdown it stops consuming and writes what is pending.
struct AggregatorPipeline: Service {
    let service: AggregatorService
    let connection: PostgresConnection
    let producer: KafkaProducer
    let consumer: KafkaConsumer
    let intake: TickIntake

    func run() async throws {
        // The tick stream ending (or failing) ends the service with that error: the process exits non-zero
        // and is restarted, instead of staying up consuming nothing.
        let streamEnd: (any Error)?
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await service.consume(consumer, intake: intake) }
                    group.addTask { await service.flushLoop(connection: connection, producer: producer, consumer: consumer) }
                    group.addTask { await service.closeLoop(connection: connection, producer: producer) }
                    group.addTask { await service.maintenanceLoop(connection: connection) }
                    group.addTask { await service.healthLoop(producer: producer, consumer: consumer) }
                }
            }
            streamEnd = nil
        } catch is CancellationError {
            streamEnd = nil
        } catch {
            streamEnd = error
        }
        // Graceful stop: write what is pending (a few attempts). Publishing waits at most 3 s: finals not
        // acknowledged by then are sent again after a restart.
        for _ in 0..<3 {
            let outcome = await withTaskGroup(of: AggregatorService.FlushOutcome?.self) { group in
                group.addTask { await service.flushOnce(connection: connection, producer: producer, consumer: consumer) }
                group.addTask {
                    try? await Task.sleep(for: .seconds(3))
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                var outcome = first
                for await other in group where outcome == nil { outcome = other }
                return outcome
            }
            if outcome != .failed { break }
            try? await Task.sleep(for: .milliseconds(500))
        }
        if let streamEnd { throw streamEnd }
    }
}

/// The consumer's stream of ticks ended while the service was running (the cause, when it failed).
struct TickStreamEnded: Error, CustomStringConvertible {
    var cause: (any Error)?
    var description: String { cause.map { "the tick stream failed: \($0)" } ?? "the tick stream ended" }
}

extension AggregatorService {
    // MARK: Consuming

    /// Runs while the consumer gives its messages to `intake` (on its poll thread); returns when cancelled
    /// (graceful shutdown), after which nothing more is applied. The consumer's events carry only its end:
    /// an end or a failure while running, or a failed retention report, throws ``TickStreamEnded``.
    func consume(_ consumer: KafkaConsumer, intake: TickIntake) async throws {
        defer { intake.stop() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in consumer.events {}
                    if !Task.isCancelled { throw TickStreamEnded(cause: nil) }
                }
                group.addTask { throw TickStreamEnded(cause: try await intake.failed.wait()) }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
            return
        } catch let ended as TickStreamEnded {
            if Task.isCancelled { return }
            logger.error("\(ended.description) while the aggregator was running")
            throw ended
        } catch {
            if Task.isCancelled { return }
            logger.error("tick stream failed: \(error)")
            throw TickStreamEnded(cause: error)
        }
    }

    // MARK: Flushing

    enum FlushOutcome: Sendable { case idle, written, failed }

    /// Parks until ticks are pending, then flushes when `flushMaxTicks` are pending or `flushInterval`
    /// has passed since the oldest of them was consumed, whichever comes first (ticks consumed during a
    /// slow flush are not made to wait a whole interval more).
    func flushLoop(connection: PostgresConnection, producer: KafkaProducer, consumer: KafkaConsumer) async {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(10))
        while !Task.isCancelled {
            let (pending, full, since) = state.withLock { ($0.hasPending, $0.pendingCount >= configuration.flushMaxTicks, $0.pendingSince) }
            if !pending {
                await flushBell.wait()
                continue
            }
            if !full {
                let deadline = (since ?? .now) + configuration.flushInterval
                while ContinuousClock.now < deadline, !Task.isCancelled, state.withLock({ $0.pendingCount < configuration.flushMaxTicks }) {
                    await flushBell.wait(timeout: deadline - .now)
                }
            }
            if Task.isCancelled { return }
            switch await flushOnce(connection: connection, producer: producer, consumer: consumer) {
            case .failed:
                do { try await Task.sleep(for: backoff.next()) } catch { return }
            case .written, .idle:
                backoff.reset()
            }
        }
    }

    func flushOnce(connection: PostgresConnection, producer: KafkaProducer, consumer: KafkaConsumer?) async -> FlushOutcome {
        let (taken, actions) = state.withLock { $0.take() }
        apply(actions)
        guard !taken.batches.isEmpty else { return .idle }
        let started = ContinuousClock.now
        do {
            // Rejects are delivered before the offsets move past their messages (at least once: a failed
            // flush sends them again), so none is lost with the broker down or a crash after the commit.
            try await deliver(taken.allRejects, producer: producer)
            var batches = taken.batches
            var changed: [CandleRow]
            while true {
                do {
                    changed = try await store.flush(batches, on: connection)
                    break
                } catch let refused as PostgresError where refused.sqlState?.isDataError == true {
                    // Poison: retrying would fail for ever. The culprits go to the rejects topic, the rest is
                    // flushed again (each round sets at least one tick aside, so this ends).
                    let (kept, rejects) = try await quarantine(batches, refused: refused, connection: connection)
                    try await deliver(rejects, producer: producer)
                    metrics.quarantined.increment(by: rejects.count)
                    batches = kept
                }
            }
            let elapsed = ContinuousClock.now - started
            let committedAt = WallClock.nanoseconds()
            tickToCandle.record(contentsOf: taken.latencies(committedAt: committedAt))
            metrics.flushDuration.recordNanoseconds(elapsed.nanosecondsClamped)
            metrics.flushes.increment()
            metrics.rowsWritten.increment(by: changed.count)
            metrics.lastFlushMicros.set(elapsed.nanosecondsClamped / 1_000)
            metrics.lastFlushSeconds.record(Double(elapsed.nanosecondsClamped) / 1e9)
            await publish(changed: changed, producer: producer, connection: connection)
            if let consumer {
                // For standard lag tooling only: the database holds the offsets that count.
                let offsets = Dictionary(taken.batches.map { (KafkaTopicPartition(topic: topics.ticks, partition: $0.partition), $0.nextOffset) },
                                         uniquingKeysWith: { max($0, $1) })
                try? await consumer.commit(offsets)
            }
            return .written
        } catch let fenced as FencedCandleStore.Fenced {
            metrics.fenced.increment()
            logger.warning("fenced: \(fenced); dropping its pending ticks (the new owner reads them again)")
            apply(state.withLock { state in
                state.restore(taken, except: fenced.partition) + state.revoked([fenced.partition])
            })
            return .written
        } catch {
            metrics.flushFailures.increment()
            apply(state.withLock { $0.restore(taken) })
            if errorLog.allow() { logger.error("flush failed; consumption paused, retrying: \(error)") }
            return .failed
        }
    }
}
