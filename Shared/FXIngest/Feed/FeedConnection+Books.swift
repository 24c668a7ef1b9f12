import FXContracts
import FXCore
import FXVenues

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
                logger.warning("book resync", metadata: ["symbol": .string(venueSymbol), "detail": .string(String(detail.prefix(200))),
                                                         "retry_in_ms": .stringConvertible(after.nanosecondsClamped / 1_000_000)])
            }
        }
    }

    /// The frames that resubscribe the books whose backoff is over (removed from the waiting list).
    func dueBookResubscriptions(monotonic: Int64) -> [String] {
        let due = resubscriptions.withLock { waiting -> [String] in
            let due = waiting.filter { $0.value <= monotonic }.map(\.key).sorted()
            for symbol in due { waiting[symbol] = nil }
            return due
        }
        return due.flatMap { provider.bookResubscribeMessages(venueSymbol: $0) }
    }

    /// Publishes the periodic snapshots that are due.
    func periodicBookSnapshots(now: Int64) async {
        let messages = books.withLock { keepers -> [BookMessage] in
            var messages: [BookMessage] = []
            for key in keepers.keys.sorted() {
                for case .publish(let published) in keepers[key]!.periodic(now: now) { messages += published }
            }
            return messages
        }
        guard !messages.isEmpty else { return }
        metrics.bookMessages.increment(by: messages.count)
        let dropped = await queue.push(messages.map { .book($0, topics: topics, receivedAt: nil) }, maxWait: settings.enqueueMaxWait)
        if !dropped.isEmpty {
            metrics.dropped.increment(by: dropped.count)
            logger.warning("publish queue full: \(dropped.count) periodic book snapshot message(s) not sent (the next ones follow)")
        }
    }

    /// The connection ended: every book is stale until the venue's next snapshot (a new epoch), which the
    /// next connection's subscription asks for; pending resubscriptions are moot.
    func booksDisconnected() {
        books.withLock { keepers in
            for key in keepers.keys { keepers[key]!.connectionLost() }
        }
        resubscriptions.withLock { $0.removeAll() }
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
