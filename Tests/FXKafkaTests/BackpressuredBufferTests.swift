import Foundation
@testable import FXKafka
import Synchronization
import Testing

/// The hand-off from a poll thread to an async reader.
@Suite("Backpressured buffer")
struct BackpressuredBufferTests {
    @Test("elements arrive in order, in batches or one by one")
    func order() async throws {
        let buffer = BackpressuredBuffer<Int>(capacity: 10)
        #expect(buffer.push(contentsOf: [1, 2, 3], shouldStop: { false }))
        #expect(try await buffer.next() == 1)
        #expect(try await buffer.nextBatch() == [2, 3])
    }

    @Test("a batch handed over by taking it arrives in order after what is buffered, and the caller's array is left empty for reuse")
    func pushTaking() async throws {
        let buffer = BackpressuredBuffer<Int>(capacity: 10)
        var batch = [1, 2, 3]
        #expect(buffer.push(taking: &batch, shouldStop: { false }))
        #expect(batch.isEmpty)
        batch = [4, 5]
        #expect(buffer.push(taking: &batch, shouldStop: { false }))
        #expect(batch.isEmpty)
        #expect(try await buffer.nextBatch() == [1, 2, 3, 4, 5])
        buffer.finish()
        batch = [6]
        #expect(!buffer.push(taking: &batch, shouldStop: { false }))
        #expect(try await buffer.nextBatch() == [])
    }

    @Test("a full buffer blocks the producing thread until the reader takes elements")
    func blocksProducer() async throws {
        let buffer = BackpressuredBuffer<Int>(capacity: 2)
        let pushed = Atomic<Int>(0)
        let thread = Thread {
            for value in 0..<4 {
                _ = buffer.push(contentsOf: [value], shouldStop: { false })
                pushed.add(1, ordering: .relaxed)
            }
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(300))
        #expect(pushed.load(ordering: .relaxed) == 2, "the third push waits for room")
        var received: [Int] = []
        while received.count < 4 { received.append(try #require(try await buffer.next())) }
        #expect(received == [0, 1, 2, 3])
    }

    @Test("finishing with an error ends the sequence after the buffered elements; later pushes are refused")
    func finishWithError() async throws {
        struct Failure: Error {}
        let buffer = BackpressuredBuffer<Int>(capacity: 4)
        _ = buffer.push(contentsOf: [7], shouldStop: { false })
        buffer.finish(error: Failure())
        #expect(try await buffer.next() == 7)
        await #expect(throws: Failure.self) { try await buffer.next() }
        #expect(!buffer.push(contentsOf: [8], shouldStop: { false }))
    }

    @Test("a producer blocked on a full buffer gives up when asked to stop")
    func stopReleasesProducer() async throws {
        let buffer = BackpressuredBuffer<Int>(capacity: 1)
        let stop = Atomic<Bool>(false)
        let result = Mutex<Bool?>(nil)
        _ = buffer.push(contentsOf: [1], shouldStop: { false })
        let thread = Thread {
            let accepted = buffer.push(contentsOf: [2], shouldStop: { stop.load(ordering: .relaxed) })
            result.withLock { $0 = accepted }
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(200))
        #expect(result.withLock { $0 } == nil)
        stop.store(true, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(400))
        #expect(result.withLock { $0 } == false)
    }
}
