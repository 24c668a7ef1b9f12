import FXContracts
import FXCore
import FXMonitor
import Testing

/// Inputs found by the libFuzzer targets (`Fuzz/`, `scripts/fuzz.sh`), kept as specs.
@Suite("Fuzz regressions: the monitor's readers")
struct FuzzMonitorRegressionTests {
    /// FuzzMonitor: a heartbeat whose `counters` holds a member named `reconnects|` trapped in
    /// `PipelineBook.heartbeat` (`name.split(separator: "|")[1]`: index out of range), taking the monitor
    /// down on one message of `<prefix>health`. Message (hex): 7b2273657276696365223a22696e676573746f72222c
    /// 22696e7374616e6365223a2269222c22636f756e74657273223a7b227265636f6e6e656374737c223a317d7d
    @Test("a counter named 'reconnects|' is ignored, not a crash")
    func reconnectsCounterWithoutSource() throws {
        var book = PipelineBook()
        for text in [#"{"service":"ingestor","instance":"i","counters":{"reconnects|":1}}"#,
                     #"{"service":"ingestor","instance":"i","counters":{"reconnects||":2}}"#] {
            let message = try JSONParser().parse(Array(text.utf8))
            let reading = Heartbeat.read(message, receivedAt: 1_795_435_200_000_000_000)
            _ = book.heartbeat(try #require(reading.heartbeat), now: 1_795_435_200_000_000_000)
        }
        #expect(book.sources(.reconnects).isEmpty)
    }
}
