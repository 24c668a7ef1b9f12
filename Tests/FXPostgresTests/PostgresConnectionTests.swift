import Foundation
import FXPostgres
import FXTestSupport
import Testing

@Suite("PostgreSQL: statements, transactions, errors", .tags(.integration))
struct PostgresConnectionTests {
    @Test("parameters round-trip exactly, numeric stays decimal text, NULL is nil")
    func parameters() async throws {
        let db = try await PostgresTestKit.connect()
        let price = Decimal(string: "1.08765432109876543")!
        let rows = try await db.query("SELECT $1::numeric AS price, $2::bigint AS n, $3::text AS t, $4::text AS missing, $5::bool AS b",
                                      [price, Int64(9_007_199_254_740_993), "tab\there 'quoted' ü", nil, true])
        let row = try #require(rows.first)
        #expect(row["price"] == "1.08765432109876543")
        #expect(try row.decode(Decimal.self, "price") == price)
        #expect(try row.decode(Int64.self, "n") == 9_007_199_254_740_993)
        #expect(row["t"] == "tab\there 'quoted' ü")
        #expect(row["missing"] == nil)
        #expect(try row.decodeIfPresent(String.self, "missing") == nil)
        #expect(try row.decode(Bool.self, "b"))
        await db.close()
    }

    @Test("a numeric too precise for Foundation.Decimal is refused, not rounded")
    func noSilentRounding() async throws {
        let db = try await PostgresTestKit.connect()
        let text = "1.0000000000000000000000000000000000000001"
        let row = try #require(try await db.query("SELECT $1::numeric AS v", [text]).first)
        #expect(row["v"] == text)
        #expect(throws: PostgresError.self) { try row.decode(Decimal.self, "v") }
        await db.close()
    }

    @Test("server errors carry their SQLSTATE, name and constraint")
    func sqlStateMapping() async throws {
        let db = try await PostgresTestKit.connect()
        let table = PostgresTestKit.uniqueTable("sqlstate")
        try await db.query("CREATE TABLE \(table) (id int PRIMARY KEY, price numeric CHECK (price > 0))")
        try await db.query("INSERT INTO \(table) VALUES (1, 1.5)")

        await #expect { try await db.query("INSERT INTO \(table) VALUES (1, 2.5)") } throws: { error in
            let error = error as! PostgresError
            return error.code == .server && error.sqlState == .uniqueViolation && error.sqlState?.name == "unique_violation"
                && error.context["constraint"] == "\(table)_pkey" && error.detail?.contains("(id)=(1)") == true
        }
        await #expect { try await db.query("INSERT INTO \(table) VALUES (2, -1)") } throws: { error in
            (error as! PostgresError).sqlState == .checkViolation
        }
        await #expect { try await db.query("SELEC 1") } throws: { error in
            (error as! PostgresError).sqlState == .syntaxError
        }
        await #expect { try await db.query("SELECT * FROM no_such_table_here") } throws: { error in
            (error as! PostgresError).sqlState == .undefinedTable
        }
        await #expect { try await db.query("SELECT 'abc'::numeric") } throws: { error in
            let state = (error as! PostgresError).sqlState
            return state == .invalidTextRepresentation && state?.errorClass == "22" && state?.isTransient == false
        }
        #expect(SQLState.serializationFailure.isTransient)
        // The connection is still usable after errors.
        #expect(try await db.query("SELECT count(*) AS n FROM \(table)").first?["n"] == "1")
        try await db.query("DROP TABLE \(table)")
        await db.close()
    }

    @Test("a transaction that throws is rolled back; one that returns is committed")
    func transactionRollback() async throws {
        let db = try await PostgresTestKit.connect()
        let table = PostgresTestKit.uniqueTable("tx")
        try await db.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await db.transaction { tx in
                try await tx.query("INSERT INTO \(table) VALUES (1), (2)")
                #expect(try await tx.query("SELECT count(*) AS n FROM \(table)").first?["n"] == "2")
                throw Abort()
            }
        }
        #expect(try await db.query("SELECT count(*) AS n FROM \(table)").first?["n"] == "0")

        await #expect(throws: PostgresError.self) {
            try await db.transaction { tx in
                try await tx.query("INSERT INTO \(table) VALUES (3)")
                try await tx.query("INSERT INTO \(table) VALUES (3)") // unique violation aborts the transaction
            }
        }
        #expect(try await db.query("SELECT count(*) AS n FROM \(table)").first?["n"] == "0")

        try await db.transaction(isolation: .serializable) { tx in
            try await tx.query("INSERT INTO \(table) VALUES (4)")
        }
        #expect(try await db.query("SELECT id FROM \(table)").map { $0["id"] } == ["4"])
        try await db.query("DROP TABLE \(table)")
        await db.close()
    }

    @Test("prepared statements run with parameters")
    func prepared() async throws {
        let db = try await PostgresTestKit.connect()
        try await db.prepare(name: "fx_add", sql: "SELECT $1::numeric + $2::numeric AS sum")
        #expect(try await db.queryPrepared("fx_add", ["0.1", "0.2"]).first?["sum"] == "0.3")
        await db.close()
    }

    @Test("a bad URL fails with connectionFailed and the password is not in the error")
    func badConnection() async throws {
        await #expect {
            _ = try await PostgresTestKit.connect(url: "postgres://postgres:s3cret-pw@127.0.0.1:1/nodb")
        } throws: { error in
            let error = error as! PostgresError
            return error.code == .connectionFailed && !"\(error)".contains("s3cret-pw") && "\(error)".contains("[redacted]")
        }
    }

    @Test("operations after close fail with closed")
    func closed() async throws {
        let db = try await PostgresTestKit.connect()
        await db.close()
        await #expect { try await db.query("SELECT 1") } throws: { ($0 as! PostgresError).code == .closed }
    }
}
