package lineageexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	persistent := createDefaultConfig().(*Config)
	persistent.Storage = component.MustNewIDWithName("lineage_storage", "main")
	persistent.TimeoutConfig.Timeout = 10 * time.Second
	persistent.SpanIndexSize = 1000
	q := persistent.QueueConfig.Get()
	fs := component.MustNewIDWithName("file_storage", "lineage")
	q.StorageID, q.QueueSize, q.NumConsumers = &fs, 5000, 2
	persistent.RetryConfig.InitialInterval, persistent.RetryConfig.MaxInterval = time.Second, 10*time.Second

	noQueue := createDefaultConfig().(*Config)
	noQueue.Storage = component.MustNewID("lineage_storage")
	noQueue.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(componentType), wantErr: "storage: required: the id of a lineage_storage extension (e.g. lineage_storage)"},
		{id: component.NewIDWithName(componentType, "persistent"), want: persistent},
		{id: component.NewIDWithName(componentType, "no_queue"), want: noQueue},
		{id: component.NewIDWithName(componentType, "bad_queue"), wantErr: "`queue_size` must be positive"},
		{id: component.NewIDWithName(componentType, "bad_index"), wantErr: "span_index_size: must not be negative (0 disables), got -1"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.True(t, cfg.QueueConfig.HasValue(), "an in-memory sending queue by default")
	assert.Nil(t, cfg.QueueConfig.Get().StorageID)
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.Zero(t, cfg.RetryConfig.MaxElapsedTime, "retry until the store is back")
	assert.Equal(t, 5*time.Second, cfg.TimeoutConfig.Timeout)
	assert.Equal(t, 200_000, cfg.SpanIndexSize)
}
