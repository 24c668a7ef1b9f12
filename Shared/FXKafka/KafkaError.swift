import CRdKafka

/// An error from the Kafka bridge: a stable ``Code``, librdkafka's own error (when there is one) and context.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// What kind of operation failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public var description: String { rawValue }

        public static let configuration = Code(rawValue: "configuration")
        public static let clientCreation = Code(rawValue: "client_creation")
        public static let produce = Code(rawValue: "produce")
        public static let delivery = Code(rawValue: "delivery")
        public static let flush = Code(rawValue: "flush")
        public static let consume = Code(rawValue: "consume")
        public static let subscribe = Code(rawValue: "subscribe")
        public static let rebalance = Code(rawValue: "rebalance")
        public static let commit = Code(rawValue: "commit")
        public static let admin = Code(rawValue: "admin")
        public static let metadata = Code(rawValue: "metadata")
        public static let shutdown = Code(rawValue: "shutdown")
        public static let fatal = Code(rawValue: "fatal")
    }

    /// Whether a message reached the broker's log, as librdkafka knows it (`rd_kafka_message_status`).
    public enum PersistenceStatus: String, Sendable {
        /// Never sent or refused: safe to send again without creating a duplicate.
        case notPersisted = "not_persisted"
        /// Sent, but no acknowledgement came back: a retry may duplicate it.
        case possiblyPersisted = "possibly_persisted"
        /// Written and acknowledged.
        case persisted = "persisted"
    }

    public var code: Code
    public var message: String
    /// librdkafka's `rd_kafka_resp_err_t` value, when the error came from librdkafka.
    public var rdkafkaError: Int32?
    /// librdkafka's symbolic name of that error, e.g. `_MSG_TIMED_OUT`.
    public var rdkafkaName: String?
    public var isRetriable: Bool
    public var isFatal: Bool
    /// For delivery failures: whether the message may nevertheless be on the broker.
    public var persistence: PersistenceStatus?
    public var context: [String: String]

    public init(code: Code, message: String, rdkafkaError: Int32? = nil, rdkafkaName: String? = nil,
                isRetriable: Bool = false, isFatal: Bool = false, persistence: PersistenceStatus? = nil,
                context: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.rdkafkaError = rdkafkaError
        self.rdkafkaName = rdkafkaName
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.persistence = persistence
        self.context = context
    }

    /// Builds an error from a librdkafka response code.
    init(code: Code, rdkafka error: rd_kafka_resp_err_t, context: [String: String] = [:]) {
        self.init(code: code,
                  message: String(cString: rd_kafka_err2str(error)),
                  rdkafkaError: error.rawValue,
                  rdkafkaName: String(cString: rd_kafka_err2name(error)),
                  context: context)
    }

    /// Builds an error from a librdkafka `rd_kafka_error_t`, destroying it.
    init(code: Code, consuming error: OpaquePointer, context: [String: String] = [:]) {
        defer { rd_kafka_error_destroy(error) }
        self.init(code: code,
                  message: String(cString: rd_kafka_error_string(error)),
                  rdkafkaError: rd_kafka_error_code(error).rawValue,
                  rdkafkaName: String(cString: rd_kafka_error_name(error)),
                  isRetriable: rd_kafka_error_is_retriable(error) != 0,
                  isFatal: rd_kafka_error_is_fatal(error) != 0,
                  context: context)
    }

    /// The producer instance cannot go on (a fatal error, or its idempotent producer id was fenced by the
    /// broker): only a new producer can deliver again.
    public var requiresNewProducer: Bool {
        isFatal || ["PRODUCER_FENCED", "_FENCED", "INVALID_PRODUCER_EPOCH", "UNKNOWN_PRODUCER_ID"].contains(rdkafkaName ?? "")
    }

    public var description: String {
        var text = "KafkaError(\(code)): \(message)"
        if let rdkafkaName { text += " [\(rdkafkaName)]" }
        if let persistence { text += " persistence=\(persistence.rawValue)" }
        if isFatal { text += " fatal" }
        if isRetriable { text += " retriable" }
        if !context.isEmpty {
            text += " " + context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        return text
    }
}
