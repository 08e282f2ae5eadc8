package lineageprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// The withdrawal-b shape of processor_test.go: R (trace 2) is merged into trace 1.
func TestLogsFollowTheirMergedTrace(t *testing.T) {
	h := newHarness(t, nil)
	h.feedLogs(logOf("emit before spans", 2, 3))
	h.feedLogs(logOf("process", 1, 2))
	assert.Empty(t, h.logsOut(), "undecided traces hold their logs")
	for _, s := range []ts{spanX, spanS, spanR, spanC} {
		h.feed(tracesOf(s))
	}
	h.feedLogs(logOf("emit after decision", 2, 3))
	out := h.logsOut()
	require.Len(t, out, 3, "released as soon as the traces are decided, before decision_wait")
	for _, body := range []string{"emit before spans", "emit after decision"} {
		assert.Equal(t, tid(1), out[body].TraceID(), body)
		assert.Equal(t, sid(3), out[body].SpanID(), "span ids never change")
		v, _ := out[body].Attributes().Get(attrOriginalTraceID)
		assert.Equal(t, tid(2).String(), v.Str())
	}
	assert.Equal(t, tid(1), out["process"].TraceID())
	_, rewritten := out["process"].Attributes().Get(attrOriginalTraceID)
	assert.False(t, rewritten)
	assert.Equal(t, int64(2), h.p.stats.logsRewritten)
	assert.Equal(t, 0, h.p.logs.held)
}

func TestLogsOfUnknownTraceReleasedUnchangedAtDecisionWait(t *testing.T) {
	h := newHarness(t, nil)
	h.feedLogs(logOf("no context", 0, 0))
	require.Len(t, h.logsOut(), 1, "records without trace context pass at once")
	h.feedLogs(logOf("stray", 9, 9))
	h.advance(h.p.cfg.DecisionWait - time.Second)
	assert.Len(t, h.logsOut(), 1)
	h.advance(2 * time.Second)
	out := h.logsOut()
	require.Len(t, out, 2)
	assert.Equal(t, tid(9), out["stray"].TraceID())
	assert.Equal(t, int64(1), h.p.stats.logsUnmatched)
}

func TestLogsWaitForTheirHeldTraceBeyondDecisionWait(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(tracesOf(spanR)) // a break point: held until its evidence arrives or decision_wait
	h.advance(h.p.cfg.DecisionWait / 2)
	h.feedLogs(logOf("emit", 2, 3))
	h.advance(h.p.cfg.DecisionWait/2 + time.Second) // R's trace expires; the log goes with it
	out := h.logsOut()
	require.Len(t, out, 1)
	assert.Equal(t, tid(2), out["emit"].TraceID())
	assert.Zero(t, h.p.stats.logsUnmatched, "its trace was seen")
}

func TestLogsLinkModePassUnchanged(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Mode = ModeLink })
	h.feedLogs(logOf("emit", 2, 3))
	require.Len(t, h.logsOut(), 1)
	assert.Zero(t, h.p.logs.held)
}

func TestLogBoundEvictsOldestUnchanged(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBufferedLogRecords = 2 })
	h.feedLogs(logOf("a", 5, 1))
	h.feedLogs(logOf("b", 6, 1))
	h.feedLogs(logOf("c", 7, 1))
	out := h.logsOut()
	require.Len(t, out, 1)
	assert.Contains(t, out, "a")
	assert.Equal(t, int64(1), h.p.stats.logsEvicted)
	assert.Equal(t, 2, h.p.logs.held)
	h.shutdown()
	assert.Len(t, h.logsOut(), 3, "shutdown flushes the rest")
}

func TestShutdownFlushesLogsAfterSpans(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(tracesOf(spanR))
	h.feedLogs(logOf("emit", 2, 3))
	h.shutdown()
	out := h.logsOut()
	require.Len(t, out, 1)
	assert.Equal(t, tid(2), out["emit"].TraceID(), "its trace went out unstitched")
	assert.Zero(t, h.p.logs.held)
}

// One instance serves the traces and the logs pipeline of a component id; the last Shutdown
// flushes it.
func TestFactorySharesOneInstanceAcrossPipelines(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	set := processortest.NewNopSettings(componentType)
	traces, logs := &consumertest.TracesSink{}, &consumertest.LogsSink{}
	tp, err := f.CreateTraces(context.Background(), set, cfg, traces)
	require.NoError(t, err)
	lp, err := f.CreateLogs(context.Background(), set, cfg, logs)
	require.NoError(t, err)
	require.Same(t, tp.(*pipelineProcessor).lineageProcessor, lp.(*pipelineProcessor).lineageProcessor)
	other, err := f.CreateLogs(context.Background(), set, f.CreateDefaultConfig(), logs)
	require.NoError(t, err)
	assert.NotSame(t, tp.(*pipelineProcessor).lineageProcessor, other.(*pipelineProcessor).lineageProcessor, "another component id, another instance")
	require.NoError(t, other.Shutdown(context.Background()))

	host := componenttest.NewNopHost()
	require.NoError(t, tp.Start(context.Background(), host))
	require.NoError(t, lp.Start(context.Background(), host))
	require.NoError(t, lp.ConsumeLogs(context.Background(), logOf("emit", 2, 3)))
	require.NoError(t, tp.ConsumeTraces(context.Background(), tracesOf(spanR)))
	require.NoError(t, tp.Shutdown(context.Background()))
	assert.Zero(t, traces.SpanCount()+logs.LogRecordCount(), "still running: the logs pipeline uses it")
	require.NoError(t, tp.Shutdown(context.Background()), "a second Shutdown of the same handle is harmless")
	require.NoError(t, lp.Shutdown(context.Background()))
	assert.Equal(t, 1, traces.SpanCount())
	assert.Equal(t, 1, logs.LogRecordCount())
}

func TestLogsOnlyPipelinePassesUnchanged(t *testing.T) {
	f := NewFactory()
	logs := &consumertest.LogsSink{}
	lp, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(componentType), f.CreateDefaultConfig(), logs)
	require.NoError(t, err)
	require.NoError(t, lp.Start(context.Background(), componenttest.NewNopHost()))
	ld := logOf("emit", 2, 3)
	require.NoError(t, lp.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, 1, logs.LogRecordCount())
	require.NoError(t, lp.Shutdown(context.Background()))
}

// loadCaptureLogs reads a capture's logs.jsonl or facts.jsonl: one OTLP/JSON LogsData per line.
func loadCaptureLogs(tb testing.TB, name, file string) []plog.Logs {
	tb.Helper()
	var out []plog.Logs
	var u plog.JSONUnmarshaler
	readJSONLines(tb, name, file, func(line []byte) {
		ld, err := u.UnmarshalLogs(line)
		require.NoError(tb, err)
		out = append(out, ld)
	})
	return out
}

// latestOf returns the latest time a batch's log records have in field: its arrival time.
func latestOf(field func(plog.LogRecord) pcommon.Timestamp) func(plog.Logs) time.Time {
	return func(ld plog.Logs) time.Time {
		var m time.Time
		forEachLog(ld, func(_ pcommon.Resource, r plog.LogRecord) {
			if t := field(r).AsTime(); t.After(m) {
				m = t
			}
		})
		return m
	}
}

// On the real captures, every log record written inside a span ends up in that span's final
// trace, whichever order spans and logs arrive in.
func TestCaptureLogsFollowTheirSpans(t *testing.T) {
	// merges: whether spans with log records are merged into other traces in that capture
	// (all of them: under receive telemetry, withdrawal-d, the process spans leave their polls).
	for name, merges := range map[string]bool{"withdrawal-a": true, "withdrawal-b": true, "withdrawal-c": true, "withdrawal-d": true, "multicluster-b": true} {
		t.Run(name, func(t *testing.T) {
			spans, logs := loadCapture(t, name), loadCaptureLogs(t, name, "logs.jsonl")
			in := 0
			for _, ld := range logs {
				in += ld.LogRecordCount()
			}
			h := newHarness(t, nil)
			h.replayInterleaved(spans, logs, latestOf(plog.LogRecord.Timestamp))

			final := map[pcommon.SpanID]pcommon.TraceID{}
			for id, s := range h.out() {
				final[id] = s.TraceID()
			}
			var outN, checked, moved int
			for _, ld := range h.logs.AllLogs() {
				outN += ld.LogRecordCount()
				forEachLog(ld, func(_ pcommon.Resource, r plog.LogRecord) {
					ft, ok := final[r.SpanID()]
					if !ok {
						return
					}
					checked++
					assert.Equal(t, ft, r.TraceID(), "log record of span %s", r.SpanID())
					if _, ok := r.Attributes().Get(attrOriginalTraceID); ok {
						moved++
					}
				})
			}
			assert.Equal(t, in, outN, "log records in == out")
			assert.Positive(t, checked)
			assert.Equal(t, merges, moved > 0, "records moved into merged traces: %d", moved)
			t.Logf("%d log records, %d in captured spans, %d moved into merged traces, %d unmatched", in, checked, moved, h.p.stats.logsUnmatched)
		})
	}
}

// replayInterleaved feeds span and log batches in the order of their time (a span batch's latest
// end, a log batch's logTime), moving the clock and ticking as it goes, lets decision_wait run out
// and shuts the processor down.
func (h *harness) replayInterleaved(spans []ptrace.Traces, logs []plog.Logs, logTime func(plog.Logs) time.Time) {
	i, j := 0, 0
	for i < len(spans) || j < len(logs) {
		feedSpans := j >= len(logs) || (i < len(spans) && !maxEnd(spans[i]).After(logTime(logs[j])))
		var now time.Time
		if feedSpans {
			now = maxEnd(spans[i])
		} else {
			now = logTime(logs[j])
		}
		if now.After(h.clock.Now()) {
			h.clock.Advance(now.Sub(h.clock.Now()))
		}
		h.p.tick(context.Background())
		if feedSpans {
			h.feed(spans[i])
			i++
		} else {
			h.feedLogs(logs[j])
			j++
		}
	}
	h.advance(h.p.cfg.DecisionWait + time.Second)
	h.shutdown()
}
