import CLibPQ
import Foundation
import Logging

/// A thin owner of one libpq `PGconn`. Every method blocks; callers run them on the owning connection's
/// serial dispatch queue only (never on Swift's cooperative pool), so the handle is never used from two
/// threads at once. Lifetime: opened in `init`, re-established by ``ensureConnected()`` after a break,
/// closed by ``finish()`` or `deinit`.
final class PGConnectionHandle {
    private var connection: OpaquePointer?
    private let configuration: PostgresConfiguration
    private let logger: Logger
    /// Prepared statements by name, re-prepared on the server after a reconnect.
    private var preparedStatements: [String: String] = [:]
    private var preparedOnServer: Set<String> = []
    private(set) var reconnects = 0
    private var isClosed = false
    /// What libpq's notice processor logs to; retained for the handle's lifetime.
    private let noticeTarget: Unmanaged<NoticeTarget>

    init(configuration: PostgresConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.noticeTarget = Unmanaged.passRetained(NoticeTarget(logger: logger))
        try connect()   // on failure deinit runs (every property is set) and releases the target
    }

    deinit {
        finish()
        noticeTarget.release()
    }

    func finish() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    /// Closes for good: later operations throw `closed`.
    func close() {
        isClosed = true
        finish()
    }

    private func connect() throws {
        // Later keywords override what the URL says (libpq expands `dbname` first).
        let parameters = [("dbname", configuration.url), ("application_name", configuration.applicationName),
                          ("connect_timeout", String(configuration.connectTimeoutSeconds))] + configuration.timeouts.connectionParameters
        let keywords = parameters.map(\.0)
        let values = parameters.map(\.1)
        let conn = withCStringArray(keywords) { keys in
            withCStringArray(values) { vals in PQconnectdbParams(keys, vals, 1) }
        }
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            let message = conn.map { Self.errorMessage($0) } ?? "out of memory"
            if let conn { PQfinish(conn) }
            throw PostgresError(code: .connectionFailed, message: message, context: ["url": configuration.redactedURL])
        }
        // Notices (e.g. "relation already exists, skipping") go to the logger, not stderr: WARNING at
        // warning level, the rest (NOTICE, INFO, DEBUG) at debug.
        PQsetNoticeProcessor(conn, { target, message in
            guard let target, let message else { return }
            Unmanaged<NoticeTarget>.fromOpaque(target).takeUnretainedValue().log(String(cString: message))
        }, noticeTarget.toOpaque())
        connection = conn
        preparedOnServer = []
    }

    /// Re-establishes a broken connection. Throws `connectionFailed` while the server is unreachable.
    func ensureConnected() throws {
        if isClosed { throw PostgresError(code: .closed, message: "connection was closed") }
        if let connection, PQstatus(connection) == CONNECTION_OK { return }
        finish()
        try connect()
        reconnects += 1
        logger.notice("postgres connection re-established", metadata: ["url": .string(configuration.redactedURL)])
    }

    // MARK: Statements

    /// Text parameters travel as C strings, which end at the first NUL: such a value would be cut short
    /// without a word. Refused as PostgreSQL refuses NUL in text (SQLSTATE 22021, a data error).
    static func refuseNUL(_ parameters: [String?], sql: String) throws {
        guard let index = parameters.firstIndex(where: { $0?.utf8.contains(0) == true }) else { return }
        throw PostgresError(code: .server, message: "parameter $\(index + 1) contains a NUL byte, which text cannot hold",
                            sqlState: SQLState("22021"), context: ["statement": summary(sql)])
    }

    func execute(_ sql: String, _ parameters: [String?]) throws -> PostgresRows {
        try Self.refuseNUL(parameters, sql: sql)
        try ensureConnected()
        let result = withParameters(parameters) { values, count in
            PQexecParams(connection, sql, count, nil, values, nil, nil, 0)
        }
        return try consume(result, sql: sql)
    }

    /// Runs a script of one or more statements separated by semicolons (simple query protocol, no parameters).
    func executeScript(_ sql: String) throws {
        try ensureConnected()
        // With several statements libpq returns the last result; an error stops the script.
        _ = try consume(PQexec(connection, sql), sql: sql)
    }

    func prepare(name: String, sql: String) throws {
        try ensureConnected()
        preparedStatements[name] = sql
        try prepareOnServer(name: name, sql: sql)
    }

    private func prepareOnServer(name: String, sql: String) throws {
        let result = PQprepare(connection, name, sql, 0, nil)
        _ = try consume(result, sql: sql)
        preparedOnServer.insert(name)
    }

    func executePrepared(name: String, _ parameters: [String?]) throws -> PostgresRows {
        try ensureConnected()
        guard let sql = preparedStatements[name] else {
            throw PostgresError(code: .server, message: "no prepared statement named '\(name)'")
        }
        try Self.refuseNUL(parameters, sql: sql)
        if !preparedOnServer.contains(name) { try prepareOnServer(name: name, sql: sql) }
        let result = withParameters(parameters) { values, count in
            PQexecPrepared(connection, name, count, values, nil, nil, 0)
        }
        return try consume(result, sql: sql)
    }

    /// Runs `COPY ... FROM STDIN` and streams the chunks (already in COPY format). Returns rows copied.
    func copyIn<Chunks: Sequence>(_ sql: String, chunks: Chunks) throws -> Int where Chunks.Element == [UInt8] {
        try ensureConnected()
        guard let start = PQexec(connection, sql) else { throw connectionError(sql: sql) }
        if PQresultStatus(start) != PGRES_COPY_IN {
            _ = try consume(start, sql: sql)
            throw PostgresError(code: .copy, message: "statement did not start COPY FROM STDIN", context: ["statement": Self.summary(sql)])
        }
        PQclear(start)
        var failure: String?
        for chunk in chunks where !chunk.isEmpty {
            let sent = chunk.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32(buffer.count)) }
            }
            if sent != 1 {
                failure = Self.errorMessage(connection!)
                break
            }
        }
        if PQputCopyEnd(connection, failure) != 1 {
            throw connectionError(sql: sql)
        }
        var copied = 0
        var firstError: PostgresError?
        while let result = PQgetResult(connection) {
            do {
                copied += try consume(result, sql: sql).affectedRows
            } catch let error as PostgresError {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        if let failure { throw PostgresError(code: .copy, message: failure, context: ["statement": Self.summary(sql)]) }
        return copied
    }

    // MARK: Results

    /// Reads a result into rows and clears it, or throws the server's error with its SQLSTATE.
    private func consume(_ result: OpaquePointer?, sql: String) throws -> PostgresRows {
        guard let result else { throw connectionError(sql: sql) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(columns: [], rows: [], affectedRows: Self.affectedRows(result))
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            return Self.rows(of: result)
        default:
            if let connection, PQstatus(connection) != CONNECTION_OK {
                preparedOnServer = []
                throw connectionError(sql: sql)
            }
            throw Self.serverError(result, sql: sql)
        }
    }

    private func connectionError(sql: String) -> PostgresError {
        let message = connection.map { Self.errorMessage($0) } ?? "no connection"
        preparedOnServer = []
        return PostgresError(code: .connectionLost, message: message, context: ["statement": Self.summary(sql)])
    }

    private static func serverError(_ result: OpaquePointer, sql: String) -> PostgresError {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        var context = ["statement": summary(sql)]
        if let constraint = field("n") { context["constraint"] = constraint }
        if let table = field("t") { context["table"] = table }
        if let column = field("c") { context["column"] = column }
        return PostgresError(code: .server, message: field("M") ?? String(cString: PQresultErrorMessage(result)),
                             sqlState: field("C").map(SQLState.init), detail: field("D"), hint: field("H"),
                             context: context)
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() where index[name] == nil { index[name] = position }
        var rows: [PostgresRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(PostgresRow(columnIndex: index, values: values))
        }
        return PostgresRows(columns: columns, rows: rows, affectedRows: affectedRows(result))
    }

    private static func affectedRows(_ result: OpaquePointer) -> Int {
        Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    private static func errorMessage(_ connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The statement's first line, shortened: enough to find it, never parameter values.
    static func summary(_ sql: String) -> String {
        let firstLine = sql.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        return String(firstLine.trimmingCharacters(in: .whitespaces).prefix(80))
    }
}

/// Calls `body` with a NULL-terminated-free array of C strings valid for the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) } + [nil]
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Calls `body` with libpq text-format parameter values (nil is SQL NULL).
private func withParameters<R>(_ parameters: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?, Int32) -> R) -> R {
    let copies = parameters.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress, Int32(parameters.count)) }
}

/// Receives libpq's notices (on the connection's queue, where libpq calls run).
final class NoticeTarget {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }

    func log(_ message: String) {
        let text = message.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("WARNING") { logger.warning("postgres: \(text)") }
        else { logger.debug("postgres: \(text)") }
    }
}
