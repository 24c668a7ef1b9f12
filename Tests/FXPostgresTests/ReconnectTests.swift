import FXPostgres
import FXTestSupport
import Testing

@Suite("PostgreSQL: surviving a server restart", .tags(.integration))
struct ReconnectTests {
    @Test("after the server restarts, the same connection serves queries and prepared statements again")
    func reconnectAfterRestart() async throws {
        let server = try PrivatePostgres()
        let db = try await PostgresTestKit.connect(url: server.url)
        try await db.prepare(name: "fx_one", sql: "SELECT $1::int + 1 AS v")
        #expect(try await db.queryPrepared("fx_one", [1]).first?["v"] == "2")

        try server.restart()

        // The statement that meets the broken socket reports it; it is never silently retried.
        var lost = 0
        var answer: String?
        for _ in 0..<20 {
            do {
                answer = try await db.queryPrepared("fx_one", [41]).first?["v"]
                break
            } catch let error as PostgresError where error.code == .connectionLost || error.code == .connectionFailed {
                lost += 1
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(answer == "42")
        #expect(lost >= 1, "the break was reported once")
        #expect(await db.reconnectCount() == 1)
        await db.close()
    }

    @Test("a transaction cut by a restart is rolled back on the server")
    func transactionCutByRestart() async throws {
        let server = try PrivatePostgres()
        let db = try await PostgresTestKit.connect(url: server.url)
        try await db.query("CREATE TABLE cut (id int)")
        await #expect(throws: PostgresError.self) {
            try await db.transaction { tx in
                try await tx.query("INSERT INTO cut VALUES (1)")
                try server.restart()
                try await tx.query("INSERT INTO cut VALUES (2)")
            }
        }
        var count: String?
        for _ in 0..<20 where count == nil {
            count = try? await db.query("SELECT count(*) AS n FROM cut").first?["n"]
            if count == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(count == "0")
        await db.close()
    }
}
