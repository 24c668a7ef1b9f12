import FXContracts
import Foundation
import FXCore
import FXServiceChassis
import Logging
import Synchronization
import Testing

@Suite("Logging and redaction")
struct LoggingTests {
    @Test("JSON log lines are valid JSON with level, label, message and metadata")
    func jsonLines() throws {
        let lines = Mutex<[String]>([])
        var handler = JSONLogHandler(label: "fx.test") { line in lines.withLock { $0.append(line) } }
        handler.logLevel = .debug
        let logger = Logger(label: "fx.test") { _ in handler }
        logger.warning("price \"1.1\"\n\tbad \u{01}", metadata: ["symbol": "EUR/USD", "n": .stringConvertible(3),
                                                                 "list": .array(["a"]), "nested": .dictionary(["k": "v"])])
        logger.trace("not logged at debug")
        let captured = lines.withLock { $0 }
        #expect(captured.count == 1)
        let line = try #require(captured.first)
        #expect(line.hasSuffix("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "fx.test")
        #expect(object["message"] as? String == "price \"1.1\"\n\tbad \u{01}")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["symbol"] as? String == "EUR/USD")
        #expect(metadata["n"] as? String == "3")
        #expect(metadata["list"] as? [String] == ["a"])
        #expect((metadata["nested"] as? [String: String])?["k"] == "v")
        #expect(object["ts"] is String)
    }

    @Test("URLs and properties are redacted before they can be logged")
    func redaction() {
        #expect(Redaction.redactURL("postgres://fx:pa%40ss@db:5432/fx") == "postgres://fx:[redacted]@db:5432/fx")
        #expect(Redaction.redactURL("postgres://fx@db/fx?password=abc&sslmode=require") == "postgres://fx@db/fx?password=[redacted]&sslmode=require")
        #expect(Redaction.redactURL("host=db user=fx password=abc dbname=fx") == "host=db user=fx password=[redacted] dbname=fx")
        #expect(Redaction.redactURL("postgres://fx@db/fx") == "postgres://fx@db/fx")
        // Token-like query parameters (a venue URL, a webhook), not only password=.
        #expect(Redaction.redactURL("wss://ws.finnhub.io?token=abc123") == "wss://ws.finnhub.io?token=[redacted]")
        #expect(Redaction.redactURL("https://h/x?apikey=k1&symbol=EUR&api_key=k2&access_token=t") == "https://h/x?apikey=[redacted]&symbol=EUR&api_key=[redacted]&access_token=[redacted]")
        #expect(Redaction.redactURL("https://h/x?key=k&sig=s&signature=z&limit=5") == "https://h/x?key=[redacted]&sig=[redacted]&signature=[redacted]&limit=5")
        #expect(Redaction.redactURL("host=db sslpassword=p sslmode=verify-full") == "host=db sslpassword=[redacted] sslmode=verify-full")
        #expect(Redaction.redactURL("https://h/candles?granularity=60&start=2026") == "https://h/candles?granularity=60&start=2026", "ordinary parameters stay")
        #expect(Redaction.redactURL("https://h:8443/x?to=me@y.com") == "https://h:8443/x?to=me@y.com", "an @ in a query value is not user info")
        #expect(Redaction.redactURL("postgres://u:p@ss/w@db/fx") == "postgres://u:[redacted]@db/fx", "a password with raw @ and / is still hidden")
        #expect(Redaction.redactURL("postgres://u@db/fx?password=pa,ss#x&sslmode=require") == "postgres://u@db/fx?password=[redacted]&sslmode=require",
                "a password with a comma or # is hidden whole")
        let redacted = Redaction.redact(["sasl.password": "x", "ssl.key.pem": "y", "api_token": "z", "linger.ms": "5"])
        #expect(redacted == ["sasl.password": "[redacted]", "ssl.key.pem": "[redacted]", "api_token": "[redacted]", "linger.ms": "5"])
    }

    @Test("topic names derive from the prefix")
    func topics() {
        let topics = TopicNames(prefix: "lab.")
        #expect(topics.all == ["lab.ticks", "lab.gaps", "lab.health", "lab.rejects", "lab.candles", "lab.alerts", "lab.books", "lab.latest", "lab.raw"])
        #expect(TopicNames().ticks == "fx.ticks")
    }
}
