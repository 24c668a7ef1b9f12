import FXContracts
import NIOCore

/// Joins the frames of WebSocket messages, each within its size limit. A message over its limit keeps
/// only its first ``RejectRecord/maxRawBytes`` bytes (for the reject) and is reported as oversized with
/// its full size; the rest of its bytes are never copied.
///
/// A message whose first bytes are the provider's large-message prefix (a snapshot, say) may reach that
/// prefix's limit instead of ``maxMessageBytes``.
struct MessageAssembler {
    enum Output {
        case message([UInt8])
        case oversized(prefix: [UInt8], total: Int, limit: Int)
        /// A continuation with no message to continue, or a new message before the last one ended.
        case outOfSequence(String)
    }

    let maxMessageBytes: Int
    let large: (prefix: [UInt8], limit: Int)?
    private var message: [UInt8] = []
    private var total = 0
    private var limit: Int
    /// A message's first frame came and its last not yet.
    private var inMessage = false

    init(maxMessageBytes: Int, large: (prefix: [UInt8], limit: Int)?) {
        self.maxMessageBytes = maxMessageBytes
        self.large = large
        self.limit = maxMessageBytes
    }

    /// Adds one data frame's payload: `continues` for a continuation frame, `fin` for a message's last
    /// frame. Returns the message once its last frame is in.
    mutating func add(_ data: ByteBuffer, continues: Bool, fin: Bool) -> Output? {
        guard continues == inMessage else {
            return .outOfSequence(continues ? "a continuation frame outside a message" : "a new message inside a fragmented one")
        }
        inMessage = !fin
        if !continues {
            // The buffer is reused unless a large message grew it (or its last reader kept it).
            message.removeAll(keepingCapacity: message.capacity <= 64 * 1024)
            total = 0
            limit = maxMessageBytes
            if let large, data.readableBytes >= large.prefix.count,
               data.withUnsafeReadableBytes({ $0.prefix(large.prefix.count).elementsEqual(large.prefix) }) {
                limit = max(limit, large.limit)
            }
        }
        total += data.readableBytes
        if total <= limit {
            data.withUnsafeReadableBytes { message.append(contentsOf: $0) }
        } else if message.count < RejectRecord.maxRawBytes {
            let keep = RejectRecord.maxRawBytes - message.count
            data.withUnsafeReadableBytes { message.append(contentsOf: $0.prefix(keep)) }
        }
        guard fin else { return nil }
        return total > limit ? .oversized(prefix: message, total: total, limit: limit) : .message(message)
    }
}
