import FXContracts
import FXCore
import Foundation

/// The raw capture's files (`fxadmin capture-export`; `fxadmin replay --from-file`): one file per source
/// and UTC day of receive time, `<source>-<YYYY-MM-DD>.raw.jsonl.zst`, a zstd-compressed JSON Lines text.
///
/// The first line describes the file: `{"format":"fxstream-raw","v":1,"source":"coinbase","day":"2026-12-06"}`.
/// Every other line is one record of the raw topic, in its connection's order, with the topic's headers as
/// fields: `key`, `kind`, `recv_ts`, `connection`, `instance`, `session`, `sub_version`, `seq`, optional
/// `frame_bytes`, `frame_limit`, `truncated`, `cut`, and the value as `text` (when it is valid UTF-8: the JSON
/// string decodes to exactly its bytes) or `base64`. Where a connection first appears in a file, its
/// `start`, `open` and `subscribe` records come first, copied with `"context":true`, so each file replays on
/// its own. `zstd -dc FILE | jq` reads it.
public enum RawCaptureFile {
    public static let format = "fxstream-raw"
    public static let version: Int64 = 1
    public static let suffix = ".raw.jsonl.zst"

    /// The UTC day (`YYYY-MM-DD`) of a receive time.
    public static func day(of nanoseconds: Int64) -> String {
        String(Timestamps.rfc3339(nanoseconds: nanoseconds).prefix(10))
    }

    public static func fileName(source: String, day: String) -> String { "\(source)-\(day)\(suffix)" }

    static func headerLine(source: String, day: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 96)
        writer.beginObject()
        writer.key("format"); writer.string(format)
        writer.key("v"); writer.number(version)
        writer.key("source"); writer.string(source)
        writer.key("day"); writer.string(day)
        writer.endObject()
        return writer.bytes
    }

    /// One record as a line (without its newline).
    public static func line(_ record: RawRecord) -> [UInt8] {
        var writer = JSONWriter(capacity: record.value.count + 256)
        writer.beginObject()
        writer.key("key"); writer.string(record.key)
        for (name, value) in record.headers {
            writer.key(name)
            let text = String(decoding: value, as: UTF8.self)
            if let number = Int64(text), name != "connection", name != "instance" { writer.number(number) } else { writer.string(text) }
        }
        if record.context { writer.key("context"); writer.bool(true) }
        if let text = String(validating: record.value, as: UTF8.self) {
            writer.key("text"); writer.string(text)
        } else {
            writer.key("base64"); writer.string(Data(record.value).base64EncodedString())
        }
        writer.endObject()
        return writer.bytes
    }

    /// Reads a record line.
    public static func record(line: [UInt8]) throws -> RawRecord {
        let value = try JSONParser(maxBytes: 1 << 30).parse(line)
        guard case .object(let members) = value else { throw ContractError(message: "raw file: a line is not an object") }
        var headers: [(String, [UInt8]?)] = []
        for (name, member) in members where !["key", "text", "base64", "context"].contains(name) {
            switch member {
            case .number(let literal): headers.append((name, Array(literal.utf8)))
            case .string(let text): headers.append((name, Array(text.utf8)))
            default: throw ContractError(message: "raw file: field '\(name.prefix(40))' is neither a number nor a string")
            }
        }
        let payload: [UInt8]
        if let text = members["text"]?.stringValue {
            payload = Array(text.utf8)
        } else if let encoded = members["base64"]?.stringValue, let data = Data(base64Encoded: encoded) {
            payload = [UInt8](data)
        } else {
            throw ContractError(message: "raw file: a record has neither 'text' nor 'base64'")
        }
        var record = try RawRecord(key: members["key"]?.stringValue.map { Array($0.utf8) }, value: payload, headers: headers)
        record.context = members["context"]?.boolValue == true
        return record
    }

    /// Writes records into one file per source and day under `directory` (existing files are replaced).
    public final class Writer {
        private let directory: String
        private var files: [String: ZstdFileWriter] = [:]
        /// The connections (instance, key) each file holds so far.
        private var connections: [String: Set<String>] = [:]
        public private(set) var paths: [String] = []
        public private(set) var records = 0

        public init(directory: String) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            self.directory = directory
        }

        /// Writes `record`; where its connection first appears in the file, `context` (its latest `start`,
        /// `open`, `subscribe`) goes first, marked as context.
        public func write(_ record: RawRecord, context: [RawRecord] = []) throws {
            let day = RawCaptureFile.day(of: record.receivedAt)
            let name = RawCaptureFile.fileName(source: record.source, day: day)
            let file: ZstdFileWriter
            if let open = files[name] {
                file = open
            } else {
                let path = (directory as NSString).appendingPathComponent(name)
                file = try ZstdFileWriter(path: path)
                try file.write(RawCaptureFile.headerLine(source: record.source, day: day) + [UInt8(ascii: "\n")])
                files[name] = file
                paths.append(path)
            }
            let connection = record.instance + "|" + record.key
            if connections[name, default: []].insert(connection).inserted {
                for var earlier in context where earlier.sequence < record.sequence {
                    earlier.context = true
                    try file.write(RawCaptureFile.line(earlier) + [UInt8(ascii: "\n")])
                }
            }
            try file.write(RawCaptureFile.line(record) + [UInt8(ascii: "\n")])
            records += 1
        }

        /// Ends every file.
        public func close() throws {
            for file in files.values { try file.close() }
            files = [:]
        }
    }

    /// The records of `paths` (files, or directories whose capture files are taken), in order: files by
    /// name (a source's days in order), lines as written.
    public static func read(_ paths: [String], _ body: (RawRecord) async throws -> Void) async throws {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw RawCaptureFileError("\(path): no such file") }
            if isDirectory.boolValue {
                files += try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(suffix) }
                    .map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        for file in files.sorted(by: { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }) {
            var number = 0
            do {
                let reader = try ZstdLineReader(path: file)
                guard let first = try reader.nextLine(), let header = try? JSONParser().parse(first),
                      header["format"]?.stringValue == format, header["v"]?.int64Value == version else {
                    throw RawCaptureFileError("not an \(format) v\(version) file")
                }
                number = 1
                while let line = try reader.nextLine() {
                    number += 1
                    if line.isEmpty { continue }
                    let parsed: RawRecord
                    do { parsed = try record(line: line) } catch let error as ContractError {
                        throw RawCaptureFileError(error.message)
                    } catch {
                        throw RawCaptureFileError("not a record: \(error)")
                    }
                    try await body(parsed)
                }
            } catch let error as RawCaptureFileError {
                throw RawCaptureFileError("\(file)\(number > 0 ? ":\(number)" : ""): \(error.description)")
            }
        }
    }
}
