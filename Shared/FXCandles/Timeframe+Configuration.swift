import FXConfiguration

extension Timeframe {
    /// A comma-separated list of timeframes (or a YAML list), duplicates dropped, at least one.
    public static let listReader: ValueReader<[Timeframe]> = ValueReader<[Timeframe]>(
        allowed: "timeframes like 1s, 1m, 5m, 15m, 1h, 4h, 1d",
        text: { (text: String) throws(ConfigValueError) -> [Timeframe] in try parseList(try ValueReader.list.parse(text)) },
        file: { (value: ConfigFileValue) throws(ConfigValueError) -> [Timeframe] in try parseList(try ValueReader.list.parse(value)) },
        format: { $0.map(\.name).joined(separator: ",") })

    static func parseList(_ names: [String]) throws(ConfigValueError) -> [Timeframe] {
        var frames: [Timeframe] = []
        for name in names {
            guard let frame = Timeframe(name) else { throw ConfigValueError("'\(name)' is not a timeframe") }
            if !frames.contains(frame) { frames.append(frame) }
        }
        guard !frames.isEmpty else { throw ConfigValueError("no timeframe given") }
        return frames
    }
}
