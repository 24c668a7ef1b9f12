import FXCore
import FXPostgres
import FXTestSupport
import Testing

/// Stored 1-minute BTC/USD trade candles of the repair specs against the simulator's REST history.
enum HistoryComparison {
    /// The stored 1-minute trade candle of BTC/USD starting at `minute` (seconds): OHLCV as text and its
    /// origin; nil when none is stored.
    static func stored(_ connection: PostgresConnection, minute: Int64) async throws -> [String: String]? {
        guard let row = try await connection.query("""
            SELECT open::text, high::text, low::text, close::text, volume::text, origin FROM candles
            WHERE source = 'coinbase' AND symbol = 'BTC/USD' AND timeframe = '1m' AND price_type = 'trade' AND bucket = to_timestamp($1::bigint)
            """, [minute]).first else { return nil }
        var values: [String: String] = [:]
        for column in ["open", "high", "low", "close", "volume", "origin"] { values[column] = row[column] }
        return values
    }

    /// The newest stored 1-minute trade candle of BTC/USD (seconds), if any.
    static func newestMinute(_ connection: PostgresConnection) async throws -> Int64? {
        try await connection.query("""
            SELECT extract(epoch FROM max(bucket))::bigint AS m FROM candles
            WHERE source = 'coinbase' AND symbol = 'BTC/USD' AND timeframe = '1m' AND price_type = 'trade'
            """).first?.decodeIfPresent(Int64.self, "m")
    }

    /// Expects the stored candle of `minute` to equal the venue's REST candle exactly, and none stored when
    /// the venue has none. Returns the stored candle (nil: none, as the venue).
    @discardableResult
    static func expectEqualToHistory(_ connection: PostgresConnection, sim: ServiceProcess, minute: Int64) async throws -> [String: String]? {
        let truth = try await GapRepairTests.truth(sim, product: "BTC-USD", minute: minute)
        guard let row = try await stored(connection, minute: minute) else {
            #expect(truth.isEmpty, "minute \(minute) has a REST candle but none stored")
            return nil
        }
        for column in ["open", "high", "low", "close", "volume"] {
            #expect(row[column].flatMap(DecimalText.init) == truth[column],
                    "minute \(minute) \(column): \(row[column] ?? "nil") vs REST \(truth[column].map(\.text) ?? "nil")")
        }
        return row
    }
}
