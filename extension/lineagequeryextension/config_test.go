package lineagequeryextension

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	dflt := createDefaultConfig().(*Config)
	dflt.Storage = storageID

	custom := createDefaultConfig().(*Config)
	custom.NetAddr.Endpoint = "0.0.0.0:18443"
	custom.TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: "/etc/lineage/tls.crt", KeyFile: "/etc/lineage/tls.key"}})
	custom.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewID("bearertokenauth")}})
	custom.Storage = component.MustNewIDWithName("lineage_storage", "pg")
	custom.TraceURLTemplate = "http://localhost:16686/trace/{trace_id}"
	custom.MaxLineageDepth = 50
	custom.MaxLineageEvents = 5000
	custom.UI.Enabled = false

	tests := []struct {
		name    string
		want    *Config
		wantErr []string
	}{
		{name: "", want: dflt},
		{name: "custom", want: custom},
		{name: "no_storage", wantErr: []string{"storage: required: the id of a lineage_storage extension (e.g. lineage_storage)"}},
		{name: "bad_values", wantErr: []string{
			`endpoint: required (e.g. "localhost:18090")`,
			`trace_url_template: must contain {trace_id} (or be empty for no trace links), got "http://localhost:16686/trace/"`,
			"max_lineage_depth: must be from 1 to 100, got 101",
			"max_lineage_events: must be from 1 to 10000, got 0",
		}},
		{name: "too_many_events", wantErr: []string{"max_lineage_events: must be from 1 to 10000, got 10001"}},
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

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, DefaultEndpoint, cfg.NetAddr.Endpoint)
	assert.Equal(t, DefaultMaxLineageDepth, cfg.MaxLineageDepth)
	assert.Equal(t, DefaultMaxLineageEvents, cfg.MaxLineageEvents)
	assert.True(t, cfg.UI.Enabled)
	assert.Positive(t, cfg.ReadHeaderTimeout, "confighttp's slow-header protection stays on")
	// Without a storage extension the default configuration is incomplete on purpose.
	assert.ErrorContains(t, cfg.Validate(), "storage: required")
}
