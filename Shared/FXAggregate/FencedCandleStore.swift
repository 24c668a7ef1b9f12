import FXCandles
import FXCore
import FXPostgres

/// The aggregator's flushes: one transaction writes the candle changes (``CandleStore``) *and* the consumed
/// offsets, fenced by the partition's generation, so the database always equals a recomputation over the
/// distinct ticks consumed up to the stored offsets.
///
/// A flush checks and advances every partition's offset (a generation mismatch = this consumer lost the
/// partition: the whole transaction is refused) while the ticks are prepared, then writes the candles.
public struct FencedCandleStore: Sendable {
    /// Where the candles go; also used directly for finals, retention and tests.
    public let candles: CandleStore
    public let consumerGroup: String
    public var topic: String { candles.topic }

    public init(timeframes: [Timeframe], bidAskCandles: Bool, consumerGroup: String, topic: String, storeTicks: Bool = false) {
        self.candles = CandleStore(timeframes: timeframes, bidAskCandles: bidAskCandles, topic: topic, storeTicks: storeTicks)
        self.consumerGroup = consumerGroup
    }

    /// A partition whose generation moved on: another consumer owns it now.
    public struct Fenced: Error, CustomStringConvertible, Sendable {
        public var partition: Int32
        public var description: String { "partition \(partition) is owned by a newer consumer generation" }
    }

    /// One partition's part of a flush.
    public struct PartitionBatch: Sendable {
        public var partition: Int32
        public var generation: Int64
        public var nextOffset: Int64
        public var ticks: [TickRecord]

        public init(partition: Int32, generation: Int64, nextOffset: Int64, ticks: [TickRecord]) {
            self.partition = partition
            self.generation = generation
            self.nextOffset = nextOffset
            self.ticks = ticks
        }
    }

    // MARK: Leases

    /// Takes over a partition: bumps its generation (fencing the previous owner) and returns the new
    /// generation and the stored next offset (nil: nothing stored yet, start from the beginning).
    public func claim(partition: Int32, owner: String, on connection: PostgresConnection) async throws -> (generation: Int64, nextOffset: Int64?) {
        let rows = try await connection.query("""
            INSERT INTO aggregator_offsets (consumer_group, topic, partition, generation, owner) VALUES ($1, $2, $3, 1, $4)
            ON CONFLICT (consumer_group, topic, partition) DO UPDATE
                SET generation = aggregator_offsets.generation + 1, owner = EXCLUDED.owner, updated_at = now()
            RETURNING generation, next_offset
            """, [consumerGroup, topic, Int(partition), owner])
        guard let row = rows.first else { throw PostgresError(code: .decoding, message: "claim returned no row") }
        return (try row.decode(Int64.self, "generation"), try row.decodeIfPresent(Int64.self, "next_offset"))
    }

    /// The stored next offset of each partition (for tests and tools).
    public func storedOffsets(on connection: PostgresConnection) async throws -> [Int32: Int64] {
        let rows = try await connection.query(
            "SELECT partition, next_offset FROM aggregator_offsets WHERE consumer_group = $1 AND topic = $2 AND next_offset IS NOT NULL",
            [consumerGroup, topic])
        var result: [Int32: Int64] = [:]
        for row in rows { result[try row.decode(Int32.self, "partition")] = try row.decode(Int64.self, "next_offset") }
        return result
    }

    // MARK: Flush

    /// Writes one flush; returns every candle row it changed (with its new revision).
    public func flush(_ batches: [PartitionBatch], on connection: PostgresConnection) async throws -> [CandleRow] {
        guard !batches.isEmpty else { return [] }
        return try await connection.transaction { session in try await write(batches, on: session) }
    }

    /// Runs a flush of `batches` and rolls it back: whether the database accepts these ticks. Returns the
    /// data error (SQLSTATE class 22 or 54, or a check violation) that refused them, nil when accepted;
    /// any other error (connection loss, a fenced partition) is thrown.
    public func probe(_ batches: [PartitionBatch], on connection: PostgresConnection) async throws -> PostgresError? {
        guard !batches.isEmpty else { return nil }
        struct Accepted: Error {}
        do {
            try await connection.transaction { session in
                _ = try await write(batches, on: session)
                throw Accepted()
            }
        } catch is Accepted {
            return nil
        } catch let error as PostgresError where error.sqlState?.isDataError == true {
            return error
        }
        return nil
    }

    private func write(_ batches: [PartitionBatch], on session: PostgresSession) async throws -> [CandleRow] {
        let candles = self.candles
        // The distinct ticks and their COPY rows are prepared while PostgreSQL advances the offsets.
        async let preparing = candles.prepare(batches.map { CandleStore.PartitionTicks(partition: $0.partition, ticks: $0.ticks) })
        // Every partition's offset in one statement; a partition whose lease moved on is not updated.
        func array(_ values: [String]) -> String { "{" + values.joined(separator: ",") + "}" }
        let updated = try await session.query("""
            UPDATE aggregator_offsets o SET next_offset = v.next_offset, updated_at = now()
            FROM unnest($3::integer[], $4::bigint[], $5::bigint[]) AS v (partition, next_offset, generation)
            WHERE o.consumer_group = $1 AND o.topic = $2 AND o.partition = v.partition AND o.generation = v.generation
            RETURNING o.partition
            """, [consumerGroup, topic, array(batches.map { String($0.partition) }), array(batches.map { String($0.nextOffset) }),
                  array(batches.map { String($0.generation) })])
        let written = Set(updated.rows.compactMap { $0["partition"].flatMap { Int32($0) } })
        if let fenced = batches.first(where: { !written.contains($0.partition) }) { throw Fenced(partition: fenced.partition) }
        return try await candles.write(await preparing, on: session)
    }
}
