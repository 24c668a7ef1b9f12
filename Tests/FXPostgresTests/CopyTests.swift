import FXPostgres
import FXTestSupport
import Testing

@Suite("PostgreSQL: COPY FROM STDIN", .tags(.integration))
struct CopyTests {
    @Test("COPY loads 100k rows exactly, escapes included")
    func copyHundredThousand() async throws {
        let db = try await PostgresTestKit.connect()
        let table = PostgresTestKit.uniqueTable("copy")
        try await db.query("CREATE TABLE \(table) (id int PRIMARY KEY, symbol text NOT NULL, price numeric NOT NULL, note text)")
        let rows: [[String?]] = (0..<100_000).map { index in
            [String(index), "EUR/USD", "1.\(String(index).leftPadded(to: 6))",
             index % 1000 == 0 ? "tab\tnewline\nreturn\rbackslash\\ end é\\" : (index % 2 == 0 ? nil : "n\(index)")]
        }
        let copied = try await db.copyIn("COPY \(table) (id, symbol, price, note) FROM STDIN", rows: rows)
        #expect(copied == 100_000)
        let summary = try #require(try await db.query("""
            SELECT count(*) AS n, sum(price) AS total, count(note) AS notes,
                   (SELECT note FROM \(table) WHERE id = 1000) AS escaped
            FROM \(table)
            """).first)
        #expect(summary["n"] == "100000")
        // sum over i of 1.iiiiii = 100000 + sum(i)/10^6 = 100000 + 4999950000/10^6
        #expect(summary["total"] == "104999.950000")
        #expect(summary["notes"] == "50100", "odd rows plus every 1000th")
        #expect(summary["escaped"] == "tab\tnewline\nreturn\rbackslash\\ end é\\")
        try await db.query("DROP TABLE \(table)")
        await db.close()
    }

    @Test("rows written field by field into a CopyTextBuffer load exactly: escapes, NULLs, Int64 extremes")
    func copyTextBuffer() async throws {
        let db = try await PostgresTestKit.connect()
        let table = PostgresTestKit.uniqueTable("copybuf")
        try await db.query("CREATE TABLE \(table) (id bigint, note text, amount bigint)")
        let notes: [String?] = ["plain", nil, "tab\tnewline\nreturn\rbackslash\\ end é\\", "", "\\N"]
        let amounts: [Int64?] = [0, .min, .max, nil, -42]
        var buffer = CopyTextBuffer()
        for (index, note) in notes.enumerated() {
            buffer.append(Int64(index))
            buffer.append(note)
            buffer.append(amounts[index])
            buffer.endRow()
        }
        #expect(buffer.rows == 5)
        let copied = try await db.withSession { try await $0.copyIn("COPY \(table) FROM STDIN", data: [buffer.bytes]) }
        #expect(copied == 5)
        let rows = try await db.query("SELECT note, amount::text AS amount FROM \(table) ORDER BY id").rows
        #expect(rows.map { $0["note"] } == notes)
        #expect(rows.map { $0["amount"] } == amounts.map { $0.map(String.init) })
        try await db.query("DROP TABLE \(table)")
        await db.close()
    }

    @Test("a row the table refuses fails the whole COPY with its SQLSTATE, and nothing is loaded")
    func copyFailure() async throws {
        let db = try await PostgresTestKit.connect()
        let table = PostgresTestKit.uniqueTable("copyfail")
        try await db.query("CREATE TABLE \(table) (id int PRIMARY KEY, price numeric NOT NULL)")
        let rows: [[String?]] = [["1", "1.5"], ["2", "not-a-number"], ["3", "2.5"]]
        await #expect { try await db.copyIn("COPY \(table) FROM STDIN", rows: rows) } throws: { error in
            (error as! PostgresError).sqlState == .invalidTextRepresentation
        }
        #expect(try await db.query("SELECT count(*) AS n FROM \(table)").first?["n"] == "0")
        #expect(try await db.query("SELECT 1 AS one").first?["one"] == "1", "connection usable after a failed COPY")
        try await db.query("DROP TABLE \(table)")
        await db.close()
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
