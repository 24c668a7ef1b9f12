import Hummingbird
import Logging
import Prometheus

/// The HTTP endpoints every service serves:
/// - `GET /metrics`: Prometheus text format (version 0.0.4).
/// - `GET /health/live`: 200 while the process runs.
/// - `GET /health/ready`: 200 when every dependency check passes, else 503; the body lists each check.
/// Both health bodies end with the role's running totals (`counter <name> <value>` lines), the values
/// its heartbeats and `/metrics` report.
public enum StatusHTTPServer {
    public static func make(host: String, port: Int, registry: PrometheusCollectorRegistry, readiness: Readiness,
                            serviceName: String, counters: (@Sendable () -> [(String, Int64)])? = nil,
                            routes: (@Sendable (Router<BasicRequestContext>) -> Void)? = nil,
                            logger: Logger) -> some ApplicationProtocol {
        @Sendable func totals() -> String {
            (counters?() ?? []).map { "counter \($0.0) \($0.1)\n" }.joined()
        }
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/health/live") { _, _ -> Response in
            textResponse(.ok, "live \(serviceName)\n" + totals())
        }
        router.get("/health/ready") { _, _ -> Response in
            let checks = readiness.snapshot.sorted { $0.key < $1.key }
            var body = readiness.isReady ? "ready \(serviceName)\n" : "not ready \(serviceName)\n"
            for (name, check) in checks {
                body += "\(name): \(check.ready ? "ok" : "failing") \(check.detail)\n"
            }
            return textResponse(readiness.isReady ? .ok : .serviceUnavailable, body + totals())
        }
        routes?(router)
        // The bound port is logged once the server listens: with `--http-port 0` the system picks a free one,
        // and whoever started the process (a test, a supervisor) reads it back from this line.
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: serviceName),
                           onServerRunning: { channel in
                               logger.notice("HTTP listening on \(host):\(channel.localAddress?.port ?? port)")
                           },
                           logger: logger)
    }

    private static func textResponse(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
