/// What a consumer made with a handler gives it, in the order it happened, on its poll thread.
public enum KafkaConsumerDelivery {
    /// Messages, lent for the call (see ``KafkaMessageView``).
    case messages([KafkaMessageView])
    /// A rebalance event (``KafkaConsumerEvent/partitionsAssigned(_:)``, ``KafkaConsumerEvent/partitionsRevoked(_:)``,
    /// ``KafkaConsumerEvent/offsetsBelowLogStart(_:)``); never a message.
    case event(KafkaConsumerEvent)
}
