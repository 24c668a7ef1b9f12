import FXTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The compose stack's local webhook receiver (`fxadmin alert-receiver`), where Alertmanager and the
/// monitor post their alerts.
@Suite("fxadmin alert-receiver", .tags(.integration))
struct AlertReceiverTests {
    @Test("every POST is logged and kept; GET /received returns them in order, JSON bodies as JSON")
    func receives() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("alert-receiver-\(UUID().uuidString.prefix(8)).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = ServiceProcess.binDirectory.appendingPathComponent("fxadmin")
        process.arguments = ["alert-receiver", "--http-host", "127.0.0.1", "--http-port", "0"]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        defer { process.terminate() }
        var port: Int?
        _ = try await TestEnvironment.eventually(timeout: .seconds(20)) {
            port = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").firstMatch(of: /listening on \S+:(\d+)/).flatMap { Int($0.output.1) }
            return port != nil
        }
        let base = try #require(port.map { "http://127.0.0.1:\($0)" })
        for (path, body) in [("/alertmanager", #"{"status":"firing","alerts":[{"labels":{"alertname":"FXStreamStreamDown"}}]}"#), ("/monitor", "not json")] {
            var request = URLRequest(url: URL(string: base + path)!)
            request.httpMethod = "POST"
            request.httpBody = Data(body.utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
        }
        let (data, _) = try await URLSession.shared.data(from: URL(string: base + "/received")!)
        let received = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(received.map { $0["path"] as? String } == ["/alertmanager", "/monitor"])
        #expect(((received.first?["body"] as? [String: Any])?["status"] as? String) == "firing")
        #expect(received.last?["body"] as? String == "not json")
        #expect(((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("FXStreamStreamDown"), "each alert is logged")
    }
}
