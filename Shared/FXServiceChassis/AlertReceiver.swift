import FXCore
import Hummingbird
import Logging
import Synchronization

/// A local webhook receiver for a laptop stack (`fxadmin alert-receiver`): every POST (to any path) is
/// logged as one line and kept, the latest ``capacity`` first-in first-out; `GET /received` returns them as
/// a JSON array of `{"path","received_ts","body"}` (`body` as received, when it is JSON; else a string).
/// Alertmanager's webhook and the monitor's `ALERT_WEBHOOKS` both post here in docker-compose.yml.
public enum AlertReceiver {
    public static let capacity = 200

    public static func make(host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        let received = Mutex<[String]>([])
        let router = Router()
        router.post("**") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let body = String(buffer: buffer)
            let path = request.uri.path
            logger.notice("received", metadata: ["path": .string(path), "body": .string(body)])
            var entry = "{\"path\":" + JSONWriter.quoted(path) + ",\"received_ts\":" + String(WallClock.nanoseconds()) + ",\"body\":"
            entry += isJSON(body) ? body : JSONWriter.quoted(body)
            entry += "}"
            received.withLock { items in
                items.append(entry)
                if items.count > capacity { items.removeFirst(items.count - capacity) }
            }
            return Response(status: .ok)
        }
        router.get("/received") { _, _ -> Response in
            let items = received.withLock { $0 }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: "[" + items.joined(separator: ",") + "]")))
        }
        router.get("/health/live") { _, _ in "live alert-receiver\n" }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "alert-receiver"),
                           onServerRunning: { channel in logger.notice("HTTP listening on \(host):\(channel.localAddress?.port ?? port)") },
                           logger: logger)
    }

    static func isJSON(_ text: String) -> Bool {
        (try? JSONParser().parse(text)) != nil
    }
}
