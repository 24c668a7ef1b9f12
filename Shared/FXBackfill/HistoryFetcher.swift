import AsyncHTTPClient
import FXCore
import FXVenues
import Foundation
import Logging
import NIOCore

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

    public init(client: HTTPClient, limiter: SharedRateLimiter, timeout: Duration, metrics: BackfillMetrics, logger: Logger) {
        self.client = client
        self.limiter = limiter
        self.timeout = timeout
        self.metrics = metrics
        self.logger = logger
    }

    /// Sends `request` for `source` under its rate limit and reads the answer with `history`.
    public func fetch(_ request: HistoryRequest, source: HistorySource) async throws -> Outcome {
        for _ in 0..<Self.maxRateLimitedAttempts {
            try await limiter.acquire(source.bucket, limit: source.rateLimit)
            let (status, retryAfter, body) = try await get(request, source: source.id)
            switch status {
            case 200:
                do throws(HistoryAnswerError) {
                    let answer = try source.history.readHistory(body, request: request)
                    metrics.request(source.id, outcome: "ok")
                    return .answer(answer)
                } catch {
                    metrics.request(source.id, outcome: "malformed")
                    return .malformed(error, body: body)
                }
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
