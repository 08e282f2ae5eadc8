package lineageprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func sumOf(t *testing.T, tt *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	require.NoError(t, err, name)
	var total int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			total += p.Value
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			total += p.Value
		}
	default:
		t.Fatalf("%s: unexpected data %T", name, m.Data)
	}
	return total
}

func TestTelemetry(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(componentType)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	cfg := createDefaultConfig().(*Config)
	cfg.MaxBufferedSpans = 10
	clk := newFakeClock()
	sink := &consumertest.TracesSink{}
	p, err := newLineageProcessor(set, cfg, sink, clk)
	require.NoError(t, err)
	h := &harness{t: t, p: p, sink: sink, clock: clk}

	h.feed(tracesOf(spanR, spanC, spanX, spanS))
	assert.Equal(t, int64(4), sumOf(t, tt, metricPfx+"spans_received"))
	assert.Equal(t, int64(4), sumOf(t, tt, metricPfx+"spans_sent"))
	assert.Equal(t, int64(2), sumOf(t, tt, metricPfx+"edges"))
	assert.Equal(t, int64(0), sumOf(t, tt, metricPfx+"held_spans"))

	h.feed(tracesOf(prod("up", 6, 60, 0, "main", "in", 1), cons("sink", 6, 61, 60, "main", "orders", 1)))
	assert.Equal(t, int64(1), sumOf(t, tt, metricPfx+"held_spans"))
	assert.Positive(t, sumOf(t, tt, metricPfx+"held_bytes"))
	h.advance(41 * time.Second)
	assert.Equal(t, int64(1), sumOf(t, tt, metricPfx+"expired_unstitched"))

	h.feed(tracesOf(prod("withdrawal-processor", 2, 9, 3, streamThread, "", 0)))
	assert.Equal(t, int64(1), sumOf(t, tt, metricPfx+"late_spans_rewritten"))

	// a put to a store inside the process span S: one state-store span, not in spans_sent
	h.feed(tracesOf(prod("withdrawal-processor", 1, 70, 2, streamThread, "withdrawal-processor-summary-buffer-changelog", 1)))
	assert.Equal(t, int64(1), sumOf(t, tt, metricPfx+"synthesized_spans"))
	assert.Equal(t, sumOf(t, tt, metricPfx+"spans_received"), sumOf(t, tt, metricPfx+"spans_sent"))

	for i := byte(1); i <= 12; i++ {
		h.feed(tracesOf(prodOrphan(i)))
	}
	assert.Equal(t, int64(2), sumOf(t, tt, metricPfx+"evicted_spans"))
	h.shutdown()
	assert.Equal(t, int64(10), sumOf(t, tt, metricPfx+"shutdown_flushed_spans"))
	assert.Equal(t, int64(1), sumOf(t, tt, metricPfx+"synthesized_spans"))
	assert.Equal(t, sumOf(t, tt, metricPfx+"spans_received"), sumOf(t, tt, metricPfx+"spans_sent"))
}

func prodOrphan(i byte) ts {
	return ts{service: "a", trace: 100 + i, span: 100 + i, parent: 200, kind: 1}
}
