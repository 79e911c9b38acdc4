"""Kafka consumers of intake (via `eventkit.consumer.EventConsumer`)."""
