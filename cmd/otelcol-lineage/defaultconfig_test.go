package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
)

func TestWithDefaultConfig(t *testing.T) {
	cfg := "receivers: {}"
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bare binary gets the default", []string{"otelcol-lineage"}, []string{"otelcol-lineage", "--config=yaml:" + cfg}},
		{"flags without config get the default", []string{"otelcol-lineage", "--feature-gates=x"}, []string{"otelcol-lineage", "--feature-gates=x", "--config=yaml:" + cfg}},
		{"validate gets the default", []string{"otelcol-lineage", "validate"}, []string{"otelcol-lineage", "validate", "--config=yaml:" + cfg}},
		{"user config wins", []string{"otelcol-lineage", "--config", "my.yaml"}, []string{"otelcol-lineage", "--config", "my.yaml"}},
		{"user config with = wins", []string{"otelcol-lineage", "--config=my.yaml"}, []string{"otelcol-lineage", "--config=my.yaml"}},
		{"components subcommand untouched", []string{"otelcol-lineage", "components"}, []string{"otelcol-lineage", "components"}},
		{"help untouched", []string{"otelcol-lineage", "--help"}, []string{"otelcol-lineage", "--help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, usesDefault := withDefaultConfig(tt.args, cfg)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(tt.want) > len(tt.args), usesDefault)
		})
	}
}

// TestDefaultConfigIsValid resolves the embedded configuration with the distribution's own
// factories, exactly as the collector does at start, and validates every component.
func TestDefaultConfigIsValid(t *testing.T) {
	t.Setenv("LINEAGE_DATA_DIR", filepath.Join(t.TempDir(), "data"))
	factories, err := components()
	require.NoError(t, err)
	provider, err := otelcol.NewConfigProvider(otelcol.ConfigProviderSettings{
		ResolverSettings: confmap.ResolverSettings{
			URIs:              []string{"yaml:" + defaultConfig},
			ProviderFactories: []confmap.ProviderFactory{yamlprovider.NewFactory(), envprovider.NewFactory()},
		},
	})
	require.NoError(t, err)
	cfg, err := provider.Get(t.Context(), factories)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.NoError(t, confmap.Validate(cfg))
	assert.Len(t, cfg.Service.Pipelines, 2)
}
