import Synchronization

/// One WebSocket client of the simulator: its subscriptions and an outbound buffer the connection's
/// writer drains. A client that falls `bufferLimit` messages behind is disconnected, as real venues do.
final class SimClient: Sendable {
    enum Outgoing: Sendable {
        case text(String)
        /// Raw bytes in a text frame (used to send invalid UTF-8 on purpose).
        case rawText([UInt8])
        /// The first bytes of a message, after which the connection drops (a line cut short).
        case cut([UInt8])
    }

    struct State {
        var symbols: [String] = []
        var subscribedSet: Set<String> = []
        var silentUntil: Int64 = 0
        var lastSentAt: Int64
        var heartbeat = false
        /// Coinbase `level2_batch` products: 0 once the snapshot was sent, else when it is due (ns).
        var level2: [String: Int64] = [:]
    }

    let id: Int
    let venue: SimInstrument.Venue
    let outbox: AsyncStream<Outgoing>
    private let continuation: AsyncStream<Outgoing>.Continuation
    let state: Mutex<State>

    init(id: Int, venue: SimInstrument.Venue, bufferLimit: Int, now: Int64) {
        self.id = id
        self.venue = venue
        (outbox, continuation) = AsyncStream.makeStream(of: Outgoing.self, bufferingPolicy: .bufferingOldest(bufferLimit))
        state = Mutex(State(lastSentAt: now))
    }

    func isSubscribed(_ symbol: String) -> Bool { state.withLock { $0.subscribedSet.contains(symbol) } }

    /// Queues a message unless the client is silenced; disconnects a client whose buffer overflowed.
    func send(_ message: Outgoing, now: Int64, force: Bool = false) {
        let silent = state.withLock { state -> Bool in
            if !force, state.silentUntil > now { return true }
            state.lastSentAt = now
            return false
        }
        guard !silent else { return }
        if case .dropped = continuation.yield(message) { close() }
    }

    func close() { continuation.finish() }
}
