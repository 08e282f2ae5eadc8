package kafkarecordsreceiver // import "github.com/eventlineage/lineage/receiver/kafkarecordsreceiver"

import (
	"context"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/kafka/configkafka"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
)

const (
	typeStr   = "kafka_records"
	stability = component.StabilityLevelDevelopment

	// DefaultStartAt is the default Config.StartAt.
	DefaultStartAt = StartLatest
	// DefaultKey is the default Config.Key.
	DefaultKey = KeyHash
	// DefaultKeyHashAlgorithm is the default KeyHashConfig.Algorithm.
	DefaultKeyHashAlgorithm = AlgorithmHMACSHA256
	// DefaultIsolationLevel is the default Config.IsolationLevel.
	DefaultIsolationLevel = ReadUncommitted
	// DefaultTopicDiscoveryInterval: a Streams application's internal topics are created when it
	// starts; their first records should not wait long for their partitions to be tailed.
	DefaultTopicDiscoveryInterval = 10 * time.Second
	// DefaultFetchMaxBytes is the default FetchConfig.MaxBytes (8 MiB; Kafka's is 50 MiB: the
	// receiver reads metadata-sized facts, not payloads, and should stay small).
	DefaultFetchMaxBytes = 8 << 20
	// DefaultFetchMaxPartitionBytes is the default FetchConfig.MaxPartitionBytes (Kafka's, 1 MiB).
	DefaultFetchMaxPartitionBytes = 1 << 20
	// DefaultFetchMaxWait is the default FetchConfig.MaxWait (Kafka's fetch.max.wait.ms).
	DefaultFetchMaxWait = 500 * time.Millisecond
	// DefaultFetchMaxRecords is the default FetchConfig.MaxRecords.
	DefaultFetchMaxRecords = 1000
	// DefaultRetryInitialInterval is the default RetryConfig.InitialInterval.
	DefaultRetryInitialInterval = 100 * time.Millisecond
	// DefaultRetryMaxInterval is the default RetryConfig.MaxInterval.
	DefaultRetryMaxInterval = 5 * time.Second
	// DefaultClientID is the default client_id of every cluster: brokers' request logs and quotas
	// then tell the receiver's reads apart from the applications'.
	DefaultClientID = "otelcol-lineage-kafka-records"
)

var componentType = component.MustNewType(typeStr)

// NewFactory returns the factory of the kafka_records receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(componentType, createDefaultConfig,
		receiver.WithLogs(createLogs, stability))
}

func createDefaultConfig() component.Config {
	return &Config{
		StartAt:                DefaultStartAt,
		Key:                    DefaultKey,
		KeyHash:                KeyHashConfig{Algorithm: DefaultKeyHashAlgorithm},
		IsolationLevel:         DefaultIsolationLevel,
		TopicDiscoveryInterval: DefaultTopicDiscoveryInterval,
		Fetch: FetchConfig{
			MaxBytes:          DefaultFetchMaxBytes,
			MaxPartitionBytes: DefaultFetchMaxPartitionBytes,
			MaxWait:           DefaultFetchMaxWait,
			MaxRecords:        DefaultFetchMaxRecords,
		},
		RetryOnFailure: RetryConfig{InitialInterval: DefaultRetryInitialInterval, MaxInterval: DefaultRetryMaxInterval},
	}
}

// defaultClusterConfig is contrib's default client with the receiver's own client id and no
// brokers: with several named clusters, a forgotten brokers list must fail validation rather than
// silently mean localhost:9092.
func defaultClusterConfig() ClusterConfig {
	cc := ClusterConfig{ClientConfig: configkafka.NewDefaultClientConfig()}
	cc.ClientID = DefaultClientID
	cc.Brokers = nil
	return cc
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(set, cfg.(*Config), next)
}
