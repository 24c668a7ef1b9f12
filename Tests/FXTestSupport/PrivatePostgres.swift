import Foundation

/// A PostgreSQL cluster of a test's own (initdb in a temporary directory, a free port), for tests that
/// restart or stop the server. Runs as the `postgres` user when the tests run as root.
public final class PrivatePostgres: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }
    private let binaries: String
    /// Whether this cluster preloads TimescaleDB.
    public let timescale: Bool

    /// Further `-c name=value` server settings.
    public let settings: [String]

    /// - Parameters:
    ///   - timescale: preload TimescaleDB (default: when installed and not switched off).
    ///   - settings: further server settings, e.g. `timescaledb.license=apache`.
    public init(timescale: Bool = PrivatePostgres.usesTimescale, settings: [String] = []) throws {
        self.timescale = timescale
        self.settings = settings
        binaries = ProcessInfo.processInfo.environment["PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        port = try TestEnvironment.freePort()
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fx-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if getuid() == 0 { try Self.shell(["chown", "-R", "postgres:postgres", directory.path]) }
        try run("\(binaries)/initdb", "-D", dataPath, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C")
        try start()
    }

    private var dataPath: String { directory.appendingPathComponent("data").path }

    public func start() throws {
        try run("\(binaries)/pg_ctl", "-D", dataPath, "-l", directory.appendingPathComponent("log").path, "-w", "-t", "60",
                "-o", "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off" + (timescale ? Self.timescaleOptions : "")
                    + settings.map { " -c \($0)" }.joined(), "start")
    }

    /// Whether this cluster runs TimescaleDB: when it is installed, unless `FX_TEST_TIMESCALEDB=off`
    /// (the plain-PostgreSQL pass of the suite), like the local stack's two databases.
    public static var usesTimescale: Bool {
        ProcessInfo.processInfo.environment["FX_TEST_TIMESCALEDB"] != "off"
            && FileManager.default.fileExists(atPath: (ProcessInfo.processInfo.environment["PG_BIN"] ?? "/usr/lib/postgresql/15/bin")
                                                + "/../lib/timescaledb.so")
    }

    private static let timescaleOptions = " -c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off -c max_worker_processes=16"

    /// Stops the server at once (`immediate`: no clean shutdown, like a crash) and starts it again.
    public func restart() throws {
        try stop(mode: "immediate")
        try start()
    }

    public func stop(mode: String = "fast") throws {
        try run("\(binaries)/pg_ctl", "-D", dataPath, "-m", mode, "-w", "stop")
    }

    deinit {
        try? stop(mode: "immediate")
        try? FileManager.default.removeItem(at: directory)
    }

    private func run(_ arguments: String...) throws {
        let command = getuid() == 0 ? ["runuser", "-u", "postgres", "--"] + arguments : arguments
        try Self.shell(command)
    }

    private static func shell(_ arguments: [String]) throws {
        try Subprocess.check(arguments)
    }
}
