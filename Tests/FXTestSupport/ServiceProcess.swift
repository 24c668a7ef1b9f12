import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One of the project's executables, started as a child process for end-to-end tests.
public final class ServiceProcess: @unchecked Sendable {
    public let process = Process()
    public let port: Int
    private let output: URL

    /// The directory of the built executables: `FX_BIN_DIR`, else next to the test bundle.
    public static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["FX_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// Starts the executable with `--http-port 0` and waits until it logs the port its HTTP server bound
    /// (`listening on HOST:PORT`): no port is picked in advance, so none can be taken by another process
    /// first. A process that exits before it listens has port 0 (its exit status tells why).
    /// - Parameter subcommand: goes before every flag (e.g. `backfiller bootstrap`); a subcommand serves no
    ///   HTTP, so nothing is waited for.
    public init(_ executable: String, subcommand: String? = nil, arguments: [String] = [], environment: [String: String] = [:],
                listenTimeout: Duration = .seconds(60)) async throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("\(executable)-\(UUID().uuidString.prefix(8)).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = Self.binDirectory.appendingPathComponent(executable)
        process.arguments = (subcommand.map { [$0] } ?? []) + ["--http-port", "0"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["KAFKA_BROKERS"] = TestEnvironment.brokers
        env["DATABASE_URL"] = TestEnvironment.databaseURL
        // Retention deletes old candles of every source: tests replay old event times on one shared
        // database, so their aggregators keep everything.
        env["RETENTION"] = "1s=0,1m=0"
        // Replayed history is days old: keep it this side of the TimescaleDB compression horizon.
        env["COMPRESS_AFTER_DAYS"] = "3650"
        // The bound port is read from the `listening on` notice: a LOG_LEVEL of the developer's shell
        // above notice would hide it (a spec may still set its own).
        env["LOG_LEVEL"] = "info"
        env.merge(environment) { $1 }
        process.environment = env
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        guard subcommand == nil else {
            port = 0
            return
        }
        let deadline = ContinuousClock.now + listenTimeout
        var bound: Int?
        while bound == nil, process.isRunning, ContinuousClock.now < deadline {
            bound = Self.boundPort(in: (try? String(contentsOf: output, encoding: .utf8)) ?? "")
            if bound == nil { try? await Task.sleep(for: .milliseconds(20)) }
        }
        bound = bound ?? Self.boundPort(in: (try? String(contentsOf: output, encoding: .utf8)) ?? "")
        if bound == nil, process.isRunning {
            process.terminate()
            throw TestSupportError("\(executable) did not report a listening port within \(listenTimeout)")
        }
        port = bound ?? 0
    }

    /// The port of the first `listening on HOST:PORT` line.
    static func boundPort(in log: String) -> Int? {
        guard let match = log.firstMatch(of: /listening on \S+:(\d+)/) else { return nil }
        return Int(match.output.1)
    }

    /// Everything the process wrote so far.
    public var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// GET a path of its HTTP server: status and body, nil while it does not answer.
    public func get(_ path: String, headers: [String: String] = [:]) async -> (status: Int, body: String)? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse else { return nil }
        return (http.statusCode, String(decoding: data, as: UTF8.self))
    }

    /// GET a path of its HTTP server with the response's headers (names lower-cased); nil while it does not answer.
    public func fetch(_ path: String, headers: [String: String] = [:]) async -> (status: Int, body: String, headers: [String: String])? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpShouldHandleCookies = false
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse else { return nil }
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
        return (http.statusCode, String(decoding: data, as: UTF8.self), fields)
    }

    /// POST to a path of its HTTP server: status and body, nil while it does not answer.
    public func post(_ path: String) async -> (status: Int, body: String)? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse else { return nil }
        return (http.statusCode, String(decoding: data, as: UTF8.self))
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit status (nil on timeout).
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit; returns the exit status (nil on timeout).
    public func terminate(timeout: Duration = .seconds(15)) async -> Int32? {
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: output)
    }
}
