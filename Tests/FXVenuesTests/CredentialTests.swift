import FXVenues
import Testing

@Suite("Venue credentials")
struct CredentialTests {
    @Test("an API key list splits on commas and line ends, \\r\\n included, and drops blanks")
    func apiKeys() {
        #expect(ProviderCredential.apiKeys("k-one\r\nk-two, k-three\n\n ,\r\n") == ["k-one", "k-two", "k-three"])
        #expect(ProviderCredential.apiKeys("  ").isEmpty)
    }

    @Test("every credential value is scrubbed from a text; values under 4 characters are not (they would redact ordinary text)")
    func scrub() {
        let credential = ProviderCredential(key: "sk_live_1234", secret: "s3cr3t-value", passphrase: "abc")
        let text = "GET wss://x/?token=sk_live_1234 failed: bad signature s3cr3t-value (abc)"
        #expect(credential.scrub(text) == "GET wss://x/?token=[redacted] failed: bad signature [redacted] (abc)")
    }
}
