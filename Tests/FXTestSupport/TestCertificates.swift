import Foundation

/// A CA, a server certificate for DNS:localhost signed by it, and an unrelated CA.
public struct TestCertificates {
    public let directory: URL
    public var ca: String { directory.appendingPathComponent("ca.crt").path }
    public var otherCA: String { directory.appendingPathComponent("other-ca.crt").path }
    public var serverCertificate: String { directory.appendingPathComponent("server.crt").path }
    public var serverKey: String { directory.appendingPathComponent("server.key").path }

    public init(in directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func openssl(_ arguments: [String]) throws {
            let (status, output) = try Subprocess.output("/usr/bin/openssl", arguments)
            guard status == 0 else { throw TestSupportError("openssl \(arguments.first ?? ""): \(output)") }
        }
        let path = directory.path
        for name in ["ca", "other-ca"] {
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=FXStream test \(name)",
                         "-keyout", "\(path)/\(name).key", "-out", "\(path)/\(name).crt"])
        }
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", serverKey, "-out", "\(path)/server.csr"])
        try "subjectAltName=DNS:localhost\n".write(toFile: "\(path)/san.ext", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "\(path)/server.csr", "-CA", ca, "-CAkey", "\(path)/ca.key", "-CAcreateserial",
                     "-days", "2", "-extfile", "\(path)/san.ext", "-out", serverCertificate])
    }
}
