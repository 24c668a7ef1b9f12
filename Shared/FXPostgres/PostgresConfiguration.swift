import FXCore

/// How to reach PostgreSQL, and the deadlines every connection works under.
public struct PostgresConfiguration: Sendable {
    /// A libpq connection URL or keyword/value string, e.g. `postgres://user@127.0.0.1:5432/fxstream`.
    /// Logged only through ``redactedURL``.
    public var url: String
    /// `application_name` shown in `pg_stat_activity`.
    public var applicationName: String
    /// Seconds to wait for a connection, handshake included (libpq `connect_timeout`): a server that
    /// accepts TCP and never answers fails the attempt after this long.
    public var connectTimeoutSeconds: Int
    /// Server-side deadlines set on every session (`options=-c ...`) and TCP-level ones (libpq keywords).
    public var timeouts: Timeouts

    /// Deadlines; zero turns one off. Set on every connection, reconnects included; a session may
    /// change its own (migrations lift the statement deadline for their long DDL).
    public struct Timeouts: Sendable, Equatable {
        /// `statement_timeout`: the longest a statement may run.
        public var statement: Duration
        /// `lock_timeout`: the longest a statement waits for a lock.
        public var lock: Duration
        /// `idle_in_transaction_session_timeout`: a transaction left idle this long is ended by the server.
        public var idleInTransaction: Duration
        /// `tcp_user_timeout`: unacknowledged data for this long (a black-holed network) breaks the
        /// connection; TCP keepalives probe an idle one after `keepaliveIdle`.
        public var tcpUser: Duration
        public var keepaliveIdle: Duration

        public init(statement: Duration = .seconds(60), lock: Duration = .seconds(30), idleInTransaction: Duration = .seconds(60),
                    tcpUser: Duration = .seconds(30), keepaliveIdle: Duration = .seconds(15)) {
            self.statement = statement
            self.lock = lock
            self.idleInTransaction = idleInTransaction
            self.tcpUser = tcpUser
            self.keepaliveIdle = keepaliveIdle
        }

        /// The libpq connection keywords and values that carry these deadlines.
        var connectionParameters: [(String, String)] {
            func ms(_ duration: Duration) -> String { String(duration.nanosecondsClamped / 1_000_000) }
            let options = "-c statement_timeout=\(ms(statement)) -c lock_timeout=\(ms(lock))"
                + " -c idle_in_transaction_session_timeout=\(ms(idleInTransaction))"
            let idleSeconds = max(1, keepaliveIdle.nanosecondsClamped / 1_000_000_000)
            return [("options", options), ("keepalives", "1"), ("keepalives_idle", String(idleSeconds)),
                    ("keepalives_interval", String(max(1, idleSeconds / 3))), ("keepalives_count", "3"),
                    ("tcp_user_timeout", ms(tcpUser))]
        }
    }

    public init(url: String, applicationName: String = "fxstream", connectTimeoutSeconds: Int = 10, timeouts: Timeouts = Timeouts()) {
        self.url = url
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.timeouts = timeouts
    }

    /// The URL with its password removed: safe to log.
    public var redactedURL: String { Redaction.redactURL(url) }
}
