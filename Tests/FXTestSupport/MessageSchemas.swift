import Foundation
import FXCore
import FXKafka

/// The topic contracts' checker, `scripts/validate-messages.py` over `docs/schemas`, for specs.
public enum MessageSchemas {
    /// The repository's root.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the checker over `messages` (by topic name: `books`, `latest`, …), requiring each topic to hold
    /// a valid message; a tombstone goes in as a null value with its key.
    public static func validate(_ messages: [String: [KafkaConsumerMessage]]) throws -> (status: Int32, output: String) {
        let lines = messages.sorted { $0.key < $1.key }.flatMap { name, values in
            values.map { message in
                let value = message.isTombstone ? "null" : String(decoding: message.value, as: UTF8.self)
                let key = message.key.map { ",\"key\":" + JSONWriter.quoted(String(decoding: $0, as: UTF8.self)) } ?? ""
                return "{\"topic\":\(JSONWriter.quoted(name))\(key),\"value\":\(value)}"
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(TestEnvironment.uniqueName("schemas")).ndjson").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try Subprocess.output("/usr/bin/env", ["python3", root.appendingPathComponent("scripts/validate-messages.py").path,
                                                      "--schemas", root.appendingPathComponent("docs/schemas").path,
                                                      "--require", messages.keys.sorted().joined(separator: ","), file])
    }
}
