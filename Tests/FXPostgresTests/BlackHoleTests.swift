import FXPostgres
import FXTestSupport
import Logging
import Testing

/// A database that accepts TCP and never answers must end in a clear error within the configured
/// deadline, never in a hang: the services retry, report not ready, and stay live.
@Suite("PostgreSQL: a black-holed server", .tags(.integration))
struct BlackHoleTests {
    @Test("connecting to a server that accepts and never answers fails with connectionFailed after connect_timeout")
    func connectTimesOut() async throws {
        let listener = try BlackHoleListener()
        let started = ContinuousClock.now
        let configuration = PostgresConfiguration(url: "postgres://postgres@127.0.0.1:\(listener.port)/fxstream", connectTimeoutSeconds: 2)
        await #expect {
            _ = try await PostgresConnection.connect(configuration, logger: TestEnvironment.logger("black-hole"))
        } throws: { error in
            (error as? PostgresError)?.code == .connectionFailed
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .seconds(1) && elapsed < .seconds(10), "gave up after \(elapsed)")
    }

    @Test("every session runs under the configured statement, lock and idle-in-transaction deadlines")
    func serverDeadlines() async throws {
        var configuration = PostgresConfiguration(url: TestEnvironment.databaseURL)
        configuration.timeouts = .init(statement: .milliseconds(1_500), lock: .milliseconds(700), idleInTransaction: .seconds(9))
        let db = try await PostgresConnection.connect(configuration, logger: TestEnvironment.logger("deadlines"))
        #expect(try await db.query("SHOW statement_timeout").first?["statement_timeout"] == "1500ms")
        #expect(try await db.query("SHOW lock_timeout").first?["lock_timeout"] == "700ms")
        #expect(try await db.query("SHOW idle_in_transaction_session_timeout").first?["idle_in_transaction_session_timeout"] == "9s")
        await #expect {
            try await db.query("SELECT pg_sleep(5)")
        } throws: { error in
            (error as? PostgresError)?.sqlState == .queryCanceled
        }
        await db.close()
    }
}
