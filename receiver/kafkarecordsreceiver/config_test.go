package kafkarecordsreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/kafka/configkafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	dflt := createDefaultConfig().(*Config)
	dflt.Clusters = map[string]ClusterConfig{"dc1": withBrokers(defaultClusterConfig(), "127.0.0.1:19092")}
	dflt.Topics = []string{"transactions"}
	dflt.KeyHash.Secret = "s3cret"

	dc1 := withBrokers(defaultClusterConfig(), "broker-1:9093", "broker-2:9093")
	dc1.ClientID = "lineage-dc1"
	dc1.TLS = &configtls.ClientConfig{InsecureSkipVerify: true}
	dc1.Authentication.SASL = &configkafka.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "lineage", Password: "pw"}
	dc1.Metadata.RefreshInterval = time.Minute
	dc2 := withBrokers(defaultClusterConfig(), "broker-3:9092")
	dc2.Topics = []string{`^dc1\..*`}
	custom := &Config{
		Clusters:               map[string]ClusterConfig{"dc1": dc1, "dc2": dc2},
		Topics:                 []string{"transactions", "^.*-changelog$", "^.*-repartition$"},
		StartAt:                "2026-11-25T10:00:00Z",
		Key:                    KeyRaw,
		KeyHash:                KeyHashConfig{Algorithm: AlgorithmSHA256},
		Headers:                []string{"event-id", "correlation-id"},
		IsolationLevel:         ReadCommitted,
		TopicDiscoveryInterval: 2 * time.Second,
		Fetch:                  FetchConfig{MaxBytes: 2 << 20, MaxPartitionBytes: 512 << 10, MaxWait: 100 * time.Millisecond, MaxRecords: 200},
		RetryOnFailure:         RetryConfig{InitialInterval: 50 * time.Millisecond, MaxInterval: 2 * time.Second},
	}

	tests := []struct {
		name    string
		want    *Config
		wantErr []string
	}{
		{name: "", want: dflt},
		{name: "custom", want: custom},
		{name: "no_clusters", wantErr: []string{"clusters: at least one cluster is required"}},
		{name: "no_topics", wantErr: []string{"clusters::dc1: no topics: set topics here or at the receiver level"}},
		{name: "bad_values", wantErr: []string{
			"topics[0]: must not be empty",
			"topics[1]: error parsing regexp: invalid character class range: `z-a`",
			"clusters::dc1: topics[0]: error parsing regexp: missing closing ): `^(unclosed`",
			`start_at: must be "latest", "earliest" or an RFC 3339 timestamp, got "yesterday"`,
			`key: must be "hash", "raw" or "none", got "plain"`,
			`key_hash::algorithm: must be "hmac-sha256" or "sha256", got "md5"`,
			"headers[1]: must not be empty",
			`headers[2]: "event-id" is listed twice`,
			`isolation_level: must be "read_uncommitted" or "read_committed", got "dirty"`,
			"topic_discovery_interval: must be positive, got 0s",
			"fetch::max_bytes: must be positive, got 0",
			"fetch::max_partition_bytes: must be positive and at most fetch::max_bytes (0), got 10",
			"fetch::max_wait: must be at least 1ms, got 0s",
			"fetch::max_records: must be positive, got -1",
			"retry_on_failure: need 0 < initial_interval <= max_interval, got 2s and 1s",
		}},
		{name: "no_secret", wantErr: []string{`key_hash::secret: required with algorithm "hmac-sha256" (or set key_hash::algorithm: "sha256", or key: "none")`}},
		{name: "client", wantErr: []string{
			"clusters::dc1::clientconfig: brokers must be specified",
			"auth::sasl::mechanism: kafka_records supports PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, got \"OAUTHBEARER\"",
			"auth::kerberos: not supported by kafka_records",
			"use_leader_epoch: false is not supported by kafka_records",
			"only one of sasl or kerberos authentication can be configured",
		}},
	}
	for _, tt := range tests {
		id := component.NewIDWithName(componentType, tt.name)
		if tt.name == "" {
			id = component.NewID(componentType)
		}
		t.Run(id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.want, cfg)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func withBrokers(cc ClusterConfig, brokers ...string) ClusterConfig {
	cc.Brokers = brokers
	return cc
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, StartLatest, cfg.StartAt)
	assert.Equal(t, KeyHash, cfg.Key)
	assert.Equal(t, AlgorithmHMACSHA256, cfg.KeyHash.Algorithm)
	// Without clusters, topics and a secret the default configuration is incomplete on purpose.
	err := cfg.Validate()
	assert.ErrorContains(t, err, "clusters: at least one cluster is required")
	assert.ErrorContains(t, err, "key_hash::secret: required")
	assert.Equal(t, DefaultClientID, defaultClusterConfig().ClientID)
}

func TestStartOffset(t *testing.T) {
	for _, s := range []string{StartLatest, StartEarliest, "2026-11-25T10:00:00.5+01:00"} {
		_, err := startOffset(s)
		assert.NoError(t, err, s)
	}
	_, err := startOffset("now")
	assert.Error(t, err)
}
