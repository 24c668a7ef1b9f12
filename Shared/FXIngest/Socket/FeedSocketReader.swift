/// What a feed's socket does with what it reads. Called on the socket's event loop, one call at a time,
/// so each call must be quick and never block (no waits, no I/O beyond a lock).
protocol FeedSocketReader: Sendable {
    /// The WebSocket is open (the upgrade succeeded); nothing has been read yet.
    func opened()
    /// One whole message; its results go into `batch` (handed over by ``flush(_:)``). Returns false to read
    /// no more: the socket then closes (code 1000).
    func message(_ bytes: [UInt8], into batch: inout [PublishItem]) -> Bool
    /// A message over its limit: its first bytes and its full size.
    func oversized(_ prefix: [UInt8], total: Int, limit: Int)
    /// Hands over what one read produced. Returns false when not all of it fit: the socket stops reading
    /// until the reader calls ``FeedSocket/resumeReading()`` (TCP then pushes back on the venue).
    func flush(_ batch: [PublishItem]) -> Bool
    /// The socket closed: what its last frames made, queued behind any wait for room (never dropped
    /// without one).
    func last(_ batch: [PublishItem])
}

/// A command for a socket's handler, sent through its pipeline (any thread).
enum FeedSocketCommand: Sendable {
    /// Start the close handshake (if not started): a close frame with this code and reason, then the
    /// socket closes when the peer answers or after the close timeout.
    case close(code: UInt16, reason: String)
    /// The reader has room again: read on.
    case resume
}
