import FXPostgres
import FXTestSupport
import Testing

/// A text value with a NUL byte cannot be stored (PostgreSQL text has no NUL); it must be refused as the
/// data error it is, never cut short at the NUL and stored as something else.
@Suite("PostgreSQL: NUL bytes in parameters", .tags(.integration))
struct NULParameterTests {
    @Test("a parameter with a NUL is refused with SQLSTATE 22021 (a data error), plain and prepared")
    func refused() async throws {
        let db = try await PostgresTestKit.connect()
        await #expect {
            try await db.query("SELECT $1::text AS v", ["abc\u{0}def"])
        } throws: { error in
            (error as? PostgresError)?.sqlState == SQLState("22021") && (error as? PostgresError)?.sqlState?.isDataError == true
        }
        try await db.prepare(name: "fx_nul_echo", sql: "SELECT $1::text AS v")
        await #expect {
            try await db.queryPrepared("fx_nul_echo", ["x\u{0}"])
        } throws: { error in
            (error as? PostgresError)?.sqlState == SQLState("22021")
        }
        #expect(try await db.query("SELECT $1::text AS v", ["abc"]).first?["v"] == "abc", "the connection is still usable")
        await db.close()
    }
}
