import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import AsyncHTTPClient
import Logging
import NIOCore
import NIOFoundationCompat
import WSClient

/// Debian's Chromium, headless, for status-page tests: opens a URL and keeps the page running (its own
/// scripts poll and redraw in real time); ``evaluate(_:)`` runs JavaScript in it through the DevTools
/// protocol and returns the result as text.
public final class HeadlessBrowser: @unchecked Sendable {
    public static var executable: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let process = Process()
    let port: Int
    let profile: URL
    let log: URL

    public init(_ url: String) throws {
        guard let executable = Self.executable else { throw TestSupportError("chromium is not installed (scripts/install-deps.sh installs it)") }
        port = try TestEnvironment.freePort()
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=\(port)", "--remote-allow-origins=*",
                             "--user-data-dir=\(profile.path)", "--window-size=1280,900", url]
        log = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// The page's DevTools WebSocket, once Chromium answers.
    private func pageSocket() async throws -> String {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            // (Foundation's URLSession on Linux fails on Chromium's DevTools HTTP answers: "Failed writing header".)
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/json/list"), timeout: .seconds(2)),
               let body = try? await response.body.collect(upTo: 1 << 20),
               let pages = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [[String: Any]],
               let socket = pages.first(where: { $0["type"] as? String == "page" })?["webSocketDebuggerUrl"] as? String {
                return socket
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw TestSupportError("chromium's DevTools did not answer on port \(port) (running: \(process.isRunning)); its output:\n\(output.suffix(2000))")
    }

    /// Evaluates `expression` in the page; its value as text (JSON-encoded unless it is a string).
    public func evaluate(_ expression: String) async throws -> String {
        let socket = try await pageSocket()
        let request = try JSONSerialization.data(withJSONObject: [
            "id": 1, "method": "Runtime.evaluate", "params": ["expression": expression, "returnByValue": true],
        ] as [String: Any])
        final class Box: @unchecked Sendable { var text = "" }
        let box = Box()
        var logger = Logger(label: "devtools")
        logger.logLevel = .error
        let client = WebSocketClient(url: socket, configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
            try await outbound.write(.text(String(decoding: request, as: UTF8.self)))
            for try await message in inbound.messages(maxSize: 1 << 24) {
                guard case .text(let text) = message,
                      let reply = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                      reply["id"] as? Int == 1 else { continue }
                let value = ((reply["result"] as? [String: Any])?["result"] as? [String: Any])?["value"]
                if let string = value as? String { box.text = string }
                else if let value, JSONSerialization.isValidJSONObject([value]),
                        let data = try? JSONSerialization.data(withJSONObject: [value]) { box.text = String(decoding: data, as: UTF8.self) }
                try await outbound.close(.normalClosure, reason: nil)
                return
            }
        }
        _ = try await client.run()
        return box.text
    }

    /// The document as the page's scripts have it now.
    public func html() async throws -> String { try await evaluate("document.documentElement.outerHTML") }

    public func close() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: profile)
        try? FileManager.default.removeItem(at: log)
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}
