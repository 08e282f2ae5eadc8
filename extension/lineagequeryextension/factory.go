package lineagequeryextension // import "github.com/eventlineage/lineage/extension/lineagequeryextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/extension"
)

const (
	typeStr   = "lineage_query"
	stability = component.StabilityLevelDevelopment

	// DefaultEndpoint is the default listen address: local only, as the API shows business data
	// (topics, keys' hashes, services) and has no authentication unless auth is configured.
	DefaultEndpoint = "localhost:18090"
	// DefaultMaxLineageDepth is the default Config.MaxLineageDepth.
	DefaultMaxLineageDepth = 20
	// DefaultMaxLineageEvents is the default Config.MaxLineageEvents: a graph a browser still draws.
	DefaultMaxLineageEvents = 2000
	// DefaultUIEnabled is the default UIConfig.Enabled.
	DefaultUIEnabled = true
)

var componentType = component.MustNewType(typeStr)

// NewFactory returns the factory of the lineage_query extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(componentType, createDefaultConfig, create, stability)
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = DefaultEndpoint
	return &Config{
		ServerConfig:     server,
		MaxLineageDepth:  DefaultMaxLineageDepth,
		MaxLineageEvents: DefaultMaxLineageEvents,
		UI:               UIConfig{Enabled: DefaultUIEnabled},
	}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set), nil
}
