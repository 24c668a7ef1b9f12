import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `<service> healthcheck [flags]`: asks the service running in this container (or on this host) for its
/// own `/health/ready` over loopback, at the `http_port` its configuration resolves to, and exits 0 when
/// it answers 200, 1 otherwise (one line on standard error) — a container health check that needs no
/// curl or shell in the image. A one-shot command: the socket calls block the process's only task for at
/// most `timeout` seconds each, before any service runs.
public enum HealthProbe {
    /// The first line of the answer to `GET path`, or why there was none.
    public static func get(host: String, port: Int, path: String = "/health/ready", timeout: Int = 3) -> (ok: Bool, status: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return (false, "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return (false, "'\(host)' is not an IPv4 address") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return (false, "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return (false, "cannot send the request") }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return (false, "no answer from \(host):\(port)") }
        let status = String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
        return (status.hasPrefix("HTTP/1.") && status.dropFirst(9).hasPrefix("200"), status)
    }
}
