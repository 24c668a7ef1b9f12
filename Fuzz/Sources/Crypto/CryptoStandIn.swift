// A stand-in for swift-crypto's `Crypto` module, so the real `CoinbaseProvider.swift` (which signs an
// authenticated subscribe with HMAC-SHA256) compiles in the fuzz package without fetching swift-crypto.
// Only the API shape is provided: the "MAC" is empty. No fuzz target calls `CoinbaseProvider.signature`.
import Foundation

public protocol HashFunction {}
public struct SHA256: HashFunction {}

public struct SymmetricKey {
    public init<D: ContiguousBytes>(data: D) {}
}

public struct HashedAuthenticationCode<H: HashFunction>: Sequence {
    public func makeIterator() -> IndexingIterator<[UInt8]> { [UInt8]().makeIterator() }
}

public enum HMAC<H: HashFunction> {
    public static func authenticationCode<D: DataProtocol>(for data: D, using key: SymmetricKey) -> HashedAuthenticationCode<H> {
        HashedAuthenticationCode()
    }
}
