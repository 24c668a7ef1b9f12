/// The rows a statement returned, in PostgreSQL's text format (exact: `numeric` stays a decimal string).
public struct PostgresRows: Sendable, Sequence {
    public let columns: [String]
    public let rows: [PostgresRow]
    /// Rows affected by INSERT/UPDATE/DELETE/COPY (`PQcmdTuples`), 0 when not applicable.
    public let affectedRows: Int

    public var count: Int { rows.count }
    public var first: PostgresRow? { rows.first }
    public func makeIterator() -> IndexingIterator<[PostgresRow]> { rows.makeIterator() }
}

/// One row; values are nil for SQL NULL.
public struct PostgresRow: Sendable {
    let columnIndex: [String: Int]
    public let values: [String?]

    /// The text of the named column (nil for NULL or an unknown column).
    public subscript(_ column: String) -> String? {
        guard let index = columnIndex[column] else { return nil }
        return values[index]
    }

    public subscript(_ index: Int) -> String? { values[index] }

    /// The named column as `T`; throws for NULL, an unknown column or unreadable text.
    public func decode<T: PostgresDecodable>(_ type: T.Type, _ column: String) throws -> T {
        guard let index = columnIndex[column] else {
            throw PostgresError(code: .decoding, message: "no column '\(column)'")
        }
        guard let text = values[index] else {
            throw PostgresError(code: .decoding, message: "column '\(column)' is NULL")
        }
        guard let value = T(postgresText: text) else {
            throw PostgresError(code: .decoding, message: "column '\(column)' is not a \(T.self): '\(text.prefix(64))'")
        }
        return value
    }

    /// The named column as `T`, nil for NULL.
    public func decodeIfPresent<T: PostgresDecodable>(_ type: T.Type, _ column: String) throws -> T? {
        guard let index = columnIndex[column] else {
            throw PostgresError(code: .decoding, message: "no column '\(column)'")
        }
        guard values[index] != nil else { return nil }
        return try decode(type, column)
    }
}
