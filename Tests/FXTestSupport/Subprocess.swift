import Foundation

/// Runs a command to completion with posix_spawn/waitpid, output discarded. (Foundation's Process can
/// miss the exit of a child whose own children daemonize, as pg_ctl's server does.)
public enum Subprocess {
    @discardableResult
    public static func run(_ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
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

    /// Runs and throws unless the command exits 0.
    public static func check(_ arguments: [String]) throws {
        let code = try run(arguments)
        guard code == 0 else { throw TestSupportError("command failed (\(code)): \(arguments.joined(separator: " "))") }
    }
}
