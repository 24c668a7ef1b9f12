import FXCore

/// How urgent an alert is: `warning` or `critical` (a warning held long enough escalates).
public enum AlertSeverity: String, Sendable, Comparable, CaseIterable {
    case warning, critical
    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool { lhs == .warning && rhs == .critical }
}

/// One `<prefix>alerts` message (JSON v1, key = `id`): an alert fired, escalated, or resolved; also sent
/// to webhooks and logged. ``jsonBytes()`` is its one encoder, ``init(json:)`` its one decoder.
public struct AlertEvent: Sendable, Equatable {
    public enum Status: String, Sendable { case firing, resolved }

    /// `<rule>:<subject>` — the same for every event of one alert, from firing to resolved.
    public var id: String
    public var rule: String
    public var status: Status
    public var severity: AlertSeverity
    /// True on the firing event that raised a warning to critical.
    public var escalated: Bool
    /// What the alert is about: `source`+`symbol` (streams, gaps), `source` (latency), `service`+`instance` (liveness).
    public var subject: [String: String]
    public var summary: String
    public var labels: [String: String]
    /// When the condition started to hold (ns), and when this event was made (ns).
    public var startedAt: Int64
    public var at: Int64

    public init(id: String, rule: String, status: Status, severity: AlertSeverity, escalated: Bool, subject: [String: String],
                summary: String, labels: [String: String], startedAt: Int64, at: Int64) {
        self.id = id
        self.rule = rule
        self.status = status
        self.severity = severity
        self.escalated = escalated
        self.subject = subject
        self.summary = summary
        self.labels = labels
        self.startedAt = startedAt
        self.at = at
    }

    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter(capacity: 384)
        w.beginObject()
        w.key("v"); w.number(1)
        w.key("id"); w.string(id)
        w.key("rule"); w.string(rule)
        w.key("status"); w.string(status.rawValue)
        w.key("severity"); w.string(severity.rawValue)
        w.key("escalated"); w.bool(escalated)
        w.key("subject"); w.beginObject()
        for key in subject.keys.sorted() { w.key(key); w.string(subject[key]) }
        w.endObject()
        w.key("summary"); w.string(summary)
        w.key("labels"); w.beginObject()
        for key in labels.keys.sorted() { w.key(key); w.string(labels[key]) }
        w.endObject()
        w.key("started_ts"); w.number(startedAt)
        w.key("ts"); w.number(at)
        w.endObject()
        return w.bytes
    }

    /// Reads a message written by ``jsonBytes()`` (for consumers and tests).
    public init(json: [UInt8]) throws {
        let value = try JSONParser().parse(json)
        func field<T>(_ name: String, _ read: (JSONValue) -> T?) throws -> T { try value.contractField(name, in: "alert", read) }
        func strings(_ name: String) throws -> [String: String] {
            guard case .object(let members)? = value[name] else { throw ContractError(message: "alert: missing or invalid '\(name)'") }
            var result: [String: String] = [:]
            for (key, member) in members {
                guard let text = member.stringValue else { throw ContractError(message: "alert: '\(name).\(key)' is not a string") }
                result[key] = text
            }
            return result
        }
        guard try field("v", { $0.int64Value }) == 1 else { throw ContractError(message: "alert: unsupported version") }
        self.init(id: try field("id", { $0.stringValue }), rule: try field("rule", { $0.stringValue }),
                  status: try field("status", { $0.stringValue.flatMap(Status.init(rawValue:)) }),
                  severity: try field("severity", { $0.stringValue.flatMap(AlertSeverity.init(rawValue:)) }),
                  escalated: try field("escalated", { $0.boolValue }), subject: try strings("subject"),
                  summary: try field("summary", { $0.stringValue }), labels: try strings("labels"),
                  startedAt: try field("started_ts", { $0.int64Value }), at: try field("ts", { $0.int64Value }))
    }
}
