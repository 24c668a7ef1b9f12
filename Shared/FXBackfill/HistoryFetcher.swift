import AsyncHTTPClient
import FXCore
import FXVenues
import Foundation
import Logging
import NIOCore
import Synchronization

/// Sends history requests over HTTP, each after a token of the source's shared rate limit; a 429 backs
/// the whole bucket off by its `Retry-After` (for every replica) and the request is sent again.
/// Uses the process's one `HTTPClient` (``HistoryHTTPClient``), which it does not own.
public final class HistoryFetcher: Sendable {
    /// What one request ended with.
    public enum Outcome: Sendable, Equatable {
        case answer(HistoryAnswer)
        /// The body could not be read as history: quarantined, never stored.
        case malformed(HistoryAnswerError, body: [UInt8])
    }

    /// A transport failure (connection refused, timeout): worth retrying later.
    public struct TransportError: Error, CustomStringConvertible, Sendable {
        public var url: String
        public var message: String
        public var description: String { "\(message) (\(url))" }
    }

    static let maxBodyBytes = 16 << 20
    static let maxRateLimitedAttempts = 20

    let client: HTTPClient
    let limiter: SharedRateLimiter
    let timeout: Duration
    let metrics: BackfillMetrics
    let logger: Logger
    /// A session venue's headers (its login's tokens) per rate bucket, until a 401 asks for a new login.
    private let sessions = Mutex<[String: [String: String]]>([:])

    public init(client: HTTPClient, limiter: SharedRateLimiter, timeout: Duration, metrics: BackfillMetrics, logger: Logger) {
        self.client = client
        self.limiter = limiter
        self.timeout = timeout
        self.metrics = metrics
        self.logger = logger
    }

    /// Sends `request` for `source` under its rate limit and reads the answer with `history`.
    public func fetch(_ request: HistoryRequest, source: HistorySource) async throws -> Outcome {
        var loggedInAgain = false
        for _ in 0..<Self.maxRateLimitedAttempts {
            var sent = request
            switch try await session(source) {
            case .success(let headers): sent.headers.merge(headers) { _, session in session }
            case .failure(let failure): return .answer(.failed(failure.message))
            }
            try await limiter.acquire(source.bucket, limit: source.rateLimit)
            let (status, retryAfter, body) = try await get(sent, source: source.id)
            switch status {
            case 401 where !loggedInAgain && sessions.withLock({ $0[source.bucket] != nil }):
                // The session's tokens expired: one new login, then the request again.
                metrics.request(source.id, outcome: "refused")
                sessions.withLock { _ = $0.removeValue(forKey: source.bucket) }
                loggedInAgain = true
            case 200:
                let answer: HistoryAnswer
                do throws(HistoryAnswerError) {
                    answer = try source.history.readHistory(body, request: request)
                } catch {
                    metrics.request(source.id, outcome: "malformed")
                    return .malformed(error, body: body)
                }
                metrics.request(source.id, outcome: "ok")
                if let pause = source.history.historyPause(body) {
                    // The venue's quota is used up (IG's allowance): every replica rests the bucket.
                    logger.warning("the venue's history allowance is used up: resting the shared bucket",
                                   metadata: ["source": .string(source.id), "rest_ms": .stringConvertible(pause.nanosecondsClamped / 1_000_000)])
                    try await limiter.backOff(source.bucket, retryAfter: pause, limit: source.rateLimit)
                }
                return .answer(answer)
            case 429:
                metrics.request(source.id, outcome: "rate_limited")
                let wait = retryAfter ?? .seconds(1)
                logger.info("rate limited by the provider: backing off the shared bucket",
                            metadata: ["source": .string(source.id), "retry_after_ms": .stringConvertible(wait.nanosecondsClamped / 1_000_000)])
                try await limiter.backOff(source.bucket, retryAfter: wait, limit: source.rateLimit)
            default:
                metrics.request(source.id, outcome: "refused")
                return .answer(source.history.readRefusal(status: status, body: body))
            }
        }
        return .answer(.failed("still rate limited after \(Self.maxRateLimitedAttempts) attempts"))
    }

    struct LoginFailure: Error {
        var message: String
    }

    /// The headers of the source's session (empty for a venue without one), logging in when there is none.
    private func session(_ source: HistorySource) async throws -> Result<[String: String], LoginFailure> {
        if let headers = sessions.withLock({ $0[source.bucket] }) { return .success(headers) }
        let login: StreamRequest
        do throws(ProviderError) {
            guard let request = try source.history.historyLogin(base: source.restURL, credential: source.credential) else { return .success([:]) }
            login = request
        } catch {
            return .failure(LoginFailure(message: "cannot log in: \(error.message)"))
        }
        try await limiter.acquire(source.bucket, limit: source.rateLimit)
        var http = HTTPClientRequest(url: login.url)
        http.method = .init(rawValue: login.method)
        for (name, value) in login.headers { http.headers.add(name: name, value: value) }
        if let body = login.body { http.body = .bytes(ByteBuffer(bytes: body)) }
        let status: Int, headers: [String: String], body: [UInt8]
        do {
            let response = try await client.execute(http, timeout: .nanoseconds(timeout.nanosecondsClamped))
            body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
            status = Int(response.status.code)
            headers = Dictionary(response.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        } catch let error as CancellationError {
            throw error
        } catch {
            return .failure(LoginFailure(message: "login failed: \(type(of: error)) (\(login.redactedURL))"))
        }
        do throws(ProviderError) {
            let session = try source.history.historySessionHeaders(status: status, headers: headers, body: body)
            sessions.withLock { $0[source.bucket] = session }
            logger.info("logged in for history", metadata: ["source": .string(source.id)])
            return .success(session)
        } catch {
            metrics.request(source.id, outcome: "refused")
            logger.error("history login refused", metadata: ["source": .string(source.id), "reason": .string(error.message)])
            return .failure(LoginFailure(message: error.message))
        }
    }

    private func get(_ request: HistoryRequest, source: String) async throws -> (Int, Duration?, [UInt8]) {
        do {
            var http = HTTPClientRequest(url: request.url)
            http.headers.add(name: "Accept", value: "application/json")
            http.headers.add(name: "User-Agent", value: "fxstream-backfiller")
            for (name, value) in request.headers { http.headers.add(name: name, value: value) }
            let response = try await client.execute(http, timeout: .nanoseconds(timeout.nanosecondsClamped))
            let body = try await response.body.collect(upTo: Self.maxBodyBytes)
            let retryAfter = Self.retryAfter(response.headers.first(name: "Retry-After"))
            return (Int(response.status.code), retryAfter, Array(buffer: body))
        } catch let error as CancellationError {
            throw error
        } catch {
            metrics.request(source, outcome: "error")
            // The URL may carry a token: only the redacted form goes into errors and logs.
            throw TransportError(url: request.redactedURL, message: String(describing: type(of: error)) + ": " + Self.scrub("\(error)", request))
        }
    }

    /// A `Retry-After` header in seconds, at most ``SharedRateLimiter/maxRetryAfter`` (15 minutes): a
    /// provider's longer (or absurd) value blocks the bucket for 15 minutes, and the next 429 extends
    /// it. Negative values count as zero; anything that is not a number of seconds (an HTTP date, for
    /// instance) is nil (the caller waits one second).
    static func retryAfter(_ header: String?) -> Duration? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty,
              text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) || (text.hasPrefix("-") && text.utf8.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })) else {
            return nil
        }
        if text.hasPrefix("-") { return .zero }
        // Digits only: a value too long for Int64 is past the cap anyway.
        let cap = SharedRateLimiter.maxRetryAfter
        guard let seconds = Int64(text) else { return cap }
        return min(.seconds(seconds), cap)
    }

    static func scrub(_ text: String, _ request: HistoryRequest) -> String {
        request.url == request.redactedURL ? text : text.replacingOccurrences(of: request.url, with: request.redactedURL)
    }
}
