/// A PostgreSQL SQLSTATE code with the names of the ones this project acts on.
public struct SQLState: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The two-character class, e.g. `23` (integrity constraint violation).
    public var errorClass: String { String(rawValue.prefix(2)) }

    public static let uniqueViolation = SQLState("23505")
    public static let foreignKeyViolation = SQLState("23503")
    public static let notNullViolation = SQLState("23502")
    public static let checkViolation = SQLState("23514")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let syntaxError = SQLState("42601")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedColumn = SQLState("42703")
    public static let insufficientPrivilege = SQLState("42501")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let numericValueOutOfRange = SQLState("22003")
    public static let divisionByZero = SQLState("22012")
    public static let adminShutdown = SQLState("57P01")
    public static let cannotConnectNow = SQLState("57P03")
    public static let queryCanceled = SQLState("57014")
    public static let lockNotAvailable = SQLState("55P03")

    private static let names: [String: String] = [
        "23505": "unique_violation", "23503": "foreign_key_violation", "23502": "not_null_violation",
        "23514": "check_violation", "40001": "serialization_failure", "40P01": "deadlock_detected",
        "42601": "syntax_error", "42P01": "undefined_table", "42703": "undefined_column", "42501": "insufficient_privilege",
        "22P02": "invalid_text_representation", "22021": "character_not_in_repertoire", "22003": "numeric_value_out_of_range", "22012": "division_by_zero",
        "57P01": "admin_shutdown", "57P03": "cannot_connect_now", "57014": "query_canceled",
        "55P03": "lock_not_available",
    ]

    private static let classNames: [String: String] = [
        "08": "connection_exception", "22": "data_exception", "23": "integrity_constraint_violation",
        "25": "invalid_transaction_state", "28": "invalid_authorization", "40": "transaction_rollback",
        "42": "syntax_error_or_access_rule_violation", "53": "insufficient_resources", "57": "operator_intervention",
        "58": "system_error", "XX": "internal_error",
    ]

    /// The condition name, or its class's name for codes without a name here.
    public var name: String { Self.names[rawValue] ?? Self.classNames[errorClass] ?? "unknown" }

    /// Whether running the same transaction again may succeed (serialization failures, deadlocks,
    /// connection exceptions, a server shutting down).
    public var isTransient: Bool {
        ["40", "08"].contains(errorClass) || self == .adminShutdown || self == .cannotConnectNow
    }

    /// Whether the statement's data itself was refused (class 22 data exception, class 54 program limit
    /// exceeded, e.g. an index row over the btree limit, or a check violation): running it again fails the
    /// same way, so the input must be split to find the culprit and set aside instead.
    public var isDataError: Bool {
        ["22", "54"].contains(errorClass) || self == .checkViolation
    }

    public var description: String { "\(rawValue) (\(name))" }
}
