import FXVenues
import NIOWebSocket

/// A venue's WebSocket (every venue but the Lightstreamer and HTTP-line ones): read on the socket's event
/// loop (``FeedSocket``), each message normalized, tracked and batched there; a task of the connection
/// subscribes and runs the watchdog, another waits for room in the publish queue while reads are withheld.
extension FeedConnection {
    func connectWebSocket(_ attempt: Attempt) async -> String {
        let url: String
        let subscribe: [String]
        do {
            url = try provider.webSocketURL(base: settings.webSocketBase, credential: settings.credential)
            subscribe = try provider.subscribeMessages(symbols: settings.symbols, credential: settings.credential, now: clock.now())
        } catch {
            logger.error("cannot build the connection: \(redacted(error.description))")
            return redacted(error.description)
        }
        let (waits, waiting) = AsyncStream.makeStream(of: ArraySlice<PublishItem>.self)
        let socket: FeedSocket
        do {
            socket = try await FeedSocket.connect(FeedSocket.Settings(
                url: url, maxFrameSize: max(settings.hardFrameLimit, provider.largeMessages?.limit ?? 0), assembler: messageAssembler,
                pingInterval: settings.pingInterval, connectTimeout: settings.connectTimeout),
                reader: SocketReader(connection: self, attempt: attempt, waiting: waiting))
        } catch {
            // A socket that failed after its first read (cancelled at once) may have handed a batch over.
            waiting.finish()
            for await rest in waits { await enqueue(rest) }
            return redacted("\(error)")
        }
        logger.info("connected", metadata: ["symbols": .stringConvertible(settings.symbols.count)])
        // Batches that found no room wait here, in order, while the socket reads nothing; after the
        // socket's end this drains what is left (each wait bounded by `enqueueMaxWait`).
        async let drained: Void = {
            for await rest in waits {
                await self.enqueue(rest)
                socket.resumeReading()
            }
        }()
        var detail = await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.control(socket, subscribe: subscribe, attempt: attempt) }
            if provider.book?.snapshots == .rest {
                group.addTask { try? await self.fetchBookSnapshots() }
            }
            let end = await socket.end()
            group.cancelAll()
            return end
        }
        waiting.finish()
        await drained
        if let forced = attempt.closeReason.withLock({ $0 }) { detail = forced }
        return redacted(detail)
    }

    /// Subscribes, then runs the watchdog until the connection ends or the task is cancelled.
    private func control(_ socket: FeedSocket, subscribe: [String], attempt: Attempt) async throws {
        let pacing = provider.outboundMessageInterval
        for (index, message) in subscribe.enumerated() {
            if index > 0, pacing > .zero { try await Task.sleep(for: pacing) }
            try await socket.send(text: message)
        }
        subscriptionsSent()
        let openedAt = ContinuousClock.now
        while true {
            do {
                try await Task.sleep(for: settings.watchdogInterval)
            } catch {
                // Cancelled: the socket ended (its reason stands) or the service is stopping.
                socket.close(code: .normalClosure, reason: "closing")
                return
            }
            let now = clock.now(), monotonic = clock.monotonic()
            if let reason = watchdog(now: now, monotonic: monotonic) {
                logger.warning("feed stale; reconnecting", metadata: ["reason": .string(reason)])
                attempt.closeReason.withLock { $0 = "stale: \(reason)" }
                socket.close(code: .goingAway, reason: "stale feed")
                return
            }
            if let lifetime = provider.maxConnectionLifetime, ContinuousClock.now - openedAt >= lifetime {
                logger.notice("replacing the connection before the venue's connection age limit")
                attempt.closeReason.withLock { $0 = "replaced before the venue's \(lifetime) connection limit" }
                attempt.retryDelay.withLock { $0 = .zero }
                socket.close(code: .normalClosure, reason: "connection age limit")
                return
            }
            let due = dueBookResubscriptions(monotonic: monotonic)
            for (index, message) in due.messages.enumerated() {
                if index > 0, pacing > .zero { try await Task.sleep(for: pacing) }
                try await socket.send(text: message)
            }
            if !due.symbols.isEmpty { capture?.control(.resubscribe(symbols: due.symbols), at: clock.now()) }
        }
    }

    /// This connection's reader for one socket (one attempt), called on the socket's event loop.
    struct SocketReader: FeedSocketReader {
        let connection: FeedConnection
        let attempt: Attempt
        /// Where a batch that did not fit goes to wait for room (the connection's waiting task).
        let waiting: AsyncStream<ArraySlice<PublishItem>>.Continuation

        func opened() {
            connection.opened()
        }

        func message(_ bytes: [UInt8], into batch: inout [PublishItem]) -> Bool {
            connection.read(bytes, attempt: attempt, into: &batch)
            return !attempt.reconnectNow.load(ordering: .relaxed)
        }

        func oversized(_ prefix: [UInt8], total: Int, limit: Int) {
            connection.oversized(prefix, total: total, limit: limit)
        }

        func flush(_ batch: [PublishItem]) -> Bool {
            let rest = connection.queue.pushWithoutWaiting(batch)
            guard !rest.isEmpty else { return true }
            if case .enqueued = waiting.yield(rest) { return false }
            // Nothing waits any more (the connection is over): what did not fit is dropped as gaps.
            connection.dropped(Array(rest))
            return true
        }

        func last(_ batch: [PublishItem]) {
            if case .enqueued = waiting.yield(batch[...]) { return }
            connection.dropped(batch)
        }
    }
}
