import Foundation

/// Runs commands to completion: ``run(_:)`` with posix_spawn/waitpid, output discarded (Foundation's
/// Process can miss the exit of a child whose own children daemonize, as pg_ctl's server does);
/// ``output(_:_:environment:)`` with Process, output captured, for programs that do not daemonize.
///
/// ``run(_:)`` closes every descriptor above standard error in the child, at spawn time. Foundation's
/// Process learns that a child exited when a socket it gave that child closes; a daemon started here
/// (pg_ctl's postgres) that inherited another test's socket would keep it open for its whole life, and
/// that test's `Process` would never see its child exit (a CI run saw an ingestor that had exited
/// 78 "still running" after 20 s, while a private PostgreSQL started in parallel).
public enum Subprocess {
    @discardableResult
    public static func run(_ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        try closeInheritedDescriptors(&actions)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestSupportError("cannot start \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return exited ? (status >> 8) & 0xff : -1
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the Glibc module does not
    /// import: looked up by name. Closing at spawn time is atomic; listing /proc/self/fd beforehand
    /// would race with sockets other tests open meanwhile.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) throws {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { // nil: RTLD_DEFAULT
            throw TestSupportError("this C library has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)")
        }
        let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
        guard closeFrom(&actions, 3) == 0 else { throw TestSupportError("posix_spawn_file_actions_addclosefrom_np failed") }
    }

    /// Runs and throws unless the command exits 0.
    public static func check(_ arguments: [String]) throws {
        let code = try run(arguments)
        guard code == 0 else { throw TestSupportError("command failed (\(code)): \(arguments.joined(separator: " "))") }
    }

    /// Runs an executable to its end with Foundation's Process; its exit status and everything it wrote
    /// (standard output and error together). `environment` is added to this process's own.
    public static func output(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
