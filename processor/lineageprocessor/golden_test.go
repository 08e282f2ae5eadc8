package lineageprocessor

import (
	"cmp"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var update = flag.Bool("update", false, "regenerate the golden inputs from the captures and the expected outputs from the processor")

// goldenCase is a small slice of a real capture: the spans named by pick, fed one per batch in
// capture order, then decision_wait expires and the processor shuts down.
type goldenCase struct {
	name    string
	capture string
	pick    func(in map[pcommon.SpanID]capturedSpan) []pcommon.SpanID
}

var goldenCases = []goldenCase{
	{
		// a cache-flushed balance-updates output (root on the StreamThread), its consumer (parented
		// to the transaction producer through the forwarded header), that producer span and the
		// Streams process span of that transaction: rule 2 + rule 1.
		name: "withdrawal-b-balance-update", capture: "withdrawal-b",
		pick: func(in map[pcommon.SpanID]capturedSpan) []pcommon.SpanID {
			r := firstRootAt(in, "balance-updates")
			c := consumerAt(in, r.info.coord)
			x := in[c.info.parentID]
			s := processAt(in, x.info.coord, r.service)
			return []pcommon.SpanID{x.info.spanID, s.info.spanID, r.info.spanID, c.info.spanID}
		},
	},
	{
		// a punctuator output (summaries): no header reaches the consumer, whose process span is a
		// root. Rule 1 moves it under the producer span; rule 2 has no evidence, so the producer's
		// trace is released unstitched at decision_wait and the consumer follows it.
		name: "withdrawal-b-summary", capture: "withdrawal-b",
		pick: func(in map[pcommon.SpanID]capturedSpan) []pcommon.SpanID {
			r := firstRootAt(in, "summaries")
			c := consumerAt(in, r.info.coord)
			return []pcommon.SpanID{r.info.spanID, c.info.spanID}
		},
	},
	{
		// the repartition hop under configuration b: the repartition process span is parented to
		// the transaction producer (forwarded header); rule 1 re-parents it to the repartition
		// write, inside the same trace.
		name: "withdrawal-b-repartition", capture: "withdrawal-b",
		pick: func(in map[pcommon.SpanID]capturedSpan) []pcommon.SpanID {
			var p capturedSpan
			for _, id := range sortedIDs(in) {
				s := in[id]
				if s.info.kind == ptrace.SpanKindProducer && s.info.coord.topic == "withdrawal-processor-by-type-repartition" {
					p = s
					break
				}
			}
			c := consumerAt(in, p.info.coord)
			s := in[p.info.parentID]
			x := in[s.info.parentID]
			return []pcommon.SpanID{x.info.spanID, s.info.spanID, p.info.spanID, c.info.spanID}
		},
	},
	{
		// configuration a: a cache-flushed balance-updates output R and the changelog write L just
		// before it (both roots), R's consumer C (with the key), the latest process span P of that
		// key before the flush and an earlier contributor P0 (with their producer spans):
		// streams_key, streams_changelog, fan_in, offset_hop nothing to do, a state-store span.
		name: "withdrawal-a-balance-update-flush", capture: "withdrawal-a",
		pick: func(in map[pcommon.SpanID]capturedSpan) []pcommon.SpanID { return pickFlush(in, "balance-updates") },
	},
	{
		// configuration c (v1.43 conventions): a type-totals flush, whose key (the transaction
		// type) is that of the repartition process spans.
		name: "withdrawal-c-type-totals-flush", capture: "withdrawal-c",
		pick: func(in map[pcommon.SpanID]capturedSpan) []pcommon.SpanID { return pickFlush(in, "type-totals") },
	},
	{
		// configuration b: a put to the uncached summary-buffer store during processing (a child
		// of the process span): a `summary-buffer state-store put` span is put between them.
		name: "withdrawal-b-summary-buffer-put", capture: "withdrawal-b",
		pick: func(in map[pcommon.SpanID]capturedSpan) []pcommon.SpanID {
			for _, id := range sortedIDs(in) {
				w := in[id]
				if w.info.kind == ptrace.SpanKindProducer && !w.info.isRoot() && isChangelog(w.info.coord.topic) {
					p := in[w.info.parentID]
					x := in[p.info.parentID]
					return []pcommon.SpanID{x.info.spanID, p.info.spanID, w.info.spanID}
				}
			}
			panic("no child changelog write")
		},
	},
}

// pickFlush picks the first flush root R of topic that has an earlier contributor: R, the
// changelog root right before it, R's consumer, the process span P of R's key that ended last
// before R, the previous process span P0 of that key and topic, and the producer spans of P, P0.
func pickFlush(in map[pcommon.SpanID]capturedSpan, topic string) []pcommon.SpanID {
	ids := sortedIDs(in)
	for _, id := range ids {
		r := in[id]
		if r.info.kind != ptrace.SpanKindProducer || !r.info.isRoot() || r.info.coord.topic != topic {
			continue
		}
		c := consumerAt(in, r.info.coord)
		var procs []capturedSpan
		var l *capturedSpan
		for _, id2 := range ids {
			s := in[id2]
			if s.service == r.service && s.info.kind == ptrace.SpanKindConsumer && s.info.thread == r.info.thread &&
				s.info.hasKey && s.info.recKey == c.info.recKey && s.info.end <= r.info.start {
				procs = append(procs, s)
			}
			if s.info.kind == ptrace.SpanKindProducer && s.info.isRoot() && isChangelog(s.info.coord.topic) &&
				s.info.thread == r.info.thread && s.info.start < r.info.start && (l == nil || s.info.start > l.info.start) {
				l = &s
			}
		}
		if len(procs) < 2 || l == nil {
			continue
		}
		slices.SortFunc(procs, func(a, b capturedSpan) int { return cmp.Compare(a.info.end, b.info.end) })
		p, p0 := procs[len(procs)-1], procs[len(procs)-2]
		return []pcommon.SpanID{in[p0.info.parentID].info.spanID, p0.info.spanID, in[p.info.parentID].info.spanID, p.info.spanID,
			l.info.spanID, r.info.spanID, c.info.spanID}
	}
	panic("no flush root with two contributors on " + topic)
}

func sortedIDs(in map[pcommon.SpanID]capturedSpan) []pcommon.SpanID {
	ids := make([]pcommon.SpanID, 0, len(in))
	for id := range in {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b pcommon.SpanID) int {
		ca, cb := in[a].info.coord, in[b].info.coord
		if ca.topic != cb.topic {
			return compare(ca.topic, cb.topic)
		}
		if ca.partition != cb.partition {
			return int(ca.partition - cb.partition)
		}
		if ca.offset != cb.offset {
			return int(ca.offset - cb.offset)
		}
		return compare(a.String(), b.String())
	})
	return ids
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func firstRootAt(in map[pcommon.SpanID]capturedSpan, topic string) capturedSpan {
	for _, id := range sortedIDs(in) {
		s := in[id]
		if s.info.kind == ptrace.SpanKindProducer && s.info.isRoot() && s.info.coord.topic == topic {
			return s
		}
	}
	panic("no root producer on " + topic)
}

func consumerAt(in map[pcommon.SpanID]capturedSpan, c coordinate) capturedSpan {
	for _, id := range sortedIDs(in) {
		if s := in[id]; s.info.kind == ptrace.SpanKindConsumer && s.info.hasCoord && s.info.coord == c {
			return s
		}
	}
	panic("no consumer at " + c.String())
}

func processAt(in map[pcommon.SpanID]capturedSpan, c coordinate, service string) capturedSpan {
	for _, id := range sortedIDs(in) {
		if s := in[id]; s.service == service && s.info.kind == ptrace.SpanKindConsumer && s.info.coord == c {
			return s
		}
	}
	panic("no process span at " + c.String())
}

// sliceCapture copies the picked spans, with their resources and scopes, in capture order.
func sliceCapture(batches []ptrace.Traces, ids []pcommon.SpanID) ptrace.Traces {
	want := map[pcommon.SpanID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := ptrace.NewTraces()
	for _, td := range batches {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					if s := ss.Spans().At(k); want[s.SpanID()] {
						ors := out.ResourceSpans().AppendEmpty()
						rs.Resource().CopyTo(ors.Resource())
						ors.SetSchemaUrl(rs.SchemaUrl())
						oss := ors.ScopeSpans().AppendEmpty()
						ss.Scope().CopyTo(oss.Scope())
						oss.SetSchemaUrl(ss.SchemaUrl())
						s.CopyTo(oss.Spans().AppendEmpty())
					}
				}
			}
		}
	}
	return out
}

// splitPerSpan turns each resource span of td (one span each) into its own batch.
func splitPerSpan(td ptrace.Traces) []ptrace.Traces {
	var out []ptrace.Traces
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		b := ptrace.NewTraces()
		td.ResourceSpans().At(i).CopyTo(b.ResourceSpans().AppendEmpty())
		out = append(out, b)
	}
	return out
}

func readJSONTraces(t *testing.T, path string) ptrace.Traces {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(b)
	require.NoError(t, err)
	return td
}

func writeJSONTraces(t *testing.T, path string, td ptrace.Traces) {
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o600))
}

func mergedOutput(h *harness) ptrace.Traces {
	out := ptrace.NewTraces()
	for _, td := range h.sink.AllTraces() {
		c := ptrace.NewTraces()
		td.CopyTo(c)
		c.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		dir := filepath.Join("testdata", "golden", gc.name)
		if *update {
			batches := loadCapture(t, gc.capture)
			writeJSONTraces(t, filepath.Join(dir, "input.json"), sliceCapture(batches, gc.pick(indexSpans(batches))))
		}
		for _, mode := range []Mode{ModeRewrite, ModeLink} {
			t.Run(gc.name+"/"+string(mode), func(t *testing.T) {
				input := readJSONTraces(t, filepath.Join(dir, "input.json"))
				h := newHarness(t, func(c *Config) { c.Mode = mode })
				for _, b := range splitPerSpan(input) {
					h.feed(b)
					h.advance(time.Second)
				}
				h.advance(h.p.cfg.DecisionWait)
				h.shutdown()
				got := mergedOutput(h)
				require.Equal(t, input.SpanCount(), got.SpanCount()-synthCount(got), "originals in == originals out")
				want := filepath.Join(dir, "expected-"+string(mode)+".json")
				if *update {
					writeJSONTraces(t, want, got)
				}
				require.NoError(t, ptracetest.CompareTraces(readJSONTraces(t, want), got,
					ptracetest.IgnoreResourceSpansOrder(), ptracetest.IgnoreScopeSpansOrder(), ptracetest.IgnoreSpansOrder()))
			})
		}
	}
}
