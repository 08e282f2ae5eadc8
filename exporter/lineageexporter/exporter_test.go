package lineageexporter

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/eventlineage/lineage/extension/lineagestorageextension"
	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/extract"
	"github.com/eventlineage/lineage/internal/lineagestore/extract/extracttest"
	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
)

func sqlitePath(t testing.TB) func(*lineagestorageextension.Config) {
	path := filepath.Join(t.TempDir(), "lineage.db")
	return func(c *lineagestorageextension.Config) { c.SQLite.Path = path }
}

// Through the real component: the factory's exporters (default config: in-memory sending queue)
// started on a host holding a real lineage_storage extension on SQLite, fed a stitched capture's
// record facts and spans, store exactly what the same extraction written directly to a SQLite
// store holds.
func TestExportCapture(t *testing.T) {
	const name = "multicluster-b"
	ctx := context.Background()
	ext := startStorage(t, sqlitePath(t))
	defer func() { require.NoError(t, ext.Shutdown(ctx)) }()
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = storageID
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(ctx)) }()
	set := nopSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	te, le := startExporters(t, cfg, newHost(map[component.ID]component.Component{storageID: ext}), set)

	facts := extracttest.Facts(t, name)
	spans := extracttest.Stitched(t, name)
	require.NoError(t, le.ConsumeLogs(ctx, facts))
	require.NoError(t, te.ConsumeTraces(ctx, spans))
	// Shutdown drains the in-memory queue.
	require.NoError(t, te.Shutdown(ctx))
	require.NoError(t, le.Shutdown(ctx))

	// The same batches, written directly.
	direct, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "direct.db"))
	require.NoError(t, err)
	defer direct.Close()
	fb, _ := extract.Facts(facts)
	tb, st := extract.Traces(spans, storeProvider(t, ext).KeyHasher())
	require.NoError(t, direct.Write(ctx, fb))
	require.NoError(t, direct.Write(ctx, tb))
	records := recordsOf(fb, tb)
	require.Greater(t, len(records), 600)
	assert.Equal(t, snapshot(t, direct, records), snapshot(t, storeOf(t, ext), records))

	// An output's root cause through the exporter's store: a balance update of dc2, mirrored to
	// dc1, goes back to transactions of dc1.
	g, err := storeOf(t, ext).Lineage(ctx, lineagestore.LineageQuery{Start: tb.Edges[0].To, Direction: lineagestore.Upstream, MaxDepth: 50, MaxEvents: 1000})
	require.NoError(t, err)
	assert.NotEmpty(t, g.Edges)

	// Internal telemetry: what was written, what was skipped.
	m, err := tel.GetMetric("otelcol_exporter_lineage_written")
	require.NoError(t, err)
	assert.Equal(t, int64(len(tb.Edges)), sumOf(m, attribute.String("item", "edge")))
	m, err = tel.GetMetric("otelcol_exporter_lineage_skipped")
	require.NoError(t, err)
	assert.Equal(t, int64(st.Unanchored), sumOf(m, attribute.String("reason", "unanchored_spans")))
	m, err = tel.GetMetric("otelcol_exporter_lineage_spans")
	require.NoError(t, err)
	assert.Equal(t, int64(st.Spans), sumOf(m))
}

func storeProvider(t testing.TB, ext component.Component) lineagestore.Provider {
	p, ok := ext.(lineagestore.Provider)
	require.True(t, ok)
	return p
}

// recordsOf lists every record the batches name.
func recordsOf(batches ...*lineagestore.Batch) []lineagestore.RecordID {
	seen := map[lineagestore.RecordID]bool{}
	var out []lineagestore.RecordID
	for _, b := range batches {
		for _, e := range b.Events {
			if !seen[e.Record] {
				seen[e.Record] = true
				out = append(out, e.Record)
			}
		}
	}
	return out
}

func sumOf(m metricdata.Metrics, attrs ...attribute.KeyValue) int64 {
	want := attribute.NewSet(attrs...)
	var n int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if len(attrs) == 0 || dp.Attributes.Equals(&want) {
			n += dp.Value
		}
	}
	return n
}

// A store that fails makes the export call fail (without a queue and retries, the caller sees
// the error; with them, the sending queue keeps the data and retries).
func TestStoreErrorIsReturned(t *testing.T) {
	ctx := context.Background()
	ext := startStorage(t, sqlitePath(t))
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = storageID
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	te, _ := startExporters(t, cfg, newHost(map[component.ID]component.Component{storageID: ext}), nopSettings())
	require.NoError(t, storeOf(t, ext).Close()) // the store goes away under the exporter
	td := extracttest.Spans(t, "withdrawal-a")[0]
	err := te.ConsumeTraces(ctx, td)
	require.Error(t, err)
	// Nothing usable in the call: nothing to write, no error.
	require.NoError(t, te.ConsumeTraces(ctx, ptrace.NewTraces()))
	require.NoError(t, te.Shutdown(ctx))
	require.NoError(t, ext.Shutdown(ctx))
}

func TestStartNeedsTheStorageExtension(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = storageID
	te, err := NewFactory().CreateTraces(ctx, nopSettings(), cfg)
	require.NoError(t, err)
	err = te.Start(ctx, newHost(nil))
	assert.EqualError(t, err, `lineage storage extension "lineage_storage" is not configured (add it under extensions: and service::extensions)`)
	require.NoError(t, te.Shutdown(ctx))

	other := component.MustNewID("other")
	cfg.Storage = other
	le, err := NewFactory().CreateLogs(ctx, nopSettings(), cfg)
	require.NoError(t, err)
	nop, err := extensiontest.NewNopFactory().Create(ctx, extensiontest.NewNopSettings(extensiontest.NopType), nil)
	require.NoError(t, err)
	err = le.Start(ctx, newHost(map[component.ID]component.Component{other: nop}))
	require.ErrorContains(t, err, `extension "other" is not a lineage storage extension`)
	require.NoError(t, le.Shutdown(ctx))
}

// The traces exporter remembers recent spans across export calls: fed one agent resource at a
// time, fewer spans stay unanchored than without the index.
func TestSpanIndexAcrossExportCalls(t *testing.T) {
	ctx := context.Background()
	stitched := extracttest.Stitched(t, "withdrawal-a")
	unanchored := func(indexSize int) int64 {
		ext := startStorage(t, sqlitePath(t))
		defer func() { require.NoError(t, ext.Shutdown(ctx)) }()
		cfg := createDefaultConfig().(*Config)
		cfg.Storage = storageID
		cfg.SpanIndexSize = indexSize
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		tel := componenttest.NewTelemetry()
		defer func() { require.NoError(t, tel.Shutdown(ctx)) }()
		set := nopSettings()
		set.TelemetrySettings = tel.NewTelemetrySettings()
		te, le := startExporters(t, cfg, newHost(map[component.ID]component.Component{storageID: ext}), set)
		for i := 0; i < stitched.ResourceSpans().Len(); i++ {
			td := ptrace.NewTraces()
			stitched.ResourceSpans().At(i).CopyTo(td.ResourceSpans().AppendEmpty())
			require.NoError(t, te.ConsumeTraces(ctx, td))
		}
		require.NoError(t, te.Shutdown(ctx))
		require.NoError(t, le.Shutdown(ctx))
		m, err := tel.GetMetric("otelcol_exporter_lineage_skipped")
		if err != nil {
			return 0 // nothing skipped at all
		}
		return sumOf(m, attribute.String("reason", "unanchored_spans"))
	}
	without, with := unanchored(0), unanchored(DefaultSpanIndexSize)
	t.Logf("unanchored spans: %d without the span index, %d with it", without, with)
	assert.Less(t, with, without)
}
