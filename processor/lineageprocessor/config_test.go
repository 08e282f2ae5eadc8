package lineageprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(componentType), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(componentType, "custom"), want: &Config{
			Mode: ModeLink, DecisionWait: time.Minute, MaxBufferedSpans: 5000, MaxBufferedBytes: 1 << 20,
			MaxBufferedLogRecords: 3000, MappingTTL: 30 * time.Minute, MaxMappings: 2000, IndexTTL: 2 * time.Minute,
			ClusterAttribute: "deployment.kafka.cluster", FlushPairingWindow: 50 * time.Millisecond,
			TableJoins: []TableJoin{{Service: "withdrawal-processor", Table: "accounts", Outputs: []string{"withdrawals-approved"}}},
			Connect:    ConnectConfig{URLs: []string{"http://connect-1:8083"}, RefreshInterval: 30 * time.Second, Timeout: 2 * time.Second},
		}},
		{id: component.NewIDWithName(componentType, "bad_connect"), wantErr: []string{
			`connect::urls[0]: want an http(s) URL, got "ftp://connect-1:8083"`,
			`connect::urls[1]: want an http(s) URL, got "connect-2"`,
			"connect: refresh_interval and timeout must be positive, got 0s and 5s",
		}},
		{id: component.NewIDWithName(componentType, "bad_joins"), wantErr: []string{
			`table_joins[0]: the table topic "accounts" cannot be an output`,
			"table_joins[1]: service, table and outputs are required",
		}},
		{id: component.NewIDWithName(componentType, "bad_mode"), wantErr: []string{`mode: must be "rewrite" or "link", got "merge"`}},
		{id: component.NewIDWithName(componentType, "bad_wait"), wantErr: []string{"decision_wait: must be positive, got 0s"}},
		{id: component.NewIDWithName(componentType, "bad_bounds"), wantErr: []string{
			"max_buffered_spans: must be positive, got -1", "max_buffered_bytes: must be positive, got 0",
			"max_buffered_log_records: must be positive, got 0",
		}},
		{id: component.NewIDWithName(componentType, "bad_ttl"), wantErr: []string{
			"mapping_ttl: must be at least decision_wait (2m0s), got 1m0s",
			"index_ttl: must be at least decision_wait (2m0s), got 1m0s",
		}},
		{id: component.NewIDWithName(componentType, "bad_cluster"), wantErr: []string{"cluster_attribute: must not be empty"}},
		{id: component.NewIDWithName(componentType, "bad_pairing"), wantErr: []string{"flush_pairing_window: must be positive and at most 1s, got 0s"}},
		{id: component.NewIDWithName(componentType, "bad_pairing_long"), wantErr: []string{"flush_pairing_window: must be positive and at most 1s, got 5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
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

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, 40*time.Second, cfg.DecisionWait)
	assert.Equal(t, int64(128<<20), cfg.MaxBufferedBytes)
	assert.Equal(t, "kafka.cluster.name", cfg.ClusterAttribute)
}
