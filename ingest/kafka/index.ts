// The Kafka boundary of ingest: everything else imports from here, never from kafkajs.
export { createConsumer, createKafka, createSupervisedConsumer, createProducer, type Compression, type Consumer, type ConsumerOptions, type ConsumerRunConfig, type EachBatchPayload, type EachMessagePayload, type Kafka, type KafkaClientOptions, type KafkaMessage, type RunEventProducer } from './client.ts';
export { isRetriable, KafkaError, KafkaProducerStateError, KafkaRejectedError, KafkaRetriableError, KafkaTimeoutError, KafkaUnavailableError, toKafkaError } from './errors.ts';
export { ensureTopic, TopicMismatchError } from './topic.ts';
export { SupervisedConsumer, type SinkConsumer } from './supervised-consumer.ts';
