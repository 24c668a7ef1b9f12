import FXContracts
import FXCore
import FXPostgres

extension AggregatorService {
    /// A flush that PostgreSQL refused for its data (``SQLState/isDataError``): running it again would fail
    /// the same way for ever and stop the partitions. The ticks are bisected with flushes that are rolled
    /// back (``FencedCandleStore/probe(_:on:)``) until the refused ones are found; they leave the flush as
    /// `<prefix>rejects` messages (`stage: aggregate`, reason `database_refused`, the SQLSTATE in the detail),
    /// and the rest is flushed with the batch's offsets, which move past the culprits.
    ///
    /// When two halves pass on their own but not together (a combination is refused, not one tick), all of
    /// that combination is set aside. Transient errors during the search are thrown (the caller retries the
    /// whole flush).
    func quarantine(_ batches: [FencedCandleStore.PartitionBatch], refused: PostgresError,
                    connection: PostgresConnection) async throws -> (kept: [FencedCandleStore.PartitionBatch], rejects: [RejectRecord]) {
        var items: [TickPosition] = []
        for batch in batches.indices {
            for tick in batches[batch].ticks.indices { items.append(TickPosition(batch: batch, tick: tick)) }
        }
        let found = try await culprits(items[...], refusedWith: refused, in: batches, connection: connection)
        let poisoned = Set(found.map(\.position))
        var kept = batches
        for batch in kept.indices {
            kept[batch].ticks = batches[batch].ticks.indices.compactMap { tick in
                poisoned.contains(TickPosition(batch: batch, tick: tick)) ? nil : batches[batch].ticks[tick]
            }
        }
        let now = WallClock.nanoseconds()
        let rejects = found.map { culprit in
            let tick = batches[culprit.position.batch].ticks[culprit.position.tick]
            let state = culprit.error.sqlState?.description ?? "no SQLSTATE"
            return RejectRecord(source: "aggregator", stage: .aggregate, reason: "database_refused",
                                detail: "PostgreSQL refused this tick (\(state)): \(culprit.error.message.prefix(300))",
                                receivedAt: now, payload: tick.jsonBytes(), instance: instance, key: "\(tick.source):\(tick.symbol)")
        }
        logger.error("flush refused by the database: \(rejects.count) tick(s) quarantined to the rejects topic, \(items.count - rejects.count) kept",
                     metadata: ["sqlstate": .string(refused.sqlState?.rawValue ?? ""), "error": .string(String(refused.message.prefix(300)))])
        return (kept, rejects)
    }

    struct TickPosition: Hashable, Sendable {
        var batch: Int
        var tick: Int
    }

    private func culprits(_ items: ArraySlice<TickPosition>, refusedWith known: PostgresError?, in batches: [FencedCandleStore.PartitionBatch],
                          connection: PostgresConnection) async throws -> [(position: TickPosition, error: PostgresError)] {
        guard !items.isEmpty else { return [] }
        let error: PostgresError
        if let known {
            error = known
        } else {
            var subset = batches
            for batch in subset.indices { subset[batch].ticks = [] }
            for item in items { subset[item.batch].ticks.append(batches[item.batch].ticks[item.tick]) }
            guard let refused = try await store.probe(subset.filter { !$0.ticks.isEmpty }, on: connection) else { return [] }
            error = refused
        }
        if items.count == 1 { return [(items.first!, error)] }
        let middle = items.startIndex + items.count / 2
        let found = try await culprits(items[..<middle], refusedWith: nil, in: batches, connection: connection)
            + culprits(items[middle...], refusedWith: nil, in: batches, connection: connection)
        return found.isEmpty ? items.map { ($0, error) } : found
    }
}
