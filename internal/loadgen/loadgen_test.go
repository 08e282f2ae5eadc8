package loadgen

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func captures(t *testing.T) []*Template {
	t.Helper()
	paths, err := filepath.Glob("../../testdata/captures/*/spans.jsonl")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var ts []*Template
	for _, p := range paths {
		tpl, err := LoadTemplate(p)
		require.NoError(t, err)
		ts = append(ts, tpl)
	}
	return ts
}

func TestLoadTemplate(t *testing.T) {
	const path = "../../testdata/captures/withdrawal-a/spans.jsonl"
	tpl, err := LoadTemplate(path)
	require.NoError(t, err)
	assert.Equal(t, "withdrawal-a", tpl.Name)
	// The same counts, read independently with encoding/json.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	wantSpans, wantReqs := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var td struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []json.RawMessage `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &td))
		for _, rs := range td.ResourceSpans {
			wantReqs++
			for _, ss := range rs.ScopeSpans {
				wantSpans += len(ss.Spans)
			}
		}
	}
	assert.Positive(t, wantSpans)
	assert.Equal(t, wantSpans, tpl.Spans)
	assert.Len(t, tpl.Requests, wantReqs)
	n := 0
	for i, r := range tpl.Requests {
		n += r.Traces.SpanCount()
		assert.NotEmpty(t, r.Service)
		if i > 0 {
			assert.GreaterOrEqual(t, r.At, tpl.Requests[i-1].At, "arrival offsets are monotonic")
		}
	}
	assert.Equal(t, tpl.Spans, n)
	assert.Equal(t, tpl.Requests[len(tpl.Requests)-1].At, tpl.Duration)
	assert.Greater(t, tpl.MaxOffset, int64(0))
}

type spanKey struct {
	tpl string
	idx int // position of the span in the template (request, then order)
}

// TestReplicasAreDistinctJourneys: every replica of every capture has the capture's span count
// and shape, only fresh ids (unique across replicas), parents and links rewritten consistently,
// offsets shifted by exactly the replica's shift, keys suffixed and timestamps moved.
func TestReplicasAreDistinctJourneys(t *testing.T) {
	const replicas = 3
	spanIDs := map[pcommon.SpanID]bool{}
	traceOwner := map[pcommon.TraceID]uint64{}
	for ti, tpl := range captures(t) {
		for k := 0; k < replicas; k++ {
			n := uint64(ti*replicas + k)
			r := Replica{N: n, OffsetShift: int64(n) * 1_000_000, Start: pcommon.Timestamp(uint64(n+1) * 1e12)}
			var orig, got []ptrace.Span
			for i := range tpl.Requests {
				td := tpl.Build(i, r)
				require.Equal(t, tpl.Requests[i].Traces.SpanCount(), td.SpanCount())
				ForEachSpan(tpl.Requests[i].Traces, func(s ptrace.Span) { orig = append(orig, s) })
				ForEachSpan(td, func(s ptrace.Span) { got = append(got, s) })
			}
			require.Len(t, got, tpl.Spans)
			newID := map[pcommon.SpanID]pcommon.SpanID{}
			for i, s := range got {
				o := orig[i]
				require.False(t, spanIDs[s.SpanID()], "span id reused: %s replica %d", tpl.Name, n)
				spanIDs[s.SpanID()] = true
				newID[o.SpanID()] = s.SpanID()
				if owner, ok := traceOwner[s.TraceID()]; ok {
					require.Equal(t, n, owner, "trace id shared between replicas")
				}
				traceOwner[s.TraceID()] = n
				assert.NotEqual(t, o.TraceID(), s.TraceID())
				assert.Equal(t, o.Name(), s.Name())
				assert.Equal(t, o.ParentSpanID().IsEmpty(), s.ParentSpanID().IsEmpty())
				assert.Equal(t, o.EndTimestamp()-o.StartTimestamp(), s.EndTimestamp()-s.StartTimestamp())
				assert.Equal(t, int64(r.Start)-int64(tpl.t0), int64(s.StartTimestamp())-int64(o.StartTimestamp()))
				for _, k := range []string{attrOffset, attrOffsetNew} {
					if ov, ok := o.Attributes().Get(k); ok {
						nv, _ := s.Attributes().Get(k)
						assert.Equal(t, ov.Int()+r.OffsetShift, nv.Int(), k)
					}
				}
				if ov, ok := o.Attributes().Get(attrKey); ok {
					nv, _ := s.Attributes().Get(attrKey)
					assert.Equal(t, ov.Str()+"~"+itoa(n), nv.Str())
				}
				require.Equal(t, o.Links().Len(), s.Links().Len())
			}
			// Parents (and links to spans of the capture) point at the rewritten spans.
			for i, s := range got {
				if p := orig[i].ParentSpanID(); !p.IsEmpty() {
					if want, ok := newID[p]; ok {
						assert.Equal(t, want, s.ParentSpanID())
					}
				}
				for j := 0; j < s.Links().Len(); j++ {
					if want, ok := newID[orig[i].Links().At(j).SpanID()]; ok {
						assert.Equal(t, want, s.Links().At(j).SpanID())
					}
				}
			}
		}
	}
}

func itoa(n uint64) string { return pcommon.NewValueInt(int64(n)).AsString() }

func TestGeneratorAsFastAsPossible(t *testing.T) {
	tpls := captures(t)
	g := &Generator{Templates: tpls, Spans: 5000, MaxBatch: 512}
	var batches []Batch
	ids := map[pcommon.SpanID]bool{}
	st, err := g.Run(context.Background(), func(b Batch) error {
		batches = append(batches, b)
		return nil
	})
	require.NoError(t, err)
	want, reps := 0, 0
	for want < 5000 {
		want += tpls[reps%len(tpls)].Spans
		reps++
	}
	assert.Equal(t, want, st.Spans)
	assert.Equal(t, reps, st.Replicas)
	assert.Equal(t, len(batches), st.Batches)
	total := 0
	for _, b := range batches {
		assert.Equal(t, b.Spans, b.Traces.SpanCount())
		assert.LessOrEqual(t, b.Spans, 512+200, "a batch closes at 512 (+ one capture request)")
		ForEachSpan(b.Traces, func(s ptrace.Span) {
			assert.False(t, ids[s.SpanID()])
			ids[s.SpanID()] = true
			svc, _ := b.Traces.ResourceSpans().At(0).Resource().Attributes().Get("service.name")
			assert.Equal(t, b.Service, svc.Str())
		})
		total += b.Spans
	}
	assert.Equal(t, want, total)
}

// TestGeneratorRate: a tiny capture (two JVMs, the second request 100 ms after the first)
// replayed at 2000 spans/s for 200 spans takes about 100 ms of starts + 100 ms of arrival offset.
func TestGeneratorRate(t *testing.T) {
	dir := t.TempDir()
	line := func(svc string, traceID, spanID, parent string, startMs, endMs int) string {
		base := int64(1_700_000_000_000)
		return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"` + svc +
			`"}}]},"scopeSpans":[{"spans":[{"traceId":"` + traceID + `","spanId":"` + spanID + `","parentSpanId":"` + parent +
			`","name":"t publish","kind":4,"startTimeUnixNano":"` + itoa(uint64(base+int64(startMs))*1e6) +
			`","endTimeUnixNano":"` + itoa(uint64(base+int64(endMs))*1e6) +
			`","attributes":[{"key":"messaging.kafka.message.offset","value":{"intValue":"7"}}]}]}]}]}` + "\n"
	}
	data := line("producer", "0102030405060708090a0b0c0d0e0f10", "0102030405060708", "", 0, 1) +
		line("consumer", "0102030405060708090a0b0c0d0e0f10", "1102030405060708", "0102030405060708", 50, 100)
	p := filepath.Join(dir, "tiny", "spans.jsonl")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
	tpl, err := LoadTemplate(p)
	require.NoError(t, err)
	require.Equal(t, 100*time.Millisecond, tpl.Duration)
	require.Equal(t, int64(7), tpl.MaxOffset)

	g := &Generator{Templates: []*Template{tpl}, Rate: 2000, Spans: 200, Tick: 10 * time.Millisecond}
	offsets := map[int64]int{}
	begin := time.Now()
	st, err := g.Run(context.Background(), func(b Batch) error {
		ForEachSpan(b.Traces, func(s ptrace.Span) {
			v, _ := s.Attributes().Get(attrOffset)
			offsets[v.Int()]++
		})
		return nil
	})
	took := time.Since(begin)
	require.NoError(t, err)
	assert.Equal(t, 200, st.Spans)
	assert.Equal(t, 100, st.Replicas)
	assert.Len(t, offsets, 100, "each replica has its own offset")
	for off, c := range offsets {
		assert.Equal(t, 2, c)
		assert.Equal(t, int64(7), off%8, "offset shifted by a multiple of the stride (MaxOffset+1)")
	}
	assert.GreaterOrEqual(t, took, 190*time.Millisecond)
	assert.Less(t, took, 5*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = (&Generator{Templates: []*Template{tpl}, Rate: 1, Spans: 10}).Run(ctx, func(Batch) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}
