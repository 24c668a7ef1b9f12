import FXContracts
import FXCore
import FXKafka
import FXVenues
import Logging
import Metrics

/// Feeds captured records (``RawRecord``, in each connection's order) through the current normalizers and
/// feed trackers, exactly as the live connection did: the same receive times, the same session events,
/// and the watchdog's checks where the capture recorded them. The result is the ticks, gap events and rejects the
/// current code makes of the capture, on `topics` (another prefix).
///
/// Deterministic: the same records give the same messages, byte for byte, every time. Records of one
/// connection must come in capture order; connections are independent of each other.
///
/// A connection is replayed from its `start` record (the feed state is built from there); records of a
/// connection whose `start` was not seen (before the topic's retention, or the files given) are counted
/// in ``Report/unreplayable`` and skipped. Output is kept for records received in `[since, until)`; the
/// records before `since` only build the feed state. Order books are not rebuilt.
public final class RawReplay {
    /// What a replay read and made.
    public struct Report: Sendable, Equatable {
        public var records = 0
        public var frames = 0
        public var ticks = 0
        public var gaps = 0
        public var rejects = 0
        /// Records missing from the capture: holes in a connection's `seq`.
        public var missingRecords: Int64 = 0
        /// Records the capture itself dropped (its `gap` control records).
        public var captureDropped: Int64 = 0
        public var unreplayable = 0
        /// Frames the capture kept only the first bytes of (over its record limit): not replayed.
        public var cut = 0
        public var unreadable = 0
        public init() {}
    }

    private final class Feed {
        let connection: FeedConnection
        let clock: ReplayClock
        let attempt = FeedConnection.Attempt()
        var lastSequence: Int64
        /// The last record was copied context (an export file's head): the next one's `seq` is not a hole.
        var afterContext: Bool

        init(connection: FeedConnection, clock: ReplayClock, sequence: Int64, context: Bool) {
            self.connection = connection
            self.clock = clock
            self.lastSequence = sequence
            self.afterContext = context
        }
    }

    public let topics: TopicNames
    public let since: Int64?
    public let until: Int64?
    public let sources: Set<String>
    public private(set) var report = Report()
    private var feeds: [String: Feed] = [:]
    private let queue = PublishQueue(capacity: 1 << 30)
    private let metrics = IngestMetrics(factory: NOOPMetricsHandler.instance)
    private let logger: Logger

    /// - Parameters:
    ///   - topics: where the results go (the target prefix's `ticks`, `gaps`, `rejects`).
    ///   - since, until: receive times (ns) of the records whose results are kept, `[since, until)`.
    ///   - sources: only these sources (empty: all).
    public init(topics: TopicNames, since: Int64? = nil, until: Int64? = nil, sources: Set<String> = [], logger: Logger) {
        self.topics = topics
        self.since = since
        self.until = until
        self.sources = sources
        self.logger = logger
    }

    /// Replays one record; returns the messages it produced (ticks, gaps, rejects, in the live order).
    public func replay(_ record: RawRecord) async -> [KafkaProducerMessage] {
        guard sources.isEmpty || sources.contains(record.source) else { return [] }
        if let until, record.receivedAt >= until { return [] }
        let key = "\(record.instance)|\(record.source):\(record.connection)"
        // A copy at the head of an export file, of a record this replay has already applied: nothing to do.
        if record.context, let feed = feeds[key], record.sequence <= feed.lastSequence { return [] }
        report.records += 1
        var control: RawControl?
        if record.kind == .control {
            do { control = try RawControl(json: record.value) } catch {
                report.unreadable += 1
                logger.warning("replay: a control record could not be read; skipped", metadata: ["key": .string(key), "error": .string("\(error)")])
                return []
            }
        }
        if case .start(let start)? = control {
            do {
                feeds[key] = try makeFeed(record, start)
            } catch {
                report.unreplayable += 1
                feeds[key] = nil
                logger.warning("replay: the connection cannot be rebuilt", metadata: ["key": .string(key), "error": .string("\(error)")])
            }
            return take(keep: isKept(record))
        }
        guard let feed = feeds[key] else {
            report.unreplayable += 1
            return []
        }
        if !feed.afterContext, !record.context, record.sequence > feed.lastSequence.addingClamped(1) {
            report.missingRecords = report.missingRecords.addingClamped(record.sequence.subtractingClamped(feed.lastSequence).subtractingClamped(1))
        }
        feed.afterContext = record.context
        feed.lastSequence = max(feed.lastSequence, record.sequence)
        feed.clock.set(record.receivedAt)
        if case .gap(let dropped, _, _)? = control { report.captureDropped = report.captureDropped.addingClamped(dropped) }
        if record.kind == .frame {
            report.frames += 1
            if record.cut { report.cut += 1 }
        }
        await feed.connection.replay(record, control: control, attempt: feed.attempt)
        if case .stop? = control { feeds[key] = nil }
        return take(keep: isKept(record))
    }

    private func isKept(_ record: RawRecord) -> Bool {
        since.map { record.receivedAt >= $0 } ?? true
    }

    /// The ticks, gaps and rejects queued by the last record (health, hot layer and books left out).
    private func take(keep: Bool) -> [KafkaProducerMessage] {
        var messages: [KafkaProducerMessage] = []
        for item in queue.takeAvailable() {
            switch item.kind {
            case .tick: if keep { report.ticks += 1; messages.append(item.message) }
            case .gap: if keep { report.gaps += 1; messages.append(item.message) }
            case .reject: if keep { report.rejects += 1; messages.append(item.message) }
            case .health, .control, .book, .latest: break
            }
        }
        return messages
    }

    private func makeFeed(_ record: RawRecord, _ start: RawControl.Start) throws -> Feed {
        let base = try ProviderRegistry.provider(start.provider)
        // The canonical symbols the venue's own naming does not give were configured (IG's symbol_map); a
        // venue that takes no map names its symbols with the current code (a fixed mapping is a fix).
        let overrides = start.canonical.filter { base.canonicalSymbol($0.key) != $0.value }
        let provider = (try? base.mapping(overrides)) ?? base
        guard let check = FeedTracker.SequenceCheck(rawValue: start.sequenceCheck) else {
            throw ContractError(message: "unknown sequence check '\(start.sequenceCheck.prefix(20))'")
        }
        var tracker = provider.defaults.tracker
        tracker.sequenceCheck = check
        tracker.connectionStaleAfter = .milliseconds(start.connectionStaleAfterMs)
        tracker.symbolStaleAfter = .milliseconds(start.symbolStaleAfterMs)
        let settings = FeedConnection.Settings(webSocketBase: "", symbols: start.symbols, credential: nil,
                                               maxMessageBytes: Int(clamping: start.maxMessageBytes))
        let clock = ReplayClock()
        clock.set(record.receivedAt)
        // What the live connection logged (each gap, each reject) is the replay's output, not news: errors only.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let connection = FeedConnection(
            id: record.connection, provider: provider, settings: settings, tracker: tracker,
            circuit: ProviderCircuit(provider: provider.id, breaker: CircuitBreaker(failureThreshold: 1_000, openDuration: .seconds(1)),
                                     attemptBudget: nil),
            queue: queue, topics: topics, instance: record.instance, metrics: metrics, clock: clock.clock, logger: quiet,
            keepsBooks: false)
        return Feed(connection: connection, clock: clock, sequence: record.sequence, context: record.context)
    }
}
