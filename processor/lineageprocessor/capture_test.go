package lineageprocessor

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const capturesDir = "../../testdata/captures"

// loadCapture reads a capture's spans.jsonl: one OTLP/JSON TracesData per line.
func loadCapture(tb testing.TB, name string) []ptrace.Traces {
	tb.Helper()
	var out []ptrace.Traces
	var u ptrace.JSONUnmarshaler
	readJSONLines(tb, name, "spans.jsonl", func(line []byte) {
		td, err := u.UnmarshalTraces(line)
		require.NoError(tb, err)
		out = append(out, td)
	})
	return out
}

// readJSONLines calls fn with each non-blank line of a capture file; a missing capture skips.
func readJSONLines(tb testing.TB, name, file string, fn func([]byte)) {
	tb.Helper()
	f, err := os.Open(filepath.Join(capturesDir, name, file))
	if os.IsNotExist(err) {
		tb.Skipf("capture %s not present", name)
	}
	require.NoError(tb, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			fn(sc.Bytes())
		}
	}
	require.NoError(tb, sc.Err())
}

// maxEnd is the latest span end time of a batch: the replay clock is set to it, so that
// decision_wait runs on the capture's own time line.
func maxEnd(td ptrace.Traces) time.Time {
	var m pcommon.Timestamp
	forEachSpan(td, func(_ pcommon.Resource, s ptrace.Span) {
		if s.EndTimestamp() > m {
			m = s.EndTimestamp()
		}
	})
	return m.AsTime()
}

// replay feeds a capture through a processor on the capture's time line, lets decision_wait
// expire and shuts down.
func replay(tb testing.TB, batches []ptrace.Traces, mutate func(*Config)) *harness {
	h := newHarness(tb, mutate)
	for _, td := range batches {
		now := maxEnd(td)
		if now.After(h.clock.Now()) {
			h.clock.Advance(now.Sub(h.clock.Now()))
		}
		h.p.tick(tb.Context())
		h.feed(td)
	}
	h.advance(h.p.cfg.DecisionWait + time.Second)
	h.shutdown()
	return h
}

type capturedSpan struct {
	span    ptrace.Span
	service string
	info    spanInfo
}

func indexSpans(tds []ptrace.Traces) map[pcommon.SpanID]capturedSpan {
	m := map[pcommon.SpanID]capturedSpan{}
	for _, td := range tds {
		forEachSpan(td, func(r pcommon.Resource, s ptrace.Span) {
			svc := stringAttr(r.Attributes(), attrServiceName)
			m[s.SpanID()] = capturedSpan{s, svc, readSpanInfo(s, svc, stringAttr(r.Attributes(), DefaultClusterAttribute))}
		})
	}
	return m
}

func cloneAll(tds []ptrace.Traces) []ptrace.Traces {
	out := make([]ptrace.Traces, len(tds))
	for i, td := range tds {
		out[i] = ptrace.NewTraces()
		td.CopyTo(out[i])
	}
	return out
}

// TestCaptureWithdrawalB replays the whole withdrawal-b capture (producer-propagation disabled
// on the Streams JVM).
func TestCaptureWithdrawalB(t *testing.T) {
	orig := loadCapture(t, "withdrawal-b")
	in := indexSpans(orig)
	h := replay(t, cloneAll(orig), nil)
	out := h.out()
	require.Equal(t, len(in), h.in)
	assert.Len(t, out, len(in), "spans out == spans in")
	assert.Equal(t, int64(h.in), h.p.stats.spansOut)
	assert.Equal(t, 0, h.p.heldSpans)

	// Flush and punctuator outputs: root producer spans on a StreamThread.
	rootsAt := map[coordinate]capturedSpan{}
	for _, s := range in {
		if s.info.kind == ptrace.SpanKindProducer && s.info.isRoot() && isStreamThread(s.info.thread) && s.info.hasCoord {
			rootsAt[s.info.coord] = s
		}
	}
	var hops, flushConsumers, streamsEdges int
	for id, s := range in {
		if s.info.kind != ptrace.SpanKindConsumer || !s.info.hasCoord {
			continue
		}
		r, ok := rootsAt[s.info.coord]
		if !ok {
			continue
		}
		flushConsumers++
		got, pr := out[id], out[r.info.spanID]
		if assert.Equal(t, r.info.spanID, got.ParentSpanID(), "consumer %s of %s", id, s.info.coord) &&
			assert.Equal(t, pr.TraceID(), got.TraceID(), "consumer %s shares its producer's trace", id) {
			hops++
		}
	}
	for _, r := range rootsAt {
		if rule := strAttr(out[r.info.spanID], attrRule); rule == ruleStreamsForwardedHeader || rule == ruleStreamsKey {
			streamsEdges++
			parent := in[out[r.info.spanID].ParentSpanID()]
			assert.Equal(t, ptrace.SpanKindConsumer, parent.info.kind)
			assert.Equal(t, r.service, parent.service)
		}
	}
	t.Logf("withdrawal-b: %d spans, edges %v, flush/punctuator consumers re-parented %d/%d, flush roots stitched by rule 2: %d/%d, expired traces %d, expired consumer waits %d",
		len(in), h.p.stats.edges, hops, flushConsumers, streamsEdges, len(rootsAt), h.p.stats.expiredTraces, h.p.stats.expiredSpans)
	assert.Positive(t, flushConsumers)
	var flushOutputs int
	for _, r := range rootsAt {
		if r.info.coord.topic == "balance-updates" || r.info.coord.topic == "type-totals" {
			flushOutputs++
		}
	}
	assert.Equal(t, flushOutputs, streamsEdges, "every balance-updates and type-totals flush has a forwarded header and a key")
}

// TestCaptureConservation: for every capture and both modes, nothing is lost or duplicated.
func TestCaptureConservation(t *testing.T) {
	for _, c := range []string{"withdrawal-a", "withdrawal-b", "withdrawal-c", "withdrawal-d", "withdrawal-restart-a", "multicluster-a", "multicluster-b", "multicluster-c", "multicluster-d"} {
		for _, mode := range []Mode{ModeRewrite, ModeLink} {
			t.Run(c+"/"+string(mode), func(t *testing.T) {
				orig := loadCapture(t, c)
				in := indexSpans(orig)
				h := replay(t, cloneAll(orig), func(cfg *Config) { cfg.Mode = mode })
				out := h.out()
				assert.Len(t, out, len(in))
				assert.Equal(t, int64(h.in), h.p.stats.spansOut)
				for id := range in {
					assert.Contains(t, out, id)
				}
				// the synthesized state-store spans sit between changelog writes and their process spans
				all := h.synthOut()
				for id, s := range out {
					all[id] = s
				}
				for _, st := range h.synthOut() {
					assert.Contains(t, all, st.ParentSpanID(), "a state-store span's parent is a span of the capture")
				}
				// every parent span id points at a span of the same trace, or is unchanged
				for id, s := range all {
					if pid := s.ParentSpanID(); !pid.IsEmpty() && strAttr(s, attrRule) != "" && mode == ModeRewrite {
						if p, ok := all[pid]; assert.True(t, ok, "parent of %s", id) {
							assert.Equal(t, p.TraceID(), s.TraceID(), "%s %s (%s) under %s", s.Name(), id, strAttr(s, attrRule), p.Name())
						}
					}
				}
				inSpans := map[pcommon.SpanID]ptrace.Span{}
				for id, s := range in {
					inSpans[id] = s.span
				}
				danglingIn, danglingOut := dangling(inSpans), dangling(all)
				assert.LessOrEqual(t, danglingOut, danglingIn, "no span loses its parent")
				t.Logf("%s %s: spans %d (+%d synthesized) edges %v expired traces %d expired consumer waits %d late rewritten %d, link fallbacks %d, traces %d -> %d, dangling parents %d -> %d",
					c, mode, len(in), h.p.stats.synthesized, h.p.stats.edges, h.p.stats.expiredTraces, h.p.stats.expiredSpans, h.p.stats.lateRewritten, h.p.stats.linkFallbacks,
					traceCount(inSpans), traceCount(out), danglingIn, danglingOut)
			})
		}
	}
}

// TestCaptureStreamsRules checks the shape of what the Kafka Streams rules wrote on every capture:
// each recovered parent of a StreamThread send is a process span of the same service and thread,
// each fan_in link points at one, and each synthesized state-store span hangs under one, with
// its changelog write beneath it (rewrite mode).
func TestCaptureStreamsRules(t *testing.T) {
	for _, c := range []string{"withdrawal-a", "withdrawal-b", "withdrawal-c", "withdrawal-d", "withdrawal-restart-a", "multicluster-a", "multicluster-b", "multicluster-c", "multicluster-d"} {
		t.Run(c, func(t *testing.T) {
			orig := loadCapture(t, c)
			in := indexSpans(orig)
			h := replay(t, cloneAll(orig), nil)
			out, synth := h.out(), h.synthOut()
			isProcessOf := func(id pcommon.SpanID, s capturedSpan) bool {
				p, ok := in[id]
				return ok && p.info.kind == ptrace.SpanKindConsumer && p.service == s.service && p.info.thread == s.info.thread
			}
			for id, s := range in {
				o := out[id]
				switch strAttr(o, attrRule) {
				case ruleStreamsKey, ruleStreamsMisparented:
					assert.True(t, isProcessOf(o.ParentSpanID(), s), "%s: parent is a process span of its thread", id)
				case ruleStreamsChangelog:
					st, ok := synth[o.ParentSpanID()]
					if assert.True(t, ok, "%s: a changelog write with a parent sits under its state-store span", id) {
						assert.True(t, isProcessOf(st.ParentSpanID(), s))
						assert.Equal(t, o.TraceID(), st.TraceID())
					}
				}
				for i := 0; i < o.Links().Len(); i++ {
					if l := o.Links().At(i); strAttrMap(l.Attributes(), attrRule) == ruleFanIn {
						assert.True(t, isProcessOf(l.SpanID(), s), "%s: fan_in links a process span of its thread", id)
					}
				}
			}
			t.Logf("%s: edges %v, %d state-store spans", c, h.p.stats.edges, len(synth))
		})
	}
}

func strAttrMap(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.Str()
	}
	return ""
}

// BenchmarkConsumeTracesWithdrawalA replays the withdrawal-a capture through ConsumeTraces.
func BenchmarkConsumeTracesWithdrawalA(b *testing.B) {
	orig := loadCapture(b, "withdrawal-a")
	n := 0
	for _, td := range orig {
		n += td.SpanCount()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		batches := cloneAll(orig)
		b.StartTimer()
		replay(b, batches, nil)
	}
	b.ReportMetric(float64(n), "spans/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}

// dangling counts spans whose parent span id names no span of their own trace.
func dangling(spans map[pcommon.SpanID]ptrace.Span) int {
	n := 0
	for _, s := range spans {
		if pid := s.ParentSpanID(); !pid.IsEmpty() {
			if p, ok := spans[pid]; !ok || p.TraceID() != s.TraceID() {
				n++
			}
		}
	}
	return n
}

func traceCount(spans map[pcommon.SpanID]ptrace.Span) int {
	ids := map[pcommon.TraceID]bool{}
	for _, s := range spans {
		ids[s.TraceID()] = true
	}
	return len(ids)
}

// TestWriteProcessedCaptures writes each capture, passed through the processor, to
// $LINEAGE_PROCESSED_DIR/<capture>-<mode>/ (spans.jsonl plus the original truth and manifest), for
// `go run ./cmd/lineage-eval DIR`. Skipped unless the variable is set.
func TestWriteProcessedCaptures(t *testing.T) {
	root := os.Getenv("LINEAGE_PROCESSED_DIR")
	if root == "" {
		t.Skip("LINEAGE_PROCESSED_DIR not set")
	}
	for _, c := range []string{"withdrawal-a", "withdrawal-b", "withdrawal-c", "withdrawal-d", "withdrawal-restart-a", "multicluster-a", "multicluster-b", "multicluster-c", "multicluster-d"} {
		for _, mode := range []Mode{ModeRewrite, ModeLink} {
			h := replay(t, loadCapture(t, c), func(cfg *Config) { cfg.Mode = mode })
			dir := filepath.Join(root, c+"-"+string(mode))
			require.NoError(t, os.MkdirAll(dir, 0o755))
			var lines []byte
			var m ptrace.JSONMarshaler
			for _, td := range h.sink.AllTraces() {
				b, err := m.MarshalTraces(td)
				require.NoError(t, err)
				lines = append(append(lines, b...), '\n')
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "spans.jsonl"), lines, 0o600))
			for _, f := range []string{"truth.json", "manifest.json"} {
				b, err := os.ReadFile(filepath.Join(capturesDir, c, f))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
			}
		}
	}
}

// BenchmarkConsumeWithManyHeld measures ConsumeTraces while 20000 flush roots wait for evidence:
// retries are driven by index wake-ups, so the cost per span does not grow with what is held.
func BenchmarkConsumeWithManyHeld(b *testing.B) {
	h := newHarness(b, nil)
	for i := range 20000 {
		td := tracesOf(prod("withdrawal-processor", 1, 1, 0, streamThread, "held", int64(i)))
		span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		span.SetTraceID(pcommon.TraceID{0xcc, 12: byte(i >> 16), 13: byte(i >> 8), 14: byte(i)})
		span.SetSpanID(pcommon.SpanID{0xcc, 5: byte(i >> 16), 6: byte(i >> 8), 7: byte(i)})
		h.feed(td)
	}
	batch := tracesOf(prod("app", 5, 50, 0, "main", "orders", 1), cons("sink", 5, 51, 50, "main", "orders", 1))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		td := ptrace.NewTraces()
		batch.CopyTo(td)
		h.feed(td)
	}
	b.StopTimer()
	h.shutdown()
}
