import FXContracts
import FXVenues
import Foundation
import FXCore
import Logging
import NIOCore
import Synchronization
import AsyncHTTPClient
import HTTPTypes
import WSClient

/// One persistent WebSocket connection to a provider, carrying a shard of its symbols. Runs until
/// cancelled: connect (unless the provider's circuit is open), subscribe, read frames, normalize,
/// queue for Kafka; on any end, record `disconnect` gaps and reconnect after a capped, fully jittered
/// backoff. A watchdog task closes a connection that went silent with TCP open.
///
/// Frames are read as raw bytes (UTF-8 is validated by the JSON reader, so invalid text becomes a
/// reject instead of being silently repaired). A message over `maxMessageBytes` is discarded after
/// its first bytes (kept in the reject); a single frame over `hardFrameLimit` closes the connection.
public final class FeedConnection: Sendable {
    public struct Settings: Sendable {
        public var webSocketBase: String
        public var symbols: [String]
        public var credential: ProviderCredential?
        public var maxMessageBytes: Int
        public var pingInterval: Duration
        public var watchdogInterval: Duration
        public var backoff: Backoff
        /// How long a connection waits for room in the publish queue before dropping (and recording a gap).
        public var enqueueMaxWait: Duration
        /// How long an HTTP line stream may take to answer with its status.
        public var connectTimeout: Duration = .seconds(15)
        /// A full snapshot of each order book on the books topic this often (venues with books).
        public var bookSnapshotInterval: Duration = .seconds(30)
        /// The venue's REST endpoint, for books that start from a REST snapshot (Binance).
        public var restBase: String?

        public init(webSocketBase: String, symbols: [String], credential: ProviderCredential?, maxMessageBytes: Int = 1 << 20,
                    pingInterval: Duration = .seconds(15), watchdogInterval: Duration = .seconds(1),
                    backoff: Backoff = Backoff(), enqueueMaxWait: Duration = .seconds(2)) {
            self.webSocketBase = webSocketBase
            self.symbols = symbols
            self.credential = credential
            self.maxMessageBytes = maxMessageBytes
            self.pingInterval = pingInterval
            self.watchdogInterval = watchdogInterval
            self.backoff = backoff
            self.enqueueMaxWait = enqueueMaxWait
        }

        var hardFrameLimit: Int { maxMessageBytes * 8 }
    }

    public let id: String
    public let provider: any MarketDataProvider
    let settings: Settings
    private let normalizer: (any FrameNormalizer)?
    /// The venue symbols subscribed on this connection: ticks for any other product are rejected.
    private let subscribed: Set<String>
    let tracker: Mutex<FeedTracker>
    let circuit: ProviderCircuit
    let queue: PublishQueue
    let topics: TopicNames
    let instance: String
    let metrics: IngestMetrics.Source
    let clock: IngestClock
    let logger: Logger
    private let rejectLog = LogRateLimiter(interval: .seconds(10))
    /// Sees every gap event this connection detects and returns those to publish (a fleet notes first
    /// data, and drops a `bootstrap` its handover window accounts for).
    private let gapFilter: (@Sendable ([GapEvent]) -> [GapEvent])?
    /// A Lightstreamer feed's session and login, kept across its connections.
    let lightstreamer = Mutex(LightstreamerLink())
    /// The order books of this connection's symbols (venues with books), one keeper per venue symbol.
    let books: Mutex<[String: BookKeeper]>
    /// Whether this connection keeps books (fixed at start: the keepers' keys never change).
    let keepsBooks: Bool
    /// The hot layer of this connection's symbols (published by the ingestor every `latest_interval_ms`).
    let latest: Mutex<LatestBoard>
    /// Symbols whose book waits to be resubscribed (or its REST snapshot fetched): venue symbol -> monotonic
    /// time it is due.
    let resubscriptions = Mutex<[String: Int64]>([:])
    /// Books that start from a REST snapshot (Binance): each symbol's alignment of the diff stream with its
    /// snapshot. Locked only inside `books`' lock.
    let depthSyncs: Mutex<[String: BinanceDepthSync]>
    /// REST snapshots fetched and not yet applied: the reading task applies them, so that everything on
    /// the books topic is numbered and queued by one task, in order.
    let snapshotInbox = Mutex<[(venueSymbol: String, update: BookUpdate)]>([])
    /// When periodic book snapshots were last looked for (monotonic ns).
    let periodicCheckedAt = Atomic<Int64>(0)
    /// The raw capture of this connection (feeds with `capture_raw`): every frame and what happened to the socket.
    let capture: CaptureTap?

    public init(id: String, provider: any MarketDataProvider, settings: Settings, tracker: FeedTracker.Settings,
                circuit: ProviderCircuit, queue: PublishQueue, topics: TopicNames, instance: String,
                metrics: IngestMetrics, clock: IngestClock, logger: Logger, gapFilter: (@Sendable ([GapEvent]) -> [GapEvent])? = nil,
                capture: CaptureTap? = nil, keepsBooks: Bool = true) {
        self.id = id
        self.capture = capture
        self.gapFilter = gapFilter
        self.provider = provider
        self.settings = settings
        self.normalizer = provider.makeNormalizer(maxFrameBytes: max(settings.maxMessageBytes, provider.largeMessages?.limit ?? 0))
        self.subscribed = Set(settings.symbols)
        let symbols = settings.symbols.map { venue in
            (venue: venue, symbol: provider.canonicalSymbol(venue) ?? venue, hours: provider.marketHours(for: venue))
        }
        let startedAt = clock.now()
        self.tracker = Mutex(FeedTracker(source: provider.id, connectionID: id, instance: instance, settings: tracker,
                                         symbols: symbols, now: startedAt, monotonic: clock.monotonic(), announcesStart: true))
        capture?.control(.start(RawControl.Start(
            provider: provider.id, symbols: settings.symbols,
            canonical: Dictionary(symbols.map { ($0.venue, $0.symbol) }, uniquingKeysWith: { first, _ in first }),
            sequenceCheck: tracker.sequenceCheck.rawValue,
            connectionStaleAfterMs: tracker.connectionStaleAfter.nanosecondsClamped / 1_000_000,
            symbolStaleAfterMs: tracker.symbolStaleAfter.nanosecondsClamped / 1_000_000,
            maxMessageBytes: Int64(settings.maxMessageBytes))), at: startedAt)
        var keepers: [String: BookKeeper] = [:]
        if let feed = provider.book, keepsBooks {
            let keeping = BookKeeper.Settings(depth: feed.depth, crossedIsError: feed.crossedIsError, snapshotInterval: settings.bookSnapshotInterval)
            for entry in symbols {
                keepers[entry.venue] = BookKeeper(source: provider.id, symbol: entry.symbol, venueSymbol: entry.venue, instance: instance, settings: keeping)
            }
        }
        self.books = Mutex(keepers)
        self.keepsBooks = !keepers.isEmpty
        self.depthSyncs = Mutex(provider.book?.snapshots == .rest
            ? Dictionary(uniqueKeysWithValues: keepers.keys.map { ($0, BinanceDepthSync()) }) : [:])
        self.latest = Mutex(LatestBoard(source: provider.id, instance: instance,
                                        symbols: Dictionary(symbols.map { ($0.venue, $0.symbol) }, uniquingKeysWith: { first, _ in first })))
        self.circuit = circuit
        self.queue = queue
        self.topics = topics
        self.instance = instance
        self.metrics = metrics.source(provider.id)
        self.clock = clock
        var logger = logger
        logger[metadataKey: "connection"] = .string(id)
        self.logger = logger
    }

    // MARK: Lifecycle

    /// Connects and reconnects until the task is cancelled.
    public func run() async {
        var backoff = settings.backoff
        while !Task.isCancelled {
            if case .waitUntil(let until) = circuit.beforeConnecting(now: clock.now()) {
                tracker.withLock { $0.circuitOpen() }
                let wait = max(0, min(until - clock.now(), 5_000_000_000))
                do { try await Task.sleep(for: .nanoseconds(wait)) } catch { break }
                continue
            }
            tracker.withLock { $0.connecting() }
            let attempt = Attempt()
            let detail = await connectOnce(attempt)
            if Task.isCancelled { break }
            let now = clock.now()
            // The capture's records are written under the tracker's lock: a replay sees them in the tracker's order.
            tracker.withLock {
                $0.disconnected(now: now, detail: detail)
                capture?.control(.close(detail: detail), at: now)
            }
            booksDisconnected()
            metrics.reconnects.increment()
            if attempt.deliveredData.load(ordering: .acquiring) {
                backoff.reset()
            } else {
                circuit.recordFailure(now: now)
            }
            let wait = attempt.retryDelay.withLock { $0 } ?? backoff.next()
            logger.warning("connection ended; reconnecting", metadata: [
                "reason": .string(detail), "retry_in_ms": .stringConvertible(wait.nanosecondsClamped / 1_000_000)])
            do { try await Task.sleep(for: wait) } catch { break }
        }
    }

    /// Per-connection-attempt flags.
    final class Attempt: Sendable {
        let deliveredData = Atomic<Bool>(false)
        let closeReason = Mutex<String?>(nil)
        /// When to reconnect, if the protocol says (a Lightstreamer session's recovery); nil: the backoff.
        let retryDelay = Mutex<Duration?>(nil)
        /// Monotonic time of the last line or frame read (a Lightstreamer session's stall check).
        let lastRead = Atomic<Int64>(0)
        /// The venue asked for a new connection (Binance's `serverShutdown`): stop reading and reconnect.
        let reconnectNow = Atomic<Bool>(false)
    }

    private func connectOnce(_ attempt: Attempt) async -> String {
        switch provider.transport {
        case .webSocket: await connectWebSocket(attempt)
        case .httpLines: await connectLines(attempt)
        case .lightstreamer: await connectLightstreamer(attempt)
        }
    }

    /// Opens a WebSocket to `url` (frames up to the hard limit, pings, raw bytes: UTF-8 is the readers'
    /// to check), runs `handler` on it, and says how it ended (not redacted).
    func runWebSocket(url: String, headers: HTTPFields = HTTPFields(),
                      _ handler: @escaping @Sendable (WebSocketInboundStream, WebSocketOutboundWriter) async throws -> Void) async -> String {
        let configuration = WebSocketClientConfiguration(maxFrameSize: max(settings.hardFrameLimit, provider.largeMessages?.limit ?? 0), additionalHeaders: headers,
                                                         closeTimeout: .seconds(2), autoPing: .enabled(timePeriod: settings.pingInterval),
                                                         validateUTF8: false)
        var wsLogger = logger
        wsLogger.logLevel = max(logger.logLevel, .notice)
        let client = WebSocketClient(url: url, configuration: configuration, logger: wsLogger) { inbound, outbound, _ in
            try await handler(inbound, outbound)
        }
        do {
            if let close = try await client.run() {
                return "closed by the server (code \(close.closeCode)\(close.reason.map { ": \($0)" } ?? ""))"
            }
            return "connection closed"
        } catch {
            return "\(error)"
        }
    }

    /// Error texts may quote the URL, which carries Finnhub's API key: never let it reach a log or a gap.
    func redacted(_ text: String) -> String {
        settings.credential?.scrub(text) ?? text
    }

    /// An HTTP line stream (OANDA): one GET whose body carries one message per line, until it ends, fails,
    /// or the watchdog finds it silent. A line cut off by a dropped connection is rejected (`truncated_line`),
    /// never parsed; the disconnect gap covers what it held.
    private func connectLines(_ attempt: Attempt) async -> String {
        let stream: StreamRequest
        do {
            stream = try provider.streamRequest(base: settings.webSocketBase, symbols: settings.symbols, credential: settings.credential)
        } catch {
            logger.error("cannot build the connection: \(redacted(error.description))")
            return redacted(error.description)
        }
        // A client of its own per attempt: a shared one would cap long-lived streams per host at its pool
        // size, and a stream is one connection for hours.
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let detail = await streamLines(stream, client: client, attempt: attempt)
        try? await client.shutdown()
        return detail
    }

    private func streamLines(_ stream: StreamRequest, client: HTTPClient, attempt: Attempt) async -> String {
        var request = HTTPClientRequest(url: stream.url)
        for (name, value) in stream.headers { request.headers.add(name: name, value: value) }
        do {
            let response = try await client.execute(request, deadline: .now() + .nanoseconds(settings.connectTimeout.nanosecondsClamped))
            guard response.status == .ok else {
                let body = (try? await response.body.collect(upTo: 4_096)).map { String(buffer: $0) } ?? ""
                let message = "HTTP \(response.status.code)\(body.isEmpty ? "" : ": " + String(body.prefix(300)))"
                tracker.withLock { $0.providerError(redacted(message)) }
                metrics.providerErrors.increment()
                logger.error("stream refused", metadata: ["status": .stringConvertible(response.status.code), "url": .string(stream.redactedURL)])
                return redacted(message)
            }
            opened()
            subscriptionsSent()
            logger.info("connected", metadata: ["symbols": .stringConvertible(settings.symbols.count)])
            return try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    var reader = LineReader(maxLineBytes: self.settings.maxMessageBytes)
                    do {
                        for try await chunk in response.body {
                            let lines = chunk.withUnsafeReadableBytes { reader.append($0) }
                            for line in lines { await self.handle(line, attempt: attempt) }
                        }
                    } catch {
                        // Cut off (a reset, a malformed chunk, the watchdog): what was left of a line is rejected.
                        if let rest = reader.finish() { await self.handle(rest, attempt: attempt, truncated: true) }
                        throw error
                    }
                    if let rest = reader.finish() { await self.handle(rest, attempt: attempt, truncated: true) }
                    return "stream ended by the server"
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: self.settings.watchdogInterval)
                        let now = self.clock.now(), monotonic = self.clock.monotonic()
                        if let reason = self.watchdog(now: now, monotonic: monotonic) {
                            self.logger.warning("feed stale; reconnecting", metadata: ["reason": .string(reason)])
                            return "stale: \(reason)"
                        }
                    }
                }
                defer { group.cancelAll() }
                let ended = try await group.next()
                return (ended ?? nil) ?? "stream ended"
            }
        } catch {
            return redacted("\(error)")
        }
    }

    func handle(_ line: LineReader.Line, attempt: Attempt, truncated: Bool = false) async {
        switch line {
        case .line(let bytes) where truncated:
            let receivedAt = clock.now()
            capture?.frame(bytes, receivedAt: receivedAt, truncated: true)
            queue.pushUrgent([reject(ConnectionRejectReason.truncatedLine, detail: "the connection ended inside a line of \(bytes.count) bytes",
                                     payload: Array(bytes.prefix(RejectRecord.maxRawBytes)), rawLength: bytes.count, receivedAt: receivedAt)])
        case .line(let bytes):
            await handle(bytes, attempt: attempt)
        case .oversized(let prefix, let length):
            oversized(prefix, total: length)
        }
    }

    /// Reads whole messages (a message's frames joined) and gives each to `body` until the socket ends or
    /// `body` returns false; a message over `maxMessageBytes` is rejected (``oversized(_:total:)``) instead.
    func messages(_ inbound: WebSocketInboundStream, _ body: ([UInt8]) async throws -> Bool) async throws {
        var assembler = messageAssembler
        for try await frame in inbound {
            switch assembler.add(frame.data, continues: frame.opcode == .continuation, fin: frame.fin) {
            case .message(let message):
                if try await !body(message) { return }
            case .oversized(let prefix, let total, let limit):
                oversized(prefix, total: total, limit: limit)
            case .outOfSequence(let what):
                throw FeedSocket.Failure(description: "protocol error: \(what)")
            case nil:
                break
            }
        }
    }

    /// Joins messages within this connection's limits.
    var messageAssembler: MessageAssembler {
        MessageAssembler(maxMessageBytes: settings.maxMessageBytes, large: provider.largeMessages)
    }

    // MARK: Frames

    func handle(_ frame: [UInt8], attempt: Attempt) async {
        var items: [PublishItem] = []
        read(frame, attempt: attempt, into: &items)
        await enqueue(items)
    }

    /// One whole frame: normalized, then ``process(_:raw:receivedAt:attempt:captured:into:)``.
    func read(_ frame: [UInt8], attempt: Attempt, into items: inout [PublishItem]) {
        let receivedAt = clock.now()
        metrics.frames.increment()
        let events = normalizer?.normalize(frame, receivedAt: receivedAt) ?? [.reject(.unknownType, detail: "no reader for this venue's frames")]
        process(events, raw: frame, receivedAt: receivedAt, attempt: attempt, captured: true, into: &items)
    }

    /// ``process(_:raw:receivedAt:attempt:captured:into:)``, then queues what it made.
    func process(_ normalized: [NormalizedEvent], raw frame: [UInt8], receivedAt: Int64, attempt: Attempt, captured: Bool = false) async {
        var items: [PublishItem] = []
        process(normalized, raw: frame, receivedAt: receivedAt, attempt: attempt, captured: captured, into: &items)
        await enqueue(items)
    }

    /// The events of one message (`raw`, kept in its rejects): checked against the contract, tracked for
    /// gaps (published at once), and what goes to Kafka appended to `items`. The message counts as a frame
    /// for the connection's liveness. `captured`: the message is a whole frame, written to the raw capture
    /// (under the tracker's lock, in the tracker's order). Never waits: it runs on a socket's event loop.
    func process(_ normalized: [NormalizedEvent], raw frame: [UInt8], receivedAt: Int64, attempt: Attempt, captured: Bool,
                 into items: inout [PublishItem]) {
        let monotonic = clock.monotonic()
        let instant = ContinuousClock.now
        let subscribed = self.subscribed
        // Checked in place: an event that keeps the contract's limits (all, as a rule) is not copied.
        var events = normalized
        for index in events.indices {
            if let replacement = events[index].contractReplacement(now: receivedAt, isSubscribed: { subscribed.contains($0) }) {
                events[index] = replacement
            }
        }
        var gaps: [GapEvent] = []
        if keepsBooks {
            pendingBookWork(at: receivedAt, monotonic: monotonic, instant: instant, items: &items, gaps: &gaps)
        }
        tracker.withLock { tracker in
            if captured { capture?.frame(frame, receivedAt: receivedAt) }
            tracker.frameReceived(now: receivedAt, monotonic: monotonic)
            for index in events.indices {
                switch events[index] {
                case .tick(let tick):
                    var tradeID: Int64?
                    if case .trade(_, _, _, let id) = tick.payload { tradeID = id.flatMap { Int64($0) }.flatMap(Self.plausibleNumber) }
                    gaps += tracker.observe(venueSymbol: tick.venueSymbol, eventTs: tick.timestamp, sequence: tick.sequence,
                                            tradeID: tradeID, now: receivedAt, monotonic: monotonic)
                case .heartbeat(let venue, let sequence, let lastTradeID, let timestamp):
                    gaps += tracker.observe(venueSymbol: venue, eventTs: timestamp ?? receivedAt, sequence: sequence,
                                            lastTradeID: lastTradeID.flatMap { Int64($0) }.flatMap(Self.plausibleNumber), now: receivedAt, monotonic: monotonic)
                case .control(let what):
                    if what == "subscriptions" { tracker.subscribed(now: receivedAt, monotonic: monotonic, acknowledged: true) }
                case .marketState(let venue, let open, let reason, let timestamp):
                    gaps += tracker.marketState(venueSymbol: venue, open: open, reason: reason, eventTs: timestamp, now: receivedAt, monotonic: monotonic)
                case .providerError(let message):
                    tracker.providerError(redacted(message))
                case .book(let update) where update.kind == .update:
                    // A snapshot is the book's state, stamped with its last change (perhaps before a
                    // disconnect): only changes are events that may close a stream gap.
                    gaps += tracker.observe(venueSymbol: update.venueSymbol, eventTs: update.timestamp ?? receivedAt, sequence: nil,
                                            now: receivedAt, monotonic: monotonic)
                case .reject, .replayedTick, .reconnect, .book:
                    break
                }
            }
        }
        var hot = false
        for index in events.indices {
            switch events[index] {
            case .tick(let tick), .replayedTick(let tick):
                if tick.kind == .trade { metrics.trades.increment() } else { metrics.quotes.increment() }
                items.append(.tick(tick, topics: topics, receivedAt: instant))
                hot = true
            case .heartbeat:
                metrics.heartbeats.increment()
            case .book(let update):
                let actions = applyBook(update, receivedAt: receivedAt, monotonic: monotonic)
                bookActions(actions, venueSymbol: update.venueSymbol, at: receivedAt, monotonic: monotonic, instant: instant,
                            items: &items, gaps: &gaps)
            case .marketState:
                hot = true
            case .control:
                break
            case .reconnect(let reason):
                logger.notice("the venue asks for a new connection", metadata: ["reason": .string(reason)])
                attempt.closeReason.withLock { $0 = reason }
                attempt.retryDelay.withLock { $0 = .zero }
                attempt.reconnectNow.store(true, ordering: .relaxed)
            case .providerError(let message):
                metrics.providerErrors.increment()
                let tooMany = message.lowercased().contains("too many symbols")
                logger.error(tooMany
                    ? "provider refused symbols: too many on this connection; lower max_symbols_per_connection or add API keys"
                    : "provider error", metadata: ["message": .string(redacted(String(message.prefix(300))))])
                let actions = bookError(message, at: receivedAt)
                for (venue, resync) in actions {
                    bookActions(resync, venueSymbol: venue, at: receivedAt, monotonic: monotonic, instant: instant, items: &items, gaps: &gaps)
                }
            case .reject(let reason, let detail):
                items.append(reject(reason.rawValue, detail: detail, payload: frame, rawLength: frame.count, receivedAt: receivedAt))
            }
        }
        if hot {
            latest.withLock { board in
                for index in events.indices {
                    switch events[index] {
                    case .tick(let tick), .replayedTick(let tick): board.apply(tick)
                    case .marketState(let venue, let open, let reason, _): board.market(venueSymbol: venue, open: open, reason: reason)
                    default: break
                    }
                }
            }
        }
        if !attempt.deliveredData.load(ordering: .relaxed), tracker.withLock({ $0.deliveredData }) {
            attempt.deliveredData.store(true, ordering: .releasing)
            circuit.recordSuccess()
        }
        publish(gaps: gaps)
    }

    /// Queues `items`, waiting for room up to `enqueueMaxWait`; what finds none is dropped and recorded as
    /// `delivery` gaps.
    func enqueue(_ items: [PublishItem]) async {
        guard !items.isEmpty else { return }
        let rest = queue.pushWithoutWaiting(items)
        guard !rest.isEmpty else { return }
        await enqueue(rest)
    }

    /// What ``PublishQueue/pushWithoutWaiting(_:)`` left: waits for room up to `enqueueMaxWait`, then drops
    /// the rest as `delivery` gaps.
    func enqueue(_ rest: ArraySlice<PublishItem>) async {
        dropped(await queue.push(rest, maxWait: settings.enqueueMaxWait))
    }

    /// Items that found no room in the publish queue: counted, and recorded as `delivery` gaps.
    func dropped(_ dropped: [PublishItem]) {
        guard !dropped.isEmpty else { return }
        metrics.dropped.increment(by: dropped.count)
        let lost = DeliveryGaps.make(lost: dropped, detail: "dropped: the publish queue stayed full (Kafka slower than the feed)",
                                     instance: instance, now: clock.now())
        publish(gaps: lost)
        if rejectLog.allow() {
            logger.error("publish queue full: dropped \(dropped.count) item(s), recorded as delivery gaps")
        }
    }

    /// A numeric trade id the tracker may compare (non-numeric or out-of-range ids are not tracked).
    private static func plausibleNumber(_ value: Int64) -> Int64? { ContractLimits.isPlausibleSequence(value) ? value : nil }

    func oversized(_ prefix: [UInt8], total: Int, limit: Int? = nil) {
        let receivedAt = clock.now()
        metrics.frames.increment()
        tracker.withLock {
            capture?.frame(prefix, receivedAt: receivedAt, fullLength: total, limit: limit ?? settings.maxMessageBytes)
            $0.frameReceived(now: receivedAt, monotonic: clock.monotonic())
        }
        let item = reject(ConnectionRejectReason.oversizedFrame, detail: "message of \(total) bytes exceeds the \(limit ?? settings.maxMessageBytes)-byte cap",
                          payload: prefix, rawLength: total, receivedAt: receivedAt)
        queue.pushUrgent([item])
    }

    func reject(_ reason: String, detail: String, payload: [UInt8], rawLength: Int, receivedAt: Int64) -> PublishItem {
        metrics.reject(reason)
        if rejectLog.allow() {
            let suppressed = rejectLog.takeSuppressed()
            logger.warning("rejected input", metadata: ["reason": .string(reason), "detail": .string(String(detail.prefix(200))),
                                                        "similar_suppressed": .stringConvertible(suppressed)])
        }
        return .reject(RejectRecord(source: provider.id, reason: reason, detail: detail, receivedAt: receivedAt,
                                    payload: payload, rawLength: rawLength, instance: instance), topics: topics)
    }

    func publish(gaps detected: [GapEvent]) {
        let gaps = gapFilter.map { $0(detected) } ?? detected
        guard !gaps.isEmpty else { return }
        for gap in gaps {
            metrics.gap(gap.reason)
            logger.notice("gap", metadata: ["symbol": .string(gap.symbol), "reason": .string(gap.reason.rawValue),
                                            "from_ts": .stringConvertible(gap.from), "to_ts": .stringConvertible(gap.to)])
        }
        queue.pushUrgent(gaps.map { .gap($0, topics: topics) })
    }

    /// The newest event time streamed per venue symbol (symbols without data yet are left out).
    public var lastEventTimes: [String: Int64] {
        tracker.withLock { $0.lastEventTimes }
    }

    /// At shutdown (after ``run()`` returned): publishes the gaps still open.
    public func closeOpenGaps() {
        let now = clock.now()
        publish(gaps: tracker.withLock {
            capture?.control(.stop, at: now)
            return $0.closeAll(now: now)
        })
    }

    /// A socket (or stream) opened: the tracker and the capture are told, at one time.
    func opened() {
        let now = clock.now()
        tracker.withLock {
            $0.connected(now: now, monotonic: clock.monotonic())
            capture?.control(.open, at: now)
        }
    }

    /// The subscriptions were sent (not yet confirmed).
    func subscriptionsSent() {
        let now = clock.now()
        tracker.withLock {
            $0.subscribed(now: now, monotonic: clock.monotonic(), acknowledged: false)
            capture?.control(.subscribe(symbols: settings.symbols), at: now)
        }
    }

    /// The tracker's silence check; when it opens a gap or asks for a new connection, the capture records
    /// it (a `watchdog` record: a replay runs the check at that time).
    func watchdog(now: Int64, monotonic: Int64) -> String? {
        tracker.withLock { tracker in
            let open = tracker.symbolsWithOpenGaps
            let reason = tracker.watchdog(now: now, monotonic: monotonic)
            if reason != nil || tracker.symbolsWithOpenGaps != open { capture?.control(.watchdog, at: now) }
            return reason
        }
    }

    /// This connection's part of the health heartbeat.
    public var health: Heartbeat.Connection {
        let books = bookStates
        var connection = tracker.withLock { tracker in
            Heartbeat.Connection(id: id, source: provider.id, state: ConnectionState(rawValue: tracker.state.rawValue),
                                 symbols: Int64(tracker.venueSymbols.count), messages: Int64(tracker.frames), lastMessageTs: tracker.lastMessageAt,
                                 reconnects: Int64(tracker.reconnects), staleSymbols: Int64(tracker.staleSymbols),
                                 openGaps: Int64(tracker.symbolsWithOpenGaps), lastError: tracker.lastError,
                                 marketClosed: tracker.closedMarkets)
        }
        connection.books = books
        return connection
    }
}
