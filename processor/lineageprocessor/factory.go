package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
)

const (
	typeStr   = "lineage"
	stability = component.StabilityLevelDevelopment

	// DefaultMode is the default Config.Mode.
	DefaultMode = ModeRewrite
	// DefaultDecisionWait: Streams' 30 s commit interval + the agent's 5 s export delay + margin.
	DefaultDecisionWait = 40 * time.Second
	// DefaultMaxBufferedSpans is the default Config.MaxBufferedSpans.
	DefaultMaxBufferedSpans = 100_000
	// DefaultMaxBufferedBytes is the default Config.MaxBufferedBytes (128 MiB).
	DefaultMaxBufferedBytes = 128 << 20
	// DefaultMappingTTL is the default Config.MappingTTL.
	DefaultMappingTTL = 10 * time.Minute
	// DefaultMaxMappings is the default Config.MaxMappings.
	DefaultMaxMappings = 1_000_000
	// DefaultIndexTTL is the default Config.IndexTTL.
	DefaultIndexTTL = 5 * time.Minute
	// DefaultFlushPairingWindow is the default Config.FlushPairingWindow: 3.5 times the largest
	// changelog-write-to-forward gap in the captures (28 ms).
	DefaultFlushPairingWindow = 100 * time.Millisecond
	// DefaultMaxBufferedLogRecords is the default Config.MaxBufferedLogRecords.
	DefaultMaxBufferedLogRecords = 100_000
	// DefaultConnectRefreshInterval and DefaultConnectTimeout are the defaults of Config.Connect.
	DefaultConnectRefreshInterval = time.Minute
	DefaultConnectTimeout         = 5 * time.Second
	// DefaultClusterAttribute is the default Config.ClusterAttribute.
	DefaultClusterAttribute = "kafka.cluster.name"
)

var componentType = component.MustNewType(typeStr)

// NewFactory returns the factory of the lineage processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(componentType, createDefaultConfig,
		processor.WithTraces(createTraces, stability),
		processor.WithLogs(createLogs, stability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Mode:             DefaultMode,
		DecisionWait:     DefaultDecisionWait,
		MaxBufferedSpans: DefaultMaxBufferedSpans,
		MaxBufferedBytes: DefaultMaxBufferedBytes,
		MappingTTL:       DefaultMappingTTL,
		MaxMappings:      DefaultMaxMappings,
		IndexTTL:         DefaultIndexTTL,
		ClusterAttribute: DefaultClusterAttribute,

		MaxBufferedLogRecords: DefaultMaxBufferedLogRecords,
		Connect:               ConnectConfig{RefreshInterval: DefaultConnectRefreshInterval, Timeout: DefaultConnectTimeout},

		FlushPairingWindow: DefaultFlushPairingWindow,
	}
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return acquire(set, cfg.(*Config), func(p *lineageProcessor) { p.next = next })
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return acquire(set, cfg.(*Config), func(p *lineageProcessor) { p.nextLogs = next })
}
