import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// An HTTP endpoint that records every POSTed body (alert webhooks in tests); it can answer 500 to the
/// first `failures` requests.
public final class WebhookReceiver: Sendable {
    public let port: Int
    private final class Log: Sendable {
        let bodies = Mutex<[String]>([])
        let requests = Mutex(0)
        let failuresLeft: Mutex<Int>
        init(failures: Int) { failuresLeft = Mutex(failures) }
    }
    private let log: Log
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let group: Mutex<ServiceGroup?> = Mutex(nil)

    public init(failures: Int = 0) async throws {
        port = try TestEnvironment.freePort()
        let log = Log(failures: failures)
        self.log = log
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            log.requests.withLock { $0 += 1 }
            let fail = log.failuresLeft.withLock { left -> Bool in
                guard left > 0 else { return false }
                left -= 1
                return true
            }
            if fail { return Response(status: .internalServerError) }
            log.bodies.withLock { $0.append(String(buffer: buffer)) }
            return Response(status: .ok)
        }
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                                      logger: TestEnvironment.logger("webhook"))
        let serviceGroup = ServiceGroup(configuration: .init(services: [application], logger: TestEnvironment.logger("webhook")))
        group.withLock { $0 = serviceGroup }
        task.withLock { $0 = Task { try? await serviceGroup.run() } }
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }
    /// Bodies answered with 200, in arrival order.
    public var received: [String] { log.bodies.withLock { $0 } }
    /// Every request, failed ones included.
    public var requestCount: Int { log.requests.withLock { $0 } }

    public func stop() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
        await task.withLock { $0 }?.value
    }
}
