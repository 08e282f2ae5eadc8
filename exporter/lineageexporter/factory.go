package lineageexporter // import "github.com/eventlineage/lineage/exporter/lineageexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/eventlineage/lineage/internal/lineagestore/extract"
)

const (
	typeStr   = "lineage"
	stability = component.StabilityLevelDevelopment

	// DefaultRetryMaxElapsedTime is the default retry_on_failure::max_elapsed_time: 0, retry
	// until the store is back (the queue bounds what waits; see README).
	DefaultRetryMaxElapsedTime = 0
	// DefaultSpanIndexSize is the default Config.SpanIndexSize (30-40 MB).
	DefaultSpanIndexSize = extract.DefaultSpanIndexSize
)

var componentType = component.MustNewType(typeStr)

// NewFactory returns the factory of the lineage exporter (traces and logs).
func NewFactory() exporter.Factory {
	return exporter.NewFactory(componentType, createDefaultConfig,
		exporter.WithTraces(createTraces, stability),
		exporter.WithLogs(createLogs, stability))
}

func createDefaultConfig() component.Config {
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = DefaultRetryMaxElapsedTime
	return &Config{
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:   configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:   retry,
		SpanIndexSize: DefaultSpanIndexSize,
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	e, err := newExporter(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	if n := cfg.(*Config).SpanIndexSize; n > 0 {
		e.spans = extract.NewSpanIndex(n)
	}
	return exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces, options(e)...)
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	e, err := newExporter(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, options(e)...)
}

func options(e *lineageExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(e.cfg.TimeoutConfig),
		exporterhelper.WithRetry(e.cfg.RetryConfig),
		exporterhelper.WithQueue(e.cfg.QueueConfig),
		exporterhelper.WithStart(e.start),
	}
}
