/// An error from the PostgreSQL bridge: a stable ``Code``, the server's SQLSTATE when it sent one, and context.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public var description: String { rawValue }

        /// Could not connect (bad URL, server down, authentication).
        public static let connectionFailed = Code(rawValue: "connection_failed")
        /// The connection broke during the operation; it is re-established on the next call.
        /// Whether a statement sent before the break was applied is unknown unless it was in a transaction
        /// (then it was rolled back).
        public static let connectionLost = Code(rawValue: "connection_lost")
        /// The server refused the statement; ``PostgresError/sqlState`` says why.
        public static let server = Code(rawValue: "server")
        /// COPY failed on the client side.
        public static let copy = Code(rawValue: "copy")
        /// A value could not be read as the requested type.
        public static let decoding = Code(rawValue: "decoding")
        /// A migration could not be applied or does not match what was applied before.
        public static let migration = Code(rawValue: "migration")
        /// The connection was closed by its owner.
        public static let closed = Code(rawValue: "closed")
    }

    public var code: Code
    public var message: String
    /// The five-character SQLSTATE (e.g. `23505`), when the server sent one.
    public var sqlState: SQLState?
    public var detail: String?
    public var hint: String?
    /// For example the statement's first line, a constraint or table name. Never parameter values.
    public var context: [String: String]

    public init(code: Code, message: String, sqlState: SQLState? = nil, detail: String? = nil, hint: String? = nil,
                context: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.context = context
    }

    public var description: String {
        var text = "PostgresError(\(code))"
        if let sqlState { text += " [\(sqlState.rawValue) \(sqlState.name)]" }
        text += ": \(message)"
        if let detail { text += " detail: \(detail)" }
        if let hint { text += " hint: \(hint)" }
        if !context.isEmpty {
            text += " " + context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        return text
    }
}
