package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/eventlineage/lineage/internal/loadgen"
	"github.com/eventlineage/lineage/internal/recordfact"
)

const withdrawalA = "../../testdata/captures/withdrawal-a"

// countJSONL counts lines and the items under path (spans or logRecords) with encoding/json,
// independently of pdata.
func countJSONL(t *testing.T, path, outer, middle, inner string) (lines, items int) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &doc))
		lines++
		for _, r := range doc[outer].([]any) {
			for _, s := range r.(map[string]any)[middle].([]any) {
				items += len(s.(map[string]any)[inner].([]any))
			}
		}
	}
	return lines, items
}

func TestLoadCaptureInterleavesInTimeOrder(t *testing.T) {
	c, err := loadCapture(withdrawalA)
	require.NoError(t, err)
	spanLines, spans := countJSONL(t, filepath.Join(withdrawalA, spansFile), "resourceSpans", "scopeSpans", "spans")
	factLines, facts := countJSONL(t, filepath.Join(withdrawalA, factsFile), "resourceLogs", "scopeLogs", "logRecords")
	assert.Equal(t, spans, c.spans)
	assert.Equal(t, facts, c.facts)
	assert.Equal(t, spanLines, c.spanReqs)
	assert.Equal(t, factLines, c.factReq)
	require.Len(t, c.batches, spanLines+factLines)

	switches := 0
	for i := 1; i < len(c.batches); i++ {
		a, b := c.batches[i-1], c.batches[i]
		require.False(t, b.at.Before(a.at), "batch %d before batch %d", i, i-1)
		if a.isLogs != b.isLogs {
			switches++
		}
	}
	// spans and facts alternate many times over the run, not one file after the other
	assert.Greater(t, switches, 10)
}

func TestLoadCaptureTiesAndMissingFacts(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	writeSpans(t, dir, at.Add(time.Second), at)
	// no facts.jsonl: a capture recorded before the kafka_records receiver
	c, err := loadCapture(dir)
	require.NoError(t, err)
	require.Len(t, c.batches, 2)
	assert.Equal(t, at, c.batches[0].at)
	assert.Equal(t, 0, c.facts)

	writeFacts(t, dir, at, 0, 0)
	c, err = loadCapture(dir)
	require.NoError(t, err)
	require.Len(t, c.batches, 3)
	assert.False(t, c.batches[0].isLogs, "a span batch goes first on a tie")
	assert.True(t, c.batches[1].isLogs)
}

func TestLoadCaptureErrors(t *testing.T) {
	_, err := loadCapture(t.TempDir())
	assert.ErrorIs(t, err, os.ErrNotExist)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, spansFile), []byte("{\"resourceSpans\":[]}\n\nnot json\n"), 0o600))
	_, err = loadCapture(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 3: not a JSON object")

	require.NoError(t, os.WriteFile(filepath.Join(dir, spansFile), []byte("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}\n"), 0o600))
	_, err = loadCapture(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1")
}

func TestShiftMovesEveryTimeAlike(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	writeSpans(t, dir, at)
	ctxTS, window := at.Add(-2*time.Second).UnixMilli(), at.Add(-10*time.Second).UnixMilli()
	writeFacts(t, dir, at.Add(time.Second), ctxTS, window)
	c, err := loadCapture(dir)
	require.NoError(t, err)

	const d = 90*time.Minute + 1500*time.Microsecond // truncated to whole milliseconds
	c.shift(d)
	want := d.Truncate(time.Millisecond)
	span := c.batches[0].traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, at.Add(-time.Second).Add(want), span.StartTimestamp().AsTime())
	assert.Equal(t, at.Add(want), span.EndTimestamp().AsTime())
	assert.Equal(t, at.Add(-500*time.Millisecond).Add(want), span.Events().At(0).Timestamp().AsTime())
	rec := c.batches[1].logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, at.Add(want), rec.Timestamp().AsTime())
	assert.Equal(t, at.Add(time.Second).Add(want), rec.ObservedTimestamp().AsTime())
	v, _ := rec.Attributes().Get(recordfact.AttrContextTimestamp)
	assert.Equal(t, ctxTS+want.Milliseconds(), v.Int())
	v, _ = rec.Attributes().Get(recordfact.AttrWindowStart)
	assert.Equal(t, window+want.Milliseconds(), v.Int())
	assert.Equal(t, at.Add(time.Second).Add(want), c.end())

	// an unset time stays unset
	rec2 := c.batches[1].logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	assert.Zero(t, rec2.Timestamp())
}

// arrival records what an OTLP receiver got, in order.
type arrival struct {
	mu     sync.Mutex
	kinds  []string
	spans  int
	facts  int
	latest pcommon.Timestamp
	fail   error
}

func startReceiver(t *testing.T, a *arrival) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = addr
	set := receivertest.NewNopSettings(f.Type())
	tc, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.fail != nil {
			return a.fail
		}
		a.kinds = append(a.kinds, "spans")
		a.spans += td.SpanCount()
		loadgen.ForEachSpan(td, func(s ptrace.Span) { a.latest = max(a.latest, s.EndTimestamp()) })
		return nil
	})
	require.NoError(t, err)
	lc, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.kinds = append(a.kinds, "facts")
		a.facts += ld.LogRecordCount()
		forEachLog(ld, func(r plog.LogRecord) { a.latest = max(a.latest, r.ObservedTimestamp()) })
		return nil
	})
	require.NoError(t, err)
	tr, err := f.CreateTraces(context.Background(), set, cfg, tc)
	require.NoError(t, err)
	lr, err := f.CreateLogs(context.Background(), set, cfg, lc) // the same shared receiver
	require.NoError(t, err)
	require.NoError(t, tr.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, lr.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		assert.NoError(t, tr.Shutdown(context.Background()))
		assert.NoError(t, lr.Shutdown(context.Background()))
	})
	return addr
}

// The real OTLP receiver of the collector gets every span and record fact of the capture, in the
// capture's time order, shifted to end at the given now.
func TestReplayIntoOTLPReceiver(t *testing.T) {
	a := &arrival{}
	addr := startReceiver(t, a)
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"--endpoint", addr, "--shift-to-now", withdrawalA}, &out, func() time.Time { return now }))

	c, err := loadCapture(withdrawalA)
	require.NoError(t, err)
	var want []string
	for _, b := range c.batches {
		want = append(want, map[bool]string{false: "spans", true: "facts"}[b.isLogs])
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	assert.Equal(t, want, a.kinds)
	assert.Equal(t, c.spans, a.spans)
	assert.Equal(t, c.facts, a.facts)
	// the capture ends now (the shift is in whole milliseconds)
	assert.WithinDuration(t, now, a.latest.AsTime(), time.Millisecond)
	assert.False(t, a.latest.AsTime().After(now))
	assert.Contains(t, out.String(), "spans in")
	assert.Contains(t, out.String(), "timestamps shifted by")
}

func TestReplayFailsOnSendError(t *testing.T) {
	a := &arrival{fail: consumererror.NewPermanent(errors.New("store is full"))}
	addr := startReceiver(t, a)
	err := run(context.Background(), []string{"--endpoint", addr, withdrawalA}, &bytes.Buffer{}, time.Now)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(spans): ")
	assert.Contains(t, err.Error(), "store is full")

	// nothing listens: the request times out
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	err = run(context.Background(), []string{"--endpoint", dead, "--timeout", "300ms", withdrawalA}, &bytes.Buffer{}, time.Now)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DeadlineExceeded")
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	assert.NoError(t, run(context.Background(), []string{"-h"}, &out, time.Now))
	assert.Contains(t, out.String(), "usage: lineage-replay")
	assert.Error(t, run(context.Background(), nil, &out, time.Now))
	assert.Error(t, run(context.Background(), []string{"a", "b"}, &out, time.Now))
	assert.Error(t, run(context.Background(), []string{"--bogus", "a"}, &out, time.Now))
}

// writeSpans writes one spans.jsonl line per end time, each a span of one second with an event
// half a second before its end.
func writeSpans(t *testing.T, dir string, ends ...time.Time) {
	t.Helper()
	var buf bytes.Buffer
	for i, end := range ends {
		td := ptrace.NewTraces()
		s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{1, byte(i)})
		s.SetSpanID(pcommon.SpanID{2, byte(i)})
		s.SetName("send transactions")
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		s.Events().AppendEmpty().SetTimestamp(pcommon.NewTimestampFromTime(end.Add(-500 * time.Millisecond)))
		b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, spansFile), buf.Bytes(), 0o600))
}

// writeFacts writes one facts.jsonl line: a record fact observed at observed with the record's
// timestamp a second earlier and the given record-context timestamp and window start, and a log
// record without times.
func writeFacts(t *testing.T, dir string, observed time.Time, ctxTS, window int64) {
	t.Helper()
	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	r := recs.AppendEmpty()
	r.SetTimestamp(pcommon.NewTimestampFromTime(observed.Add(-time.Second)))
	r.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	r.Attributes().PutInt(recordfact.AttrContextTimestamp, ctxTS)
	r.Attributes().PutInt(recordfact.AttrWindowStart, window)
	recs.AppendEmpty()
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, factsFile), append(b, '\n'), 0o600))
}

func FuzzReadLines(f *testing.F) {
	f.Add([]byte("{\"resourceSpans\":[]}\n"))
	f.Add([]byte("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0102\",\"startTimeUnixNano\":\"1\"}]}]}]}\n\n{"))
	f.Add([]byte("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"observedTimeUnixNano\":\"5\"}]}]}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readLines(bytes.NewReader(data), func(line []byte) error {
			td, err := decode(func() (ptrace.Traces, error) { return (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line) })
			if err == nil {
				latestSpanEnd(td)
			}
			ld, err := decode(func() (plog.Logs, error) { return (&plog.JSONUnmarshaler{}).UnmarshalLogs(line) })
			if err == nil {
				latestObserved(ld)
			}
			return nil
		})
	})
}
