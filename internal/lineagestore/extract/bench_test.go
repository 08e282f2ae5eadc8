package extract

import (
	"testing"

	"github.com/eventlineage/lineage/internal/lineagestore/extract/extracttest"
)

// BenchmarkTraces measures the extraction of a stitched capture (multicluster-b: 1421 spans,
// Streams, MirrorMaker 2 and Connect); spans/s is reported.
func BenchmarkTraces(b *testing.B) {
	td := extracttest.Stitched(b, "multicluster-b")
	h := sha(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Traces(td, h)
	}
	b.ReportMetric(float64(td.SpanCount())*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkFacts measures the extraction of a capture's record facts; facts/s is reported.
func BenchmarkFacts(b *testing.B) {
	ld := extracttest.Facts(b, "multicluster-b")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Facts(ld)
	}
	b.ReportMetric(float64(ld.LogRecordCount())*float64(b.N)/b.Elapsed().Seconds(), "facts/s")
}
