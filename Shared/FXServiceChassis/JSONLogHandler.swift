import Foundation
import FXCore
import Logging

/// A swift-log handler writing one JSON object per line to standard error, for log shippers.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        var line = "{\"ts\":\(Self.quote(Self.timestamp())),\"level\":\(Self.quote(event.level.rawValue)),"
        line += "\"label\":\(Self.quote(label)),\"message\":\(Self.quote(event.message.description)),\"source\":\(Self.quote(event.source))"
        if let error = event.error { line += ",\"error\":\(Self.quote(String(describing: error)))" }
        if !merged.isEmpty {
            line += ",\"metadata\":" + Self.encode(.dictionary(merged))
        }
        line += "}\n"
        write(line)
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func timestamp() -> String {
        timestampStyle.format(Date())
    }

    static func encode(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): return quote(string)
        case .stringConvertible(let convertible): return quote(convertible.description)
        case .array(let array): return "[" + array.map(encode).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            return "{" + dictionary.sorted { $0.key < $1.key }.map { quote($0.key) + ":" + encode($0.value) }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ string: String) -> String {
        JSONWriter.quoted(string)
    }
}
