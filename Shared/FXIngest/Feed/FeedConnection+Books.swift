import AsyncHTTPClient
import FXContracts
import FXCore
import FXVenues
import NIOCore

/// Order books on a connection (venues with ``MarketDataProvider/book``): each symbol's ``BookKeeper``
/// numbers what goes to the books topic; a book that fails a check is published as a `book` gap and
/// resubscribed alone, after the keeper's backoff, by the connection's control loop.
extension FeedConnection {
    /// Turns a keeper's actions into books-topic items and `book` gap events.
    func bookActions(_ actions: [BookKeeper.Action], venueSymbol: String, at receivedAt: Int64, monotonic: Int64,
                     instant: ContinuousClock.Instant?, items: inout [PublishItem], gaps: inout [GapEvent]) {
        for action in actions {
            switch action {
            case .publish(let messages):
                metrics.bookMessages.increment(by: messages.count)
                for message in messages { items.append(.book(message, topics: topics, receivedAt: instant)) }
            case .resync(let detail, let after):
                let symbol = provider.canonicalSymbol(venueSymbol) ?? venueSymbol
                gaps.append(GapEvent(source: provider.id, symbol: symbol, venueSymbol: venueSymbol, from: receivedAt, to: receivedAt,
                                     reason: .book, detectedAt: receivedAt, detail: detail, instance: instance))
                let due = monotonic.addingClamped(after.nanosecondsClamped)
                resubscriptions.withLock { $0[venueSymbol] = due }
                if provider.book?.snapshots == .rest {
                    books.withLock { _ in depthSyncs.withLock { $0[venueSymbol]?.restart() } }
                }
                logger.warning("book resync", metadata: ["symbol": .string(venueSymbol), "detail": .string(String(detail.prefix(200))),
                                                         "retry_in_ms": .stringConvertible(after.nanosecondsClamped / 1_000_000)])
            }
        }
    }

    /// The frames that resubscribe the books whose backoff is over (removed from the waiting list); none
    /// for books that start from a REST snapshot (``fetchBookSnapshots()`` takes those).
    func dueBookResubscriptions(monotonic: Int64) -> (symbols: [String], messages: [String]) {
        guard provider.book?.snapshots != .rest else { return ([], []) }
        let due = takeDueBooks(monotonic: monotonic)
        return (due, due.flatMap { provider.bookResubscribeMessages(venueSymbol: $0) })
    }

    func takeDueBooks(monotonic: Int64) -> [String] {
        resubscriptions.withLock { waiting -> [String] in
            let due = waiting.filter { $0.value <= monotonic }.map(\.key).sorted()
            for symbol in due { waiting[symbol] = nil }
            return due
        }
    }

    /// A venue error that names a symbol whose book is kept (Coinbase: `{"type":"error","reason":"… BTC-USD …"}`)
    /// leaves that book unproven: it is resynced like a failed check. An error naming no kept symbol changes no book.
    func bookError(_ message: String, at receivedAt: Int64) -> [(String, [BookKeeper.Action])] {
        guard provider.book != nil else { return [] }
        return books.withLock { keepers -> [(String, [BookKeeper.Action])] in
            keepers.keys.sorted().compactMap { venue -> (String, [BookKeeper.Action])? in
                guard keepers[venue]!.status == .inSync, Self.names(message, venue) else { return nil }
                return (venue, keepers[venue]!.lost("the venue reported an error for it: \(message.prefix(200))", at: receivedAt))
            }
        }
    }

    /// Whether `text` names `symbol` as a whole word (`BTC-USD` is not named by `BTC-USDT`).
    static func names(_ text: String, _ symbol: String) -> Bool {
        func isWordByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
        }
        let haystack = Array(text.utf8), needle = Array(symbol.utf8)
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            let before = start == 0 || !isWordByte(haystack[start - 1])
            let after = start + needle.count == haystack.count || !isWordByte(haystack[start + needle.count])
            if before && after { return true }
        }
        return false
    }

    /// Applies one venue book message to its symbol's keeper; for a book that starts from a REST snapshot,
    /// through the symbol's ``BinanceDepthSync`` first (which may buffer it, ask for a snapshot, or find a gap).
    func applyBook(_ update: BookUpdate, receivedAt: Int64, monotonic: Int64) -> [BookKeeper.Action] {
        let venue = update.venueSymbol
        guard provider.book?.snapshots == .rest, update.kind == .update, let first = update.firstUpdateID, let last = update.lastUpdateID else {
            return books.withLock { $0[venue]?.receive(update, receivedAt: receivedAt) } ?? []
        }
        let event = BinanceDepthSync.Update(firstUpdateID: first, finalUpdateID: last, bids: update.bids, asks: update.asks,
                                            eventTime: update.timestamp ?? receivedAt)
        return books.withLock { keepers -> [BookKeeper.Action] in
            guard keepers[venue] != nil, let sync = depthSyncs.withLock({ $0[venue]?.receive(event) }) else { return [] }
            return follow(sync, keeper: &keepers[venue]!, receivedAt: receivedAt, monotonic: monotonic)
        }
    }

    /// A depth sync's actions carried out on the symbol's keeper (called inside `books`' lock).
    private func follow(_ actions: [BinanceDepthSync.Action], keeper: inout BookKeeper, receivedAt: Int64, monotonic: Int64) -> [BookKeeper.Action] {
        var out: [BookKeeper.Action] = []
        // After a gap the keeper's resync schedules the snapshot (after its backoff): no request at once.
        let resyncs = actions.contains { if case .gap = $0 { true } else { false } }
        for action in actions {
            switch action {
            case .requestSnapshot:
                guard !resyncs else { continue }
                resubscriptions.withLock { waiting in
                    if waiting[keeper.venueSymbol] == nil { waiting[keeper.venueSymbol] = monotonic }
                }
            case .publishSnapshot(let snapshot):
                out += keeper.receive(BookUpdate(venueSymbol: keeper.venueSymbol, kind: .snapshot, bids: snapshot.bids, asks: snapshot.asks,
                                                 firstUpdateID: snapshot.lastUpdateID, lastUpdateID: snapshot.lastUpdateID), receivedAt: receivedAt)
            case .publishUpdate(let update):
                out += keeper.receive(BookUpdate(venueSymbol: keeper.venueSymbol, kind: .update, bids: update.bids, asks: update.asks,
                                                 firstUpdateID: update.firstUpdateID, lastUpdateID: update.finalUpdateID,
                                                 timestamp: update.eventTime), receivedAt: receivedAt)
            case .gap(let expected, let received):
                out += keeper.lost("update ids \(expected) to \(received - 1) never arrived (next U \(received))", at: receivedAt)
            }
        }
        return out
    }

    /// Work the reading task does before a message's own: REST snapshots fetched since the last message,
    /// and the periodic snapshots that are due (looked for at most every 250 ms). Done on the reading task so
    /// that a symbol's books-topic messages are numbered and queued in one order.
    func pendingBookWork(at receivedAt: Int64, monotonic: Int64, instant: ContinuousClock.Instant,
                         items: inout [PublishItem], gaps: inout [GapEvent]) {
        let fetched = snapshotInbox.withLock { inbox in
            defer { inbox.removeAll() }
            return inbox
        }
        for (venue, snapshot) in fetched {
            let actions = books.withLock { keepers -> [BookKeeper.Action] in
                guard keepers[venue] != nil, let lastID = snapshot.lastUpdateID,
                      let sync = depthSyncs.withLock({ $0[venue]?.receive(snapshot: .init(lastUpdateID: lastID, bids: snapshot.bids, asks: snapshot.asks)) })
                else { return [] }
                return follow(sync, keeper: &keepers[venue]!, receivedAt: receivedAt, monotonic: monotonic)
            }
            bookActions(actions, venueSymbol: venue, at: receivedAt, monotonic: monotonic, instant: instant, items: &items, gaps: &gaps)
        }
        let last = periodicCheckedAt.load(ordering: .relaxed)
        guard monotonic.subtractingClamped(last) >= 250_000_000 else { return }
        periodicCheckedAt.store(monotonic, ordering: .relaxed)
        let messages = books.withLock { keepers -> [BookMessage] in
            var messages: [BookMessage] = []
            for key in keepers.keys.sorted() {
                for case .publish(let published) in keepers[key]!.periodic(now: receivedAt) { messages += published }
            }
            return messages
        }
        metrics.bookMessages.increment(by: messages.count)
        for message in messages { items.append(.book(message, topics: topics, receivedAt: nil)) }
    }

    /// Fetches the REST snapshots that are due, one at a time, each when the provider's shared request
    /// schedule allows (``ProviderCircuit/scheduleRequest(weight:weightPerMinute:now:)``: every connection of
    /// the venue in this ingestor spends from one budget, and a 429 or 418 pauses them all), into
    /// ``snapshotInbox``. Runs beside the reading task, so a slow or late snapshot holds up no symbol but its
    /// own (whose updates are buffered).
    func fetchBookSnapshots() async throws {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        defer { _ = client.shutdown() }
        var failures: [String: Int] = [:]
        while true {
            try await Task.sleep(for: .milliseconds(100))
            for venue in takeDueBooks(monotonic: clock.monotonic()) {
                let at = circuit.scheduleRequest(weight: provider.bookSnapshotWeight, now: clock.now())
                let wait = at - clock.now()
                if wait > 0 { try await Task.sleep(for: .nanoseconds(wait)) }
                guard let retryAfter = await fetchSnapshot(venue, client: client) else {
                    failures[venue] = nil
                    continue
                }
                try Task.checkCancellation()
                failures[venue, default: 0] += 1
                let backoff = Duration.seconds(min(60, 1 << min(failures[venue]!, 6)))
                let delay = max(retryAfter, backoff)
                resubscriptions.withLock { $0[venue] = clock.monotonic().addingClamped(delay.nanosecondsClamped) }
            }
        }
    }

    /// One symbol's snapshot into the inbox; on failure, how long to wait before asking again.
    private func fetchSnapshot(_ venue: String, client: HTTPClient) async -> Duration? {
        let request: StreamRequest
        do {
            request = try provider.bookSnapshotRequest(base: settings.restBase ?? provider.defaults.restURL, venueSymbol: venue)
        } catch {
            logger.error("cannot build the book snapshot request", metadata: ["symbol": .string(venue), "error": .string(error.description)])
            return .seconds(60)
        }
        do {
            var http = HTTPClientRequest(url: request.url)
            for (name, value) in request.headers { http.headers.add(name: name, value: value) }
            let response = try await client.execute(http, deadline: .now() + .seconds(10))
            let body = try await response.body.collect(upTo: 64 << 20)
            let bytes = Array(buffer: body)
            guard response.status == .ok else {
                // 429: over the request budget; 418: banned for ignoring 429s. Retry-After says how long.
                let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int.init).map { Duration.seconds($0) } ?? .seconds(2)
                if response.status.code == 429 || response.status.code == 418 {
                    circuit.pauseRequests(until: clock.now().addingClamped(retryAfter.nanosecondsClamped))
                }
                metrics.providerErrors.increment()
                logger.warning("book snapshot refused", metadata: ["symbol": .string(venue), "status": .stringConvertible(response.status.code),
                                                                   "body": .string(String(decoding: bytes.prefix(200), as: UTF8.self))])
                return retryAfter
            }
            let snapshot = try provider.bookSnapshot(venueSymbol: venue, body: bytes)
            snapshotInbox.withLock { $0.append((venue, snapshot)) }
            return nil
        } catch {
            // Cancelled: the connection ended (its books start over with the next one); not a venue failure.
            if Task.isCancelled || error is CancellationError { return .seconds(1) }
            metrics.providerErrors.increment()
            logger.warning("book snapshot failed", metadata: ["symbol": .string(venue), "error": .string(redacted(String(describing: error).prefix(300).description))])
            return .seconds(2)
        }
    }

    /// The connection ended: every book is stale until the venue's next snapshot (a new epoch), which the
    /// next connection's subscription asks for; pending resubscriptions are moot.
    func booksDisconnected() {
        books.withLock { keepers in
            for key in keepers.keys { keepers[key]!.connectionLost() }
            depthSyncs.withLock { syncs in
                for key in syncs.keys { syncs[key]!.reset() }
            }
        }
        resubscriptions.withLock { $0.removeAll() }
        snapshotInbox.withLock { $0.removeAll() }
    }

    /// Each book's state, for the heartbeat (symbols in venue order).
    public var bookStates: [Heartbeat.Book] {
        books.withLock { keepers in
            keepers.values.sorted { $0.venueSymbol < $1.venueSymbol }.map { keeper in
                Heartbeat.Book(symbol: keeper.symbol, venueSymbol: keeper.venueSymbol, state: keeper.status.rawValue, epoch: keeper.epoch,
                               seq: keeper.seq, resyncs: Int64(keeper.resyncs), lastChecksumFailureTs: keeper.lastChecksumFailure,
                               lastError: keeper.lastFailure)
            }
        }
    }
}
