import Dispatch
import Logging

/// One PostgreSQL connection with an async API.
///
/// Every libpq call runs on this connection's own serial dispatch queue, off Swift's cooperative pool.
/// Operations are serialized: a ``withSession(_:)`` or ``transaction(isolation:_:)`` holds the connection
/// until its body returns. After a server restart the next operation reconnects (statements prepared with
/// ``prepare(name:sql:)`` are prepared again); the operation that met the break throws `connectionLost`.
public final class PostgresConnection: Sendable {
    private let handle: UnsafeTransfer<PGConnectionHandle>
    private let queue: DispatchQueue
    private let lock = AsyncLock()
    public let configuration: PostgresConfiguration

    private init(handle: PGConnectionHandle, queue: DispatchQueue, configuration: PostgresConfiguration) {
        self.handle = UnsafeTransfer(handle)
        self.queue = queue
        self.configuration = configuration
    }

    /// Opens a connection. Throws `connectionFailed` when the server cannot be reached.
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger) async throws -> PostgresConnection {
        let queue = DispatchQueue(label: "fxstream.postgres.connection")
        let handle: UnsafeTransfer<PGConnectionHandle> = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do { continuation.resume(returning: UnsafeTransfer(try PGConnectionHandle(configuration: configuration, logger: logger))) }
                catch { continuation.resume(throwing: error) }
            }
        }
        return PostgresConnection(handle: handle.value, queue: queue, configuration: configuration)
    }

    // MARK: Single statements

    /// Runs one statement with text-format parameters (`$1`, `$2`, ...); nil is SQL NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        try await withSession { try await $0.query(sql, parameters) }
    }

    /// Prepares a named statement for ``queryPrepared(_:_:)``; it survives reconnects.
    public func prepare(name: String, sql: String) async throws {
        try await withSession { try await $0.prepare(name: name, sql: sql) }
    }

    @discardableResult
    public func queryPrepared(_ name: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        try await withSession { try await $0.queryPrepared(name, parameters) }
    }

    /// `COPY ... FROM STDIN` of rows (text format; nil is NULL). Returns the rows copied.
    @discardableResult
    public func copyIn<Rows: Sequence & Sendable>(_ sql: String, rows: Rows) async throws -> Int where Rows.Element == [String?] {
        try await withSession { try await $0.copyIn(sql, rows: rows) }
    }

    // MARK: Sessions and transactions

    /// Holds the connection for `body`: nothing else runs on it in between (session-level settings and
    /// advisory locks stay with it).
    public func withSession<T>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        await lock.lock()
        defer { lock.unlock() }
        return try await body(PostgresSession(connection: self))
    }

    /// Isolation levels for ``transaction(isolation:_:)``.
    public enum Isolation: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(isolation: Isolation = .readCommitted, _ body: (PostgresSession) async throws -> T) async throws -> T {
        try await withSession { session in
            try await session.query("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
            let value: T
            do {
                value = try await body(session)
            } catch {
                _ = try? await session.query("ROLLBACK")
                throw error
            }
            try await session.query("COMMIT")
            return value
        }
    }

    /// Closes the connection for good; later operations throw `closed`.
    public func close() async {
        await lock.lock()
        defer { lock.unlock() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [handle] in
                handle.value.close()
                continuation.resume()
            }
        }
    }

    /// Times the connection was re-established after a break.
    public func reconnectCount() async -> Int {
        await run { $0.reconnects }
    }

    // MARK: Internal

    func run<T: Sendable>(_ body: @escaping @Sendable (PGConnectionHandle) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [handle] in
                do { continuation.resume(returning: try body(handle.value)) }
                catch { continuation.resume(throwing: error) }
            }
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (PGConnectionHandle) -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { [handle] in continuation.resume(returning: body(handle.value)) }
        }
    }
}

/// Statements on a connection held by ``PostgresConnection/withSession(_:)`` or a transaction.
/// Valid only inside that body.
public struct PostgresSession: Sendable {
    let connection: PostgresConnection

    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        let texts = parameters.map { $0?.postgresText }
        return try await connection.run { try $0.execute(sql, texts) }
    }

    public func prepare(name: String, sql: String) async throws {
        try await connection.run { try $0.prepare(name: name, sql: sql) }
    }

    /// Runs several `;`-separated statements without parameters (simple query protocol), e.g. a migration.
    public func executeScript(_ sql: String) async throws {
        try await connection.run { try $0.executeScript(sql) }
    }

    @discardableResult
    public func queryPrepared(_ name: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        let texts = parameters.map { $0?.postgresText }
        return try await connection.run { try $0.executePrepared(name: name, texts) }
    }

    @discardableResult
    public func copyIn<Rows: Sequence & Sendable>(_ sql: String, rows: Rows) async throws -> Int where Rows.Element == [String?] {
        try await connection.run { handle in
            try handle.copyIn(sql, chunks: CopyChunks(rows: rows))
        }
    }

    /// `COPY ... FROM STDIN` of bytes already in COPY format (for example a file's contents).
    @discardableResult
    public func copyIn(_ sql: String, data chunks: [[UInt8]]) async throws -> Int {
        try await connection.run { handle in try handle.copyIn(sql, chunks: chunks) }
    }
}

/// Rows encoded lazily into COPY text chunks of about 256 KiB.
struct CopyChunks<Rows: Sequence>: Sequence where Rows.Element == [String?] {
    let rows: Rows
    static var chunkSize: Int { 256 * 1024 }

    struct Iterator: IteratorProtocol {
        var rows: Rows.Iterator
        mutating func next() -> [UInt8]? {
            var buffer = CopyTextBuffer(reservingCapacity: CopyChunks.chunkSize + 1024)
            while buffer.bytes.count < CopyChunks.chunkSize, let row = rows.next() {
                buffer.appendRow(row)
            }
            return buffer.bytes.isEmpty ? nil : buffer.bytes
        }
    }

    func makeIterator() -> Iterator { Iterator(rows: rows.makeIterator()) }
}

/// Moves a non-Sendable value to the queue that alone uses it.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
