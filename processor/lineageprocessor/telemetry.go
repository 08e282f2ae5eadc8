package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/eventlineage/lineage/internal/counters"
)

const (
	scopeName = "github.com/eventlineage/lineage/processor/lineageprocessor"
	metricPfx = "otelcol_processor_lineage_"
)

// telemetry holds the processor's internal metrics (created by hand: mdatagen is not available).
type telemetry struct {
	spansReceived  metric.Int64Counter
	spansSent      metric.Int64Counter
	edges          metric.Int64Counter
	expired        metric.Int64Counter
	evictedSpans   metric.Int64Counter
	flushedSpans   metric.Int64Counter
	lateRewritten  metric.Int64Counter
	linkFallbacks  metric.Int64Counter
	synthesized    metric.Int64Counter
	logsReceived   metric.Int64Counter
	logsSent       metric.Int64Counter
	logsRewritten  metric.Int64Counter
	logsUnmatched  metric.Int64Counter
	logsEvicted    metric.Int64Counter
	facts          metric.Int64Counter
	factsMalformed metric.Int64Counter
	heldSpansGauge metric.Int64ObservableGauge
	heldBytesGauge metric.Int64ObservableGauge
	heldLogsGauge  metric.Int64ObservableGauge
	registration   metric.Registration

	heldSpans atomic.Int64
	heldBytes atomic.Int64
	heldLogs  atomic.Int64
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(scopeName)
	t := &telemetry{}
	cs := counters.New(m, metricPfx)
	var errs, err error
	counter := cs.Counter
	t.spansReceived = counter("spans_received", "Spans received by the lineage processor.", "{span}")
	t.spansSent = counter("spans_sent", "Spans passed on by the lineage processor (held ones included when released).", "{span}")
	t.edges = counter("edges", "Parent edges recovered, by rule (attribute lineage.rule).", "{edge}")
	t.expired = counter("expired_unstitched", "Held groups (a trace, or a consumer span waiting for its producer) released unstitched when decision_wait expired (attribute unit: trace|span).", "{group}")
	t.evictedSpans = counter("evicted_spans", "Spans released early and unstitched because max_buffered_spans or max_buffered_bytes was reached.", "{span}")
	t.flushedSpans = counter("shutdown_flushed_spans", "Spans still held at shutdown, released unstitched.", "{span}")
	t.lateRewritten = counter("late_spans_rewritten", "Spans rewritten on arrival through a remembered rewrite (their trace was merged earlier).", "{span}")
	t.linkFallbacks = counter("link_fallbacks", "Rewrite-mode edges written as links because the child span's trace had already been passed on (moving it would orphan its descendants).", "{edge}")
	t.synthesized = counter("synthesized_spans", "Spans the processor created (state-store operations derived from changelog writes); not counted in spans_received / spans_sent.", "{span}")
	t.logsReceived = counter("log_records_received", "Log records received by the lineage processor (logs pipeline).", "{record}")
	t.logsSent = counter("log_records_sent", "Log records passed on by the lineage processor (held ones included when released).", "{record}")
	t.logsRewritten = counter("log_records_rewritten", "Log records moved into the trace their span or trace was merged into.", "{record}")
	t.logsUnmatched = counter("log_records_unmatched", "Held log records passed on unchanged because no span of their trace arrived within decision_wait.", "{record}")
	t.logsEvicted = counter("log_records_evicted", "Log records passed on early and unchanged because max_buffered_log_records was reached.", "{record}")
	t.facts = counter("record_facts", "Record facts (kafka_records receiver) indexed for the record_* rules.", "{fact}")
	t.factsMalformed = counter("record_facts_malformed", "Log records marked as record facts that could not be read (passed on, not used).", "{fact}")
	t.heldSpansGauge, err = m.Int64ObservableGauge(metricPfx+"held_spans", metric.WithDescription("Spans currently held."), metric.WithUnit("{span}"))
	errs = errors.Join(errs, err)
	t.heldBytesGauge, err = m.Int64ObservableGauge(metricPfx+"held_bytes", metric.WithDescription("Estimated size of the spans currently held."), metric.WithUnit("By"))
	errs = errors.Join(errs, err)
	t.heldLogsGauge, err = m.Int64ObservableGauge(metricPfx+"held_log_records", metric.WithDescription("Log records currently held."), metric.WithUnit("{record}"))
	errs = errors.Join(errs, err)
	if errs = errors.Join(cs.Err(), errs); errs != nil {
		return nil, errs
	}
	t.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(t.heldSpansGauge, t.heldSpans.Load())
		o.ObserveInt64(t.heldBytesGauge, t.heldBytes.Load())
		o.ObserveInt64(t.heldLogsGauge, t.heldLogs.Load())
		return nil
	}, t.heldSpansGauge, t.heldBytesGauge, t.heldLogsGauge)
	if err != nil {
		return nil, err
	}
	return t, nil
}

var (
	attrUnitTrace = metric.WithAttributeSet(attribute.NewSet(attribute.String("unit", "trace")))
	attrUnitSpan  = metric.WithAttributeSet(attribute.NewSet(attribute.String("unit", "span")))
)

func ruleAttr(rule string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String(attrRule, rule)))
}

func (t *telemetry) shutdown() error {
	if t.registration != nil {
		return t.registration.Unregister()
	}
	return nil
}
