/// How a venue's order books are kept: the depth subscribed per side (nil: as deep as the venue sends)
/// and whether a crossed book means a missed update.
public struct BookFeed: Sendable, Equatable {
    public var depth: Int?
    public var crossedIsError: Bool

    public init(depth: Int?, crossedIsError: Bool) {
        self.depth = depth
        self.crossedIsError = crossedIsError
    }
}
