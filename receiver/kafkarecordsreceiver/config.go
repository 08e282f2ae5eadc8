package kafkarecordsreceiver // import "github.com/eventlineage/lineage/receiver/kafkarecordsreceiver"

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/kafka/configkafka"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
)

// KeyMode says what a fact reports about the record key.
type KeyMode string

const (
	// KeyHash reports the keyed hash of the key only (messaging.kafka.message.key_hash), so that
	// facts can be joined on keys without revealing them.
	KeyHash KeyMode = "hash"
	// KeyRaw reports the hash and the key itself (messaging.kafka.message.key).
	KeyRaw KeyMode = "raw"
	// KeyNone reports nothing about the key.
	KeyNone KeyMode = "none"
)

// Key hash algorithms.
const (
	// AlgorithmHMACSHA256 is HMAC-SHA256 keyed with KeyHashConfig.Secret: without the secret,
	// a hash cannot be checked against guessed keys.
	AlgorithmHMACSHA256 = "hmac-sha256"
	// AlgorithmSHA256 is plain SHA-256, for keys that are not sensitive.
	AlgorithmSHA256 = "sha256"
)

// Start positions; any other StartAt value must be an RFC 3339 timestamp.
const (
	StartLatest   = "latest"
	StartEarliest = "earliest"
)

// Isolation levels (Kafka's isolation.level).
const (
	ReadUncommitted = "read_uncommitted"
	ReadCommitted   = "read_committed"
)

// Config configures the kafka_records receiver.
type Config struct {
	// Clusters maps a cluster name (reported as the resource attribute kafka.cluster.name, e.g.
	// "dc1") to its client settings. At least one is required.
	Clusters map[string]ClusterConfig `mapstructure:"clusters"`

	// Topics to tail on every cluster that has no topics of its own: exact names, or regular
	// expressions when the entry starts with "^" (as in the contrib kafka receiver), matched
	// against the whole name only if anchored with "$", e.g. "^.*-changelog$". Internal topics
	// (__consumer_offsets, ...) are matched by exact name only.
	Topics []string `mapstructure:"topics"`

	// StartAt is where a partition that exists when the receiver first reaches its cluster is
	// read from: "latest" (only records written from now on), "earliest", or an RFC 3339
	// timestamp (the first record at or after it). Partitions that appear later (new topics,
	// added partitions) are always read from their beginning: all their records are new.
	StartAt string `mapstructure:"start_at"`

	// Key is "hash" (default), "raw" or "none"; see KeyMode.
	Key KeyMode `mapstructure:"key"`

	// KeyHash configures messaging.kafka.message.key_hash.
	KeyHash KeyHashConfig `mapstructure:"key_hash"`

	// Headers lists business headers (e.g. an event id) whose values every fact reports as
	// messaging.kafka.header.<name>, besides traceparent, tracestate and baggage.
	Headers []string `mapstructure:"headers"`

	// IsolationLevel is "read_uncommitted" (default: facts as soon as records are written,
	// aborted transactional records included) or "read_committed".
	IsolationLevel string `mapstructure:"isolation_level"`

	// TopicDiscoveryInterval is how often the cluster metadata is read to find new topics and
	// partitions matching Topics (Kafka Streams creates changelog and repartition topics late).
	TopicDiscoveryInterval time.Duration `mapstructure:"topic_discovery_interval"`

	// Fetch bounds what is read and held in memory.
	Fetch FetchConfig `mapstructure:"fetch"`

	// RetryOnFailure paces the retries of a batch the next consumer refused with a retryable
	// error. The receiver does not drop such a batch and reads nothing more from that cluster
	// until it is accepted (backpressure); a permanent error drops the batch.
	RetryOnFailure RetryConfig `mapstructure:"retry_on_failure"`
}

// ClusterConfig is one cluster: the contrib Kafka client settings (brokers, client_id, tls,
// auth::sasl, metadata, dial_timeout, ...) plus optional topics of its own.
type ClusterConfig struct {
	configkafka.ClientConfig `mapstructure:",squash"`

	// Topics replaces Config.Topics for this cluster (e.g. MirrorMaker 2's "dc1." prefixed
	// copies exist on dc2 only).
	Topics []string `mapstructure:"topics"`
}

// KeyHashConfig configures the key hash.
type KeyHashConfig struct {
	// Algorithm is "hmac-sha256" (default) or "sha256".
	Algorithm string `mapstructure:"algorithm"`
	// Secret is the HMAC key; required with hmac-sha256 unless key is "none". Every component
	// that compares key hashes must use the same secret.
	Secret configopaque.String `mapstructure:"secret"`
}

// FetchConfig bounds fetching. Memory held per cluster is about MaxBytes per broker (one
// buffered fetch each) plus one batch of MaxRecords facts in flight.
type FetchConfig struct {
	// MaxBytes bounds one fetch response (Kafka's fetch.max.bytes).
	MaxBytes int32 `mapstructure:"max_bytes"`
	// MaxPartitionBytes bounds one partition in a fetch response (max.partition.fetch.bytes).
	MaxPartitionBytes int32 `mapstructure:"max_partition_bytes"`
	// MaxWait is how long a broker may wait for new records before answering a fetch.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// MaxRecords bounds the facts sent to the next consumer in one batch.
	MaxRecords int `mapstructure:"max_records"`
}

// RetryConfig is an exponential backoff without an end.
type RetryConfig struct {
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	MaxInterval     time.Duration `mapstructure:"max_interval"`
}

var (
	_ confmap.Unmarshaler = (*Config)(nil)
	_ confmap.Validator   = (*Config)(nil)
	_ confmap.Validator   = (*ClusterConfig)(nil)
)

// Unmarshal starts every configured cluster from the default client settings: a map value is
// decoded from its zero value otherwise, and zero timeouts are invalid.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(c); err != nil {
		return err
	}
	clusters, err := conf.Sub("clusters")
	if err != nil {
		return err
	}
	for name := range c.Clusters {
		cc := defaultClusterConfig()
		sub, err := clusters.Sub(name)
		if err != nil {
			return fmt.Errorf("clusters::%s: %w", name, err)
		}
		if err := sub.Unmarshal(&cc); err != nil {
			return fmt.Errorf("clusters::%s: %w", name, err)
		}
		c.Clusters[name] = cc
	}
	return nil
}

// Validate checks the receiver settings; confmap also validates each cluster's client settings.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Clusters) == 0 {
		errs = append(errs, errors.New("clusters: at least one cluster is required"))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Clusters)) {
		if strings.TrimSpace(name) == "" {
			errs = append(errs, errors.New("clusters: a cluster name must not be empty"))
		}
		if len(c.Topics) == 0 && len(c.Clusters[name].Topics) == 0 {
			errs = append(errs, fmt.Errorf("clusters::%s: no topics: set topics here or at the receiver level", name))
		}
	}
	errs = append(errs, validateTopics("topics", c.Topics)...)
	if _, err := parseStartAt(c.StartAt); err != nil {
		errs = append(errs, err)
	}
	switch c.Key {
	case KeyHash, KeyRaw, KeyNone:
	default:
		errs = append(errs, fmt.Errorf("key: must be %q, %q or %q, got %q", KeyHash, KeyRaw, KeyNone, c.Key))
	}
	switch c.KeyHash.Algorithm {
	case AlgorithmHMACSHA256:
		if c.KeyHash.Secret == "" && c.Key != KeyNone {
			errs = append(errs, fmt.Errorf("key_hash::secret: required with algorithm %q (or set key_hash::algorithm: %q, or key: %q)",
				AlgorithmHMACSHA256, AlgorithmSHA256, KeyNone))
		}
	case AlgorithmSHA256:
	default:
		errs = append(errs, fmt.Errorf("key_hash::algorithm: must be %q or %q, got %q", AlgorithmHMACSHA256, AlgorithmSHA256, c.KeyHash.Algorithm))
	}
	seen := map[string]bool{}
	for i, h := range c.Headers {
		switch {
		case h == "":
			errs = append(errs, fmt.Errorf("headers[%d]: must not be empty", i))
		case seen[h]:
			errs = append(errs, fmt.Errorf("headers[%d]: %q is listed twice", i, h))
		}
		seen[h] = true
	}
	switch c.IsolationLevel {
	case ReadUncommitted, ReadCommitted:
	default:
		errs = append(errs, fmt.Errorf("isolation_level: must be %q or %q, got %q", ReadUncommitted, ReadCommitted, c.IsolationLevel))
	}
	if c.TopicDiscoveryInterval <= 0 {
		errs = append(errs, fmt.Errorf("topic_discovery_interval: must be positive, got %s", c.TopicDiscoveryInterval))
	}
	f := c.Fetch
	if f.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("fetch::max_bytes: must be positive, got %d", f.MaxBytes))
	}
	if f.MaxPartitionBytes <= 0 || f.MaxPartitionBytes > f.MaxBytes {
		errs = append(errs, fmt.Errorf("fetch::max_partition_bytes: must be positive and at most fetch::max_bytes (%d), got %d", f.MaxBytes, f.MaxPartitionBytes))
	}
	if f.MaxWait < time.Millisecond {
		errs = append(errs, fmt.Errorf("fetch::max_wait: must be at least 1ms, got %s", f.MaxWait))
	}
	if f.MaxRecords <= 0 {
		errs = append(errs, fmt.Errorf("fetch::max_records: must be positive, got %d", f.MaxRecords))
	}
	r := c.RetryOnFailure
	if r.InitialInterval <= 0 || r.MaxInterval < r.InitialInterval {
		errs = append(errs, fmt.Errorf("retry_on_failure: need 0 < initial_interval <= max_interval, got %s and %s", r.InitialInterval, r.MaxInterval))
	}
	return errors.Join(errs...)
}

// Validate rejects the client settings this receiver does not implement; confmap validates
// the rest of the embedded client settings itself.
func (c *ClusterConfig) Validate() error {
	var errs []error
	errs = append(errs, validateTopics("topics", c.Topics)...)
	if sasl := c.Authentication.SASL; sasl != nil {
		switch sasl.Mechanism {
		case saslPlain, saslScram256, saslScram512:
		default:
			errs = append(errs, fmt.Errorf("auth::sasl::mechanism: kafka_records supports %s, %s and %s, got %q",
				saslPlain, saslScram256, saslScram512, sasl.Mechanism))
		}
	}
	if c.Authentication.Kerberos != nil {
		errs = append(errs, errors.New("auth::kerberos: not supported by kafka_records"))
	}
	if !c.UseLeaderEpoch {
		errs = append(errs, errors.New("use_leader_epoch: false is not supported by kafka_records"))
	}
	return errors.Join(errs...)
}

func validateTopics(field string, topics []string) []error {
	var errs []error
	for i, t := range topics {
		if t == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: must not be empty", field, i))
			continue
		}
		if strings.HasPrefix(t, "^") {
			if _, err := regexp.Compile(t); err != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", field, i, err))
			}
		}
	}
	return errs
}

// parseStartAt returns the start time of an RFC 3339 StartAt, or the zero time for latest
// and earliest.
func parseStartAt(s string) (time.Time, error) {
	switch s {
	case StartLatest, StartEarliest:
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("start_at: must be %q, %q or an RFC 3339 timestamp, got %q", StartLatest, StartEarliest, s)
	}
	return t, nil
}
