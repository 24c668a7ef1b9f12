import Foundation
import FXCore

/// One versioned schema change: a file `NNNN_name.sql` applied once, in version order.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// FNV-1a 64 of the SQL text: a changed file that was already applied is detected and refused.
    public var checksum: String { String(FNV1a.hash64(sql), radix: 16) }

    /// Checksums of earlier texts of this migration that are accepted as applied: a revised file says
    /// so in a header line `-- fxstream: supersedes checksum <hex>` (one per earlier text).
    public var supersededChecksums: Set<String> {
        var checksums: Set<String> = []
        for line in sql.split(separator: "\n") where line.hasPrefix("-- fxstream: supersedes checksum ") {
            checksums.insert(String(line.dropFirst("-- fxstream: supersedes checksum ".count)).trimmingCharacters(in: .whitespaces))
        }
        return checksums
    }

    /// Whether a checksum recorded as applied stands for this migration.
    public func accepts(appliedChecksum: String) -> Bool {
        appliedChecksum == checksum || supersededChecksums.contains(appliedChecksum)
    }

    /// Reads `NNNN_name.sql` files from a directory, in version order. Rejects duplicate versions.
    public static func load(from directory: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        var migrations: [Migration] = []
        for file in files {
            let base = file.deletingPathExtension().lastPathComponent
            guard let underscore = base.firstIndex(of: "_"), let version = Int(base[..<underscore]) else {
                throw PostgresError(code: .migration, message: "migration file name must be NNNN_name.sql",
                                    context: ["file": file.lastPathComponent])
            }
            let sql = try String(contentsOf: file, encoding: .utf8)
            migrations.append(Migration(version: version, name: String(base[base.index(after: underscore)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw PostgresError(code: .migration, message: "two migrations share version \(a.version)")
        }
        return migrations
    }

    /// The migrations shipped with FXStream (`Shared/FXPostgres/Migrations`).
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw PostgresError(code: .migration, message: "bundled Migrations directory not found")
        }
        return try load(from: directory)
    }
}
