import CRdKafka
import Logging

/// Routes librdkafka's syslog-levelled log lines into swift-log. librdkafka redacts sensitive
/// properties in its own output; nothing here prints configuration values.
enum RDKafkaLogging {
    static func level(fromSyslog level: Int32) -> Logger.Level {
        switch level {
        case ...2: return .critical
        case 3: return .error
        case 4: return .warning
        case 5: return .notice
        case 6: return .info
        default: return .debug
        }
    }

    static func log(_ logger: Logger, level: Int32, facility: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?) {
        let facilityText = facility.map { String(cString: $0) } ?? "?"
        let text = message.map { String(cString: $0) } ?? ""
        logger.log(level: Self.level(fromSyslog: level), "librdkafka: \(text)",
                   metadata: ["rdkafka.facility": .string(facilityText)])
    }
}
