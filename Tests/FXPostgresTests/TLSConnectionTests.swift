import FXPostgres
import FXTestSupport
import Foundation
import Testing

/// `sslmode=verify-full` through the database URL, against a PostgreSQL serving a certificate this spec
/// makes: the right CA and host name connect over TLS; anything else fails closed with libpq's reason.
@Suite("PostgreSQL over TLS: verify-full", .serialized, .tags(.integration))
struct TLSConnectionTests {
    /// A private server with TLS on (the key readable by the server's user only, as PostgreSQL demands).
    static func server(_ certificates: TestCertificates) async throws -> PrivatePostgres {
        let server = try PrivatePostgres(timescale: false)
        if getuid() == 0 { _ = try Subprocess.run(["chown", "-R", "postgres:postgres", certificates.directory.path]) }
        _ = try Subprocess.run(["chmod", "600", certificates.serverKey])
        let admin = try await PostgresTestKit.connect(url: server.url)
        try await admin.query("ALTER SYSTEM SET ssl_cert_file = '\(certificates.serverCertificate)'")
        try await admin.query("ALTER SYSTEM SET ssl_key_file = '\(certificates.serverKey)'")
        try await admin.query("ALTER SYSTEM SET ssl = on")
        try await admin.query("SELECT pg_reload_conf()")
        await admin.close()
        return server
    }

    @Test("the right CA and host name connect over TLS (verify-full); a wrong CA, a wrong host name or no CA file fail closed, naming why")
    func verifyFull() async throws {
        let certificates = try TestCertificates(in: FileManager.default.temporaryDirectory.appendingPathComponent("fx-tls-\(UUID().uuidString.prefix(8))"))
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        let server = try await Self.server(certificates)
        func url(host: String, rootCert: String?) -> String {
            "postgres://postgres@\(host):\(server.port)/postgres?sslmode=verify-full" + (rootCert.map { "&sslrootcert=\($0)" } ?? "")
        }
        // The reload is asynchronous: wait until TLS is served.
        var connection: PostgresConnection?
        _ = try await TestEnvironment.eventually(timeout: .seconds(10)) {
            connection = try? await PostgresTestKit.connect(url: url(host: "localhost", rootCert: certificates.ca))
            return connection != nil
        }
        let verified = try #require(connection, "verify-full with the right CA and host name connects")
        let ssl = try await verified.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first
        #expect(try ssl?.decode(Bool.self, "ssl") == true, "the session is encrypted")
        #expect((ssl?["version"] ?? "").hasPrefix("TLS"), "\(String(describing: ssl?["version"]))")
        await verified.close()

        let failures: [(String, String, String)] = [
            ("a CA that did not sign the server's certificate", url(host: "localhost", rootCert: certificates.otherCA), "certificate verify failed"),
            ("a host name the certificate does not name", url(host: "127.0.0.1", rootCert: certificates.ca), "does not match host name"),
            ("no CA file at all", url(host: "localhost", rootCert: certificates.directory.appendingPathComponent("missing.crt").path), "root certificate file"),
        ]
        for (what, target, reason) in failures {
            do {
                let connection = try await PostgresTestKit.connect(url: target)
                await connection.close()
                Issue.record("\(what): connected, but verify-full must refuse")
            } catch let error as PostgresError {
                #expect(error.code == .connectionFailed, "\(what): \(error)")
                #expect(error.message.contains(reason), "\(what): the error names why: \(error.message)")
            }
        }
        try server.stop()
    }
}
