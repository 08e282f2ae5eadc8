package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/loadgen"
	"github.com/eventlineage/lineage/internal/recordfact"
)

// Files of a capture directory (docs/capture-format.md) that the replay sends.
const (
	spansFile = "spans.jsonl" // required: what the agents exported, one TracesData per line
	factsFile = "facts.jsonl" // optional: record facts (kafka_records receiver), one LogsData per line
)

// maxLine bounds one capture line (one export request); the harness' lines are far below it.
const maxLine = 256 << 20

// batch is one line of the capture: one export request as it reached the collector, at the time
// it did (spans: the latest span end, when the agent could export it; facts: the latest observed
// time, when the receiver read the records).
type batch struct {
	at     time.Time
	traces ptrace.Traces // set for a spans line
	logs   plog.Logs     // set for a facts line
	isLogs bool
}

// capture is a capture's batches in the order the collector saw them.
type capture struct {
	batches           []batch
	spans, facts      int // items
	spanReqs, factReq int // lines
}

// loadCapture reads dir's spans.jsonl and facts.jsonl (when present) and orders their lines in
// time; spans go first on a tie, as in the lineage processor's own interleaved replay tests.
func loadCapture(dir string) (*capture, error) {
	c := &capture{}
	sf, err := os.Open(filepath.Join(dir, spansFile))
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", dir, err)
	}
	defer sf.Close()
	if err := readLines(sf, func(line []byte) error {
		td, err := decode(func() (ptrace.Traces, error) { return (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line) })
		if err != nil {
			return err
		}
		c.batches = append(c.batches, batch{at: latestSpanEnd(td), traces: td})
		c.spans += td.SpanCount()
		c.spanReqs++
		return nil
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, spansFile), err)
	}

	ff, err := os.Open(filepath.Join(dir, factsFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		// captures recorded before the kafka_records receiver have no facts
	case err != nil:
		return nil, err
	default:
		defer ff.Close()
		if err := readLines(ff, func(line []byte) error {
			ld, err := decode(func() (plog.Logs, error) { return (&plog.JSONUnmarshaler{}).UnmarshalLogs(line) })
			if err != nil {
				return err
			}
			c.batches = append(c.batches, batch{at: latestObserved(ld), logs: ld, isLogs: true})
			c.facts += ld.LogRecordCount()
			c.factReq++
			return nil
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, factsFile), err)
		}
	}
	sort.SliceStable(c.batches, func(i, j int) bool {
		a, b := c.batches[i], c.batches[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		return !a.isLogs && b.isLogs
	})
	return c, nil
}

// readLines calls fn with every non-blank line; the first error stops it, named by line number.
func readLines(r io.Reader, fn func([]byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			return fmt.Errorf("line %d: not a JSON object", n)
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("after line %d: %w", n, err)
	}
	return nil
}

// decode runs an OTLP/JSON decoder, turning a panic on hostile input into an error.
func decode[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return f()
}

func latestSpanEnd(td ptrace.Traces) time.Time {
	var m pcommon.Timestamp
	loadgen.ForEachSpan(td, func(s ptrace.Span) { m = max(m, s.EndTimestamp(), s.StartTimestamp()) })
	return m.AsTime()
}

func latestObserved(ld plog.Logs) time.Time {
	var m pcommon.Timestamp
	forEachLog(ld, func(r plog.LogRecord) { m = max(m, r.ObservedTimestamp(), r.Timestamp()) })
	return m.AsTime()
}

// end is the time of the capture's last batch.
func (c *capture) end() time.Time {
	var m time.Time
	for _, b := range c.batches {
		if b.at.After(m) {
			m = b.at
		}
	}
	return m
}

// shift moves every timestamp of the capture by d (whole milliseconds): span start, end and event
// times; log record and observed times; and the record facts' millisecond attributes (Kafka
// Streams record context timestamps and window starts), so that every relation between times the
// lineage processor reads stays as recorded.
func (c *capture) shift(d time.Duration) {
	d = d.Truncate(time.Millisecond)
	ns, ms := d.Nanoseconds(), d.Milliseconds()
	move := func(t pcommon.Timestamp) pcommon.Timestamp {
		if t == 0 {
			return 0 // unset stays unset
		}
		return pcommon.Timestamp(int64(t) + ns)
	}
	for i := range c.batches {
		b := &c.batches[i]
		b.at = b.at.Add(d)
		if b.isLogs {
			forEachLog(b.logs, func(r plog.LogRecord) {
				r.SetTimestamp(move(r.Timestamp()))
				r.SetObservedTimestamp(move(r.ObservedTimestamp()))
				for _, k := range []string{recordfact.AttrContextTimestamp, recordfact.AttrWindowStart} {
					if v, ok := r.Attributes().Get(k); ok && v.Type() == pcommon.ValueTypeInt {
						v.SetInt(v.Int() + ms)
					}
				}
			})
			continue
		}
		loadgen.ForEachSpan(b.traces, func(s ptrace.Span) {
			s.SetStartTimestamp(move(s.StartTimestamp()))
			s.SetEndTimestamp(move(s.EndTimestamp()))
			for j := 0; j < s.Events().Len(); j++ {
				e := s.Events().At(j)
				e.SetTimestamp(move(e.Timestamp()))
			}
		})
	}
}

func forEachLog(ld plog.Logs, f func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sl := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sl.Len(); j++ {
			recs := sl.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				f(recs.At(k))
			}
		}
	}
}
