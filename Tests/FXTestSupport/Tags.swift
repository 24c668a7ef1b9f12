import Testing

extension Tag {
    /// Specs that need the local stack (the Kafka broker, PostgreSQL) or start the project's executables as
    /// child processes. Everything untagged is a unit spec: in-process, no network, runs in seconds
    /// (`bash scripts/test.sh --unit`).
    @Tag public static var integration: Self
}
