import FXContracts
import FXCore
import FXPostgres
import Logging

/// Records a batch of gap events in the ledger in one transaction. Poison is set aside, never retried
/// for ever:
/// - an event ``GapLedger/check(_:)`` refuses (times outside 2000...2100, `from` after `to`) is answered
///   `.refused` with its reason (`invalid_timestamp`) and never reaches the database;
/// - a batch the database refuses for its data (SQLSTATE class 22 data exception, e.g. a NUL byte in
///   text; class 54 program limit exceeded, e.g. an index row over the btree limit; 23514 check
///   violation) is split in halves until the culprits are alone: each is answered `.refused` with
///   reason `refused_by_database`, the others are recorded;
/// - any other failure (connection loss, serialization failure, deadlock, ...) runs the batch again
///   after capped backoff, until the task is cancelled (then it throws `CancellationError`).
public struct GapRecorder: Sendable {
    /// What became of one event.
    public enum Outcome: Sendable, Equatable {
        /// Recorded: the open gap that now covers it.
        case recorded(GapLedger.Gap)
        /// Recorded before (a replay).
        case duplicate
        /// A `bootstrap` event: the window it recorded, or nil when it recorded nothing.
        case bootstrap(GapLedger.Gap?)
        /// Set aside (for `<prefix>rejects`): why, and what the database or the check said.
        case refused(reason: String, detail: String)
        /// A `book` event: an order book resync, not a hole in the trades or quotes (nothing to repair).
        case notCandles
    }

    public static let refusedByDatabase = "refused_by_database"

    public let connection: PostgresConnection
    /// History recorded before a new symbol's `bootstrap` event (zero: none).
    public let bootstrapLookback: Duration
    let logger: Logger

    public init(connection: PostgresConnection, bootstrapLookback: Duration, logger: Logger) {
        self.connection = connection
        self.bootstrapLookback = bootstrapLookback
        self.logger = logger
    }

    /// One outcome per event, in order.
    public func record(_ events: [GapEvent]) async throws -> [Outcome] {
        var outcomes = [Outcome?](repeating: nil, count: events.count)
        var valid: [(Int, GapEvent)] = []
        for (index, event) in events.enumerated() {
            if event.reason == .book {
                outcomes[index] = .notCandles
                continue
            }
            do throws(ContractLimits.Violation) {
                try GapLedger.check(event)
                valid.append((index, event))
            } catch {
                outcomes[index] = .refused(reason: error.reason, detail: error.detail)
            }
        }
        try await attempt(valid[...], into: &outcomes)
        return outcomes.map { $0 ?? .refused(reason: Self.refusedByDatabase, detail: "not recorded") }
    }

    private func attempt(_ events: ArraySlice<(Int, GapEvent)>, into outcomes: inout [Outcome?]) async throws {
        guard !events.isEmpty else { return }
        var backoff = Backoff(base: .milliseconds(200), cap: .seconds(10))
        while true {
            try Task.checkCancellation()
            do {
                let lookback = bootstrapLookback
                let results = try await connection.transaction { session in
                    var results: [Outcome] = []
                    for (_, event) in events {
                        if event.reason == .bootstrap {
                            results.append(.bootstrap(try await GapLedger.recordBootstrap(event, lookback: lookback, on: session)))
                        } else {
                            results.append(try await GapLedger.record(event, on: session).map(Outcome.recorded) ?? .duplicate)
                        }
                    }
                    return results
                }
                for ((index, _), result) in zip(events, results) { outcomes[index] = result }
                return
            } catch let error as PostgresError where error.sqlState?.isDataError == true {
                guard events.count > 1 else {
                    let state = error.sqlState.map { "SQLSTATE \($0)" } ?? ""
                    outcomes[events[events.startIndex].0] = .refused(reason: Self.refusedByDatabase, detail: "\(state): \(error.message)")
                    return
                }
                let middle = events.startIndex + events.count / 2
                try await attempt(events[..<middle], into: &outcomes)
                try await attempt(events[middle...], into: &outcomes)
                return
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                logger.warning("cannot record gap events yet (retrying): \(error)", metadata: ["events": .stringConvertible(events.count)])
                try await Task.sleep(for: backoff.next())
            }
        }
    }
}
