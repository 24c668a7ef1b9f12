import AsyncHTTPClient
import FXContracts
import FXCore
import FXVenues
import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import WSClient

/// What a Lightstreamer feed keeps across its connections: the session (so that a lost socket is
/// recovered, not replaced) and the endpoint of the last login (nil: log in again).
struct LightstreamerLink: Sendable {
    var session: TLCPSession?
    var endpoint: LightstreamerEndpoint?

    /// No endpoint yet (or a refusal dropped it), or the session was given up: log in first.
    var needsLogin: Bool { endpoint == nil || session?.needsNewSession != false }

    /// A login succeeded: its endpoint, and the session made with its credentials (or renewed with them).
    mutating func loggedIn(_ endpoint: LightstreamerEndpoint, subscriptions: [TLCPSession.Subscription]) {
        self.endpoint = endpoint
        if session == nil {
            session = TLCPSession(user: endpoint.user, password: endpoint.password, adapterSet: endpoint.adapterSet, subscriptions: subscriptions)
        } else {
            session?.renew(user: endpoint.user, password: endpoint.password)
        }
    }
}

extension FeedConnection {
    /// A Lightstreamer feed (IG): log in when a new session is needed (first, and after a session was
    /// given up: its tokens may have expired), open the WebSocket with the TLCP subprotocol, and let the
    /// ``TLCPSession`` drive it. A lost or stalled socket is recovered on the next one (the server resends
    /// what it sent in between: the disconnect gaps are withdrawn); a session replaced keeps them, so the
    /// window is reported. `OV` (updates the server dropped) is a `sequence` gap of that symbol.
    func connectLightstreamer(_ attempt: Attempt) async -> String {
        let subscriptions: [TLCPSession.Subscription]
        do {
            subscriptions = try provider.lightstreamerSubscriptions(symbols: settings.symbols)
        } catch {
            logger.error("cannot build the subscriptions: \(redacted(error.description))")
            return redacted(error.description)
        }
        if lightstreamer.withLock({ $0.needsLogin }) {
            let endpoint: LightstreamerEndpoint
            switch await login() {
            case .success(let value): endpoint = value
            case .failure(let failure): return failure.detail
            }
            lightstreamer.withLock { $0.loggedIn(endpoint, subscriptions: subscriptions) }
        }
        guard let url = lightstreamer.withLock({ $0.endpoint?.url }) else { return "no Lightstreamer endpoint" }
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = TLCPSession.subprotocol
        var detail = await runWebSocket(url: url, headers: headers) { inbound, outbound in
            self.opened()
            attempt.lastRead.store(self.clock.monotonic(), ordering: .releasing)
            self.logger.info("connected", metadata: ["symbols": .stringConvertible(self.settings.symbols.count)])
            let opened = self.lightstreamer.withLock { $0.session?.opened() ?? [] }
            guard await self.perform(opened, outbound: outbound, attempt: attempt) else { return }
            self.subscriptionsSent()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.watchLightstreamer(outbound, attempt: attempt) }
                try await self.readLightstreamer(inbound, outbound: outbound, attempt: attempt)
                group.cancelAll()
            }
        }
        if let forced = attempt.closeReason.withLock({ $0 }) {
            detail = forced
        } else if !Task.isCancelled {
            // The socket ended without the session asking: it is recovered on the next one.
            let actions = sessionLost(redacted(detail))
            for case .reconnect(let delay, _) in actions { attempt.retryDelay.withLock { $0 = delay } }
        }
        return redacted(detail)
    }

    /// The socket is lost for the session (recovered on the next one, or given up): recorded for a replay.
    func sessionLost(_ reason: String) -> [TLCPSession.Action] {
        tracker.withLock { _ in capture?.control(.sessionLost(reason: reason), at: clock.now()) }
        return lightstreamer.withLock { $0.session?.socketLost(reason) ?? [] }
    }

    struct LoginFailure: Error {
        var detail: String
    }

    /// The venue's REST login (its body holds the password: never logged).
    private func login() async -> Result<LightstreamerEndpoint, LoginFailure> {
        let spec: StreamRequest
        do {
            spec = try provider.loginRequest(base: settings.webSocketBase, credential: settings.credential)
        } catch {
            logger.error("cannot build the login: \(redacted(error.description))")
            return .failure(LoginFailure(detail: redacted(error.description)))
        }
        var request = HTTPClientRequest(url: spec.url)
        request.method = .init(rawValue: spec.method)
        for (name, value) in spec.headers { request.headers.add(name: name, value: value) }
        if let body = spec.body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(settings.connectTimeout.nanosecondsClamped)
            let response = try await HTTPClient.shared.execute(request, deadline: deadline)
            let body = try await response.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name] = header.value }
            do {
                return .success(try provider.lightstreamerEndpoint(status: Int(response.status.code), headers: headers,
                                                                   body: Array(buffer: body)))
            } catch {
                let message = redacted(error.description)
                tracker.withLock { $0.providerError(message) }
                metrics.providerErrors.increment()
                logger.error("login refused", metadata: ["status": .stringConvertible(response.status.code), "url": .string(spec.redactedURL),
                                                         "reason": .string(message)])
                return .failure(LoginFailure(detail: message))
            }
        } catch {
            let message = redacted("login failed: \(error)")
            logger.error("login failed", metadata: ["url": .string(spec.redactedURL), "reason": .string(message)])
            return .failure(LoginFailure(detail: message))
        }
    }

    /// Carries out the session's actions; false when the socket is to be closed (a reconnect or a fatal error).
    /// Without `outbound` (a replay) nothing is sent.
    func perform(_ actions: [TLCPSession.Action], outbound: WebSocketOutboundWriter?, attempt: Attempt,
                 line: Substring? = nil, receivedAt: Int64? = nil) async -> Bool {
        let receivedAt = receivedAt ?? clock.now()
        var keepOpen = true
        for action in actions {
            switch action {
            case .send(let text):
                guard let outbound else { continue }
                do { try await outbound.write(.text(text)) } catch { keepOpen = false }
            case .reconnect(let delay, let reason):
                attempt.retryDelay.withLock { $0 = delay }
                attempt.closeReason.withLock { $0 = reason }
                logger.notice("lightstreamer: reconnecting", metadata: ["reason": .string(redacted(reason)),
                                                                        "in_ms": .stringConvertible(delay.nanosecondsClamped / 1_000_000)])
                keepOpen = false
            case .update(let subscription, let item, let values):
                let events = provider.lightstreamerEvents(subscription: subscription, item: item, values: values,
                                                          symbols: settings.symbols, receivedAt: receivedAt)
                await process(events, raw: Array((line ?? "").utf8), receivedAt: receivedAt, attempt: attempt)
            case .lost(_, let item, let count):
                guard item >= 1, item <= settings.symbols.count else { continue }
                tracker.withLock { $0.lost(venueSymbol: settings.symbols[item - 1], count: count) }
                logger.warning("lightstreamer: the server dropped updates", metadata: [
                    "symbol": .string(settings.symbols[item - 1]), "count": .stringConvertible(count)])
            case .sessionReplaced(let reason):
                logger.warning("lightstreamer: a new session; what the old one held since the loss is reported as gaps",
                               metadata: ["reason": .string(redacted(reason))])
            case .recovered:
                tracker.withLock { $0.recovered() }
                logger.info("lightstreamer: session recovered; nothing lost")
            case .problem(let message):
                let raw = Array((line ?? "").utf8)
                queue.pushUrgent([reject(ConnectionRejectReason.protocolError, detail: redacted(message),
                                         payload: Array(raw.prefix(RejectRecord.maxRawBytes)), rawLength: raw.count, receivedAt: receivedAt)])
            case .fatal(let code, let message):
                let text = redacted("Lightstreamer refused the session (\(code)): \(message)")
                tracker.withLock { $0.providerError(text) }
                metrics.providerErrors.increment()
                logger.error("lightstreamer: session refused", metadata: ["code": .stringConvertible(code), "message": .string(text)])
                // The next attempt logs in again (new tokens) and opens a new session, after the backoff.
                lightstreamer.withLock { $0.endpoint = nil }
                attempt.closeReason.withLock { $0 = text }
                keepOpen = false
            }
        }
        return keepOpen
    }

    /// Reads the server's lines (a frame may carry several, each ending in CRLF) until the socket ends or
    /// the session asks for a new one.
    private func readLightstreamer(_ inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, attempt: Attempt) async throws {
        try await messages(inbound) { message in
            attempt.lastRead.store(clock.monotonic(), ordering: .releasing)
            guard await lightstreamerMessage(message, outbound: outbound, attempt: attempt, captured: true) else {
                try? await outbound.close(.normalClosure, reason: "new session")
                return false
            }
            return true
        }
    }

    /// One message of the server (a frame may carry several lines, each ending in CRLF), with one receive time
    /// for its lines; false when the session asks for the socket to be closed (the rest is not read).
    /// `captured`: the message goes to the raw capture (a replay's does not).
    func lightstreamerMessage(_ message: [UInt8], outbound: WebSocketOutboundWriter?, attempt: Attempt, captured: Bool) async -> Bool {
        let receivedAt = clock.now()
        if captured { tracker.withLock { _ in capture?.frame(message, receivedAt: receivedAt) } }
        let text = String(decoding: message, as: UTF8.self)
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) {
            metrics.frames.increment()
            tracker.withLock { $0.frameReceived(now: receivedAt, monotonic: clock.monotonic()) }
            let actions = lightstreamer.withLock { $0.session?.received(line) ?? [] }
            guard await perform(actions, outbound: outbound, attempt: attempt, line: line, receivedAt: receivedAt) else { return false }
        }
        return true
    }

    /// Every watchdog interval: a session silent past its keepalive (no data, no `PROBE`) is stalled and
    /// recovered on a new socket; the tracker's own checks (symbols, the connection's silence) run too.
    private func watchLightstreamer(_ outbound: WebSocketOutboundWriter, attempt: Attempt) async throws {
        while true {
            do {
                try await Task.sleep(for: settings.watchdogInterval)
            } catch {
                try? await outbound.close(.normalClosure, reason: "closing")
                return
            }
            let now = clock.now(), monotonic = clock.monotonic()
            let limit = lightstreamer.withLock { $0.session?.stallLimit ?? .seconds(7) }
            let silent = monotonic.subtractingClamped(attempt.lastRead.load(ordering: .acquiring))
            var reason = watchdog(now: now, monotonic: monotonic)
            if reason == nil, silent > limit.nanosecondsClamped {
                reason = "stalled: nothing for \(silent / 1_000_000)ms (keepalive + 2 s is \(limit.nanosecondsClamped / 1_000_000)ms)"
            }
            guard let reason else { continue }
            logger.warning("feed stale; recovering the session", metadata: ["reason": .string(reason)])
            let actions = sessionLost(reason)
            for case .reconnect(let delay, _) in actions { attempt.retryDelay.withLock { $0 = delay } }
            attempt.closeReason.withLock { $0 = "stale: \(reason)" }
            try? await outbound.close(.goingAway, reason: "stalled")
            return
        }
    }
}
