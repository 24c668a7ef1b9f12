import FXKafka
import FXTestSupport
import Testing

@Suite("Kafka: topic administration", .tags(.integration))
struct AdminTests {
    @Test("creating topics is idempotent and describe reports their partitions")
    func createAndDescribe() async throws {
        let admin = try KafkaAdmin(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("admin"))
        let name = TestEnvironment.uniqueName("admin")
        let first = try await admin.createTopics([KafkaTopicSpec(name: name, partitions: 5, configs: ["retention.ms": "3600000"])])
        #expect(first == [name: .created])
        let second = try await admin.createTopics([KafkaTopicSpec(name: name, partitions: 5)])
        #expect(second == [name: .alreadyExisted])
        let description = try await admin.describeTopics([name])
        #expect(description.map(\.name) == [name])
        #expect(description.first?.partitions.map(\.id) == [0, 1, 2, 3, 4])
        #expect(try await admin.listTopics().contains(name))
    }
}
