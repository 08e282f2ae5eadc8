package lineageexporter // import "github.com/eventlineage/lineage/exporter/lineageexporter"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/eventlineage/lineage/internal/counters"
)

const (
	scopeName = "github.com/eventlineage/lineage/exporter/lineageexporter"
	metricPfx = "otelcol_exporter_lineage_"
)

// telemetry holds the exporter's internal metrics (created by hand: mdatagen is not available).
// Counted once per export call written to the store, not per retry.
type telemetry struct {
	spans         metric.Int64Counter
	facts         metric.Int64Counter
	written       metric.Int64Counter
	skipped       metric.Int64Counter
	writeFailures metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	cs := counters.New(set.MeterProvider.Meter(scopeName), metricPfx)
	counter := cs.Counter
	t := &telemetry{
		spans:         counter("spans", "Spans whose lineage was written to the store.", "{span}"),
		facts:         counter("record_facts", "Record facts whose events were written to the store.", "{fact}"),
		written:       counter("written", "Items written to the store (attribute item: event, touchpoint, edge, pending_edge, cluster).", "{item}"),
		skipped:       counter("skipped", "Input that could not be used or was cut (attribute reason).", "{item}"),
		writeFailures: counter("write_failures", "Store writes that failed (retried by the sending queue).", "{write}"),
	}
	return t, cs.Err()
}

func reasonAttr(reason string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
}

func itemAttr(item string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("item", item)))
}
