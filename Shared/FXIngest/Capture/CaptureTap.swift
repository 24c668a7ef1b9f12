import FXContracts
import FXKafka
import Synchronization

/// One connection's entry into the raw capture: numbers its records (`seq`), keeps its session and
/// subscription version, and offers each record to the capture's bounded queue without ever waiting.
/// Records the queue refuses are counted, and the next record that finds room is preceded by a `gap`
/// control record (``RawControl/gap(dropped:from:to:)``) that says how many were lost and when.
public final class CaptureTap: Sendable {
    private struct State {
        var sequence: Int64 = 0
        var session: Int64 = 0
        var version: Int64 = 0
        var lost: (count: Int64, from: Int64, to: Int64)?
        /// The headers that change only with the session or the subscription, encoded once.
        var sessionHeader = KafkaHeader(key: RawRecord.Header.session, value: RawRecord.headerNumber(0))
        var versionHeader = KafkaHeader(key: RawRecord.Header.subscriptionVersion, value: RawRecord.headerNumber(0))
    }

    let source: String
    let connection: String
    let instance: String
    private let topic: String
    private let key: [UInt8]
    private let queue: RawCaptureQueue
    private let metrics: RawCapture.Metrics
    private let maxRecordBytes: Int
    private let state = Mutex(State())
    /// The headers that never change, encoded once (their bytes are shared by every record).
    private let frameKind = KafkaHeader(key: RawRecord.Header.kind, string: RawRecord.Kind.frame.rawValue)
    private let controlKind = KafkaHeader(key: RawRecord.Header.kind, string: RawRecord.Kind.control.rawValue)
    private let connectionHeader: KafkaHeader
    private let instanceHeader: KafkaHeader

    init(source: String, connection: String, instance: String, topic: String, queue: RawCaptureQueue, metrics: RawCapture.Metrics,
         maxRecordBytes: Int = RawCapture.Settings().maxRecordBytes) {
        self.maxRecordBytes = maxRecordBytes
        self.source = source
        self.connection = connection
        self.instance = instance
        self.topic = topic
        self.key = Array("\(source):\(connection)".utf8)
        self.queue = queue
        self.metrics = metrics
        self.connectionHeader = KafkaHeader(key: RawRecord.Header.connection, string: connection)
        self.instanceHeader = KafkaHeader(key: RawRecord.Header.instance, string: instance)
    }

    /// A frame as received. `fullLength`/`limit`: a message over the cap (`bytes` are its first bytes);
    /// `truncated`: a line cut off by the end of its connection.
    /// A frame over `maxRecordBytes` keeps its first 4 KiB, marked `cut` (Kafka would refuse it whole).
    public func frame(_ bytes: [UInt8], receivedAt: Int64, fullLength: Int? = nil, limit: Int? = nil, truncated: Bool = false) {
        let cut = bytes.count > maxRecordBytes
        let value = cut ? Array(bytes.prefix(RejectRecord.maxRawBytes)) : bytes
        state.withLock { state in
            offer(&state, kind: .frame, value: value, receivedAt: receivedAt, fullLength: cut ? Int64(bytes.count) : fullLength.map(Int64.init),
                  limit: limit.map(Int64.init), truncated: truncated, cut: cut)
        }
    }

    /// A control record at `receivedAt`; `open`, `subscribe` and `resubscribe` move the session and the
    /// subscription version first, so the record carries the new ones.
    public func control(_ event: RawControl, at receivedAt: Int64) {
        state.withLock { state in
            switch event {
            case .open: state.session += 1; state.version = 0
            case .subscribe: state.version = 1
            case .resubscribe: state.version += 1
            default: break
            }
            state.sessionHeader.value = RawRecord.headerNumber(state.session)
            state.versionHeader.value = RawRecord.headerNumber(state.version)
            offer(&state, kind: .control, value: event.jsonBytes(), receivedAt: receivedAt)
        }
    }

    private func offer(_ state: inout State, kind: RawRecord.Kind, value: [UInt8], receivedAt: Int64,
                       fullLength: Int64? = nil, limit: Int64? = nil, truncated: Bool = false, cut: Bool = false) {
        if let lost = state.lost {
            state.sequence += 1
            let gap = RawControl.gap(dropped: lost.count, from: lost.from, to: lost.to)
            if queue.offer(message(state, kind: .control, value: gap.jsonBytes(), receivedAt: receivedAt)) {
                state.lost = nil
                metrics.records.increment()
            } else {
                state.lost = (lost.count + 1, lost.from, receivedAt)   // the gap record itself is lost too
                metrics.dropped.increment()
            }
        }
        state.sequence += 1
        let record = message(state, kind: kind, value: value, receivedAt: receivedAt, fullLength: fullLength, limit: limit, truncated: truncated,
                             cut: cut)
        if queue.offer(record) {
            metrics.records.increment()
        } else {
            metrics.dropped.increment()
            if let lost = state.lost {
                state.lost = (lost.count + 1, lost.from, receivedAt)
            } else {
                state.lost = (1, receivedAt, receivedAt)
            }
        }
    }

    /// The record as a Kafka message: the headers of ``RawRecord/headers``, in its order, built from the
    /// parts encoded once and the two numbers that change with every record.
    private func message(_ state: State, kind: RawRecord.Kind, value: [UInt8], receivedAt: Int64,
                         fullLength: Int64? = nil, limit: Int64? = nil, truncated: Bool = false, cut: Bool = false) -> KafkaProducerMessage {
        var headers: [KafkaHeader] = []
        headers.reserveCapacity(fullLength == nil && !truncated ? 7 : 11)
        headers.append(kind == .frame ? frameKind : controlKind)
        headers.append(KafkaHeader(key: RawRecord.Header.receivedAt, value: RawRecord.headerNumber(receivedAt)))
        headers.append(connectionHeader)
        headers.append(instanceHeader)
        headers.append(state.sessionHeader)
        headers.append(state.versionHeader)
        headers.append(KafkaHeader(key: RawRecord.Header.sequence, value: RawRecord.headerNumber(state.sequence)))
        if let fullLength { headers.append(KafkaHeader(key: RawRecord.Header.fullLength, value: RawRecord.headerNumber(fullLength))) }
        if let limit { headers.append(KafkaHeader(key: RawRecord.Header.limit, value: RawRecord.headerNumber(limit))) }
        if truncated { headers.append(KafkaHeader(key: RawRecord.Header.truncated, value: RawRecord.headerFlag)) }
        if cut { headers.append(KafkaHeader(key: RawRecord.Header.cut, value: RawRecord.headerFlag)) }
        return KafkaProducerMessage(topic: topic, key: key, value: value, headers: headers)
    }
}
