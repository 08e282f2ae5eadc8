package lineageexporter

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/extension/lineagestorageextension"
	"github.com/eventlineage/lineage/internal/lineagestore/extract/extracttest"
)

// BenchmarkExportToSQLite measures the exporter (no queue: each call waits for its write)
// writing a stitched capture (multicluster-b, 1421 spans) into an empty SQLite store: one call per
// agent resource as agents export (about 16 spans a call), or the whole capture in one call (a
// batch processor's batch); spans/s is reported. Store setup is outside the timing.
func BenchmarkExportToSQLite(b *testing.B) {
	stitched := extracttest.Stitched(b, "multicluster-b")
	var perResource []ptrace.Traces
	for i := 0; i < stitched.ResourceSpans().Len(); i++ {
		td := ptrace.NewTraces()
		stitched.ResourceSpans().At(i).CopyTo(td.ResourceSpans().AppendEmpty())
		perResource = append(perResource, td)
	}
	b.Run("per_resource", func(b *testing.B) { benchExport(b, perResource) })
	b.Run("one_call", func(b *testing.B) { benchExport(b, []ptrace.Traces{stitched}) })
}

func benchExport(b *testing.B, calls []ptrace.Traces) {
	ctx := context.Background()
	spans := 0
	for _, td := range calls {
		spans += td.SpanCount()
	}
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		ext := startStorage(b, func(c *lineagestorageextension.Config) {
			c.SQLite.Path = filepath.Join(dir, strconv.Itoa(i)+".db")
		})
		cfg := createDefaultConfig().(*Config)
		cfg.Storage = storageID
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		te, le := startExporters(b, cfg, newHost(map[component.ID]component.Component{storageID: ext}), nopSettings())
		b.StartTimer()
		for _, td := range calls {
			require.NoError(b, te.ConsumeTraces(ctx, td))
		}
		b.StopTimer()
		require.NoError(b, te.Shutdown(ctx))
		require.NoError(b, le.Shutdown(ctx))
		require.NoError(b, ext.Shutdown(ctx))
		b.StartTimer()
	}
	b.ReportMetric(float64(spans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}
