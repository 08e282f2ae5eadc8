package lineageprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// placement is where a span ended up: its trace and parent.
type placement struct {
	trace  pcommon.TraceID
	parent pcommon.SpanID
}

func placements(td ptrace.Traces) map[pcommon.SpanID]placement {
	m := map[pcommon.SpanID]placement{}
	forEachSpan(td, func(_ pcommon.Resource, s ptrace.Span) {
		if !isSynthesized(s) {
			m[s.SpanID()] = placement{s.TraceID(), s.ParentSpanID()}
		}
	})
	return m
}

// On the captures with record facts, the processor fed as in production — facts as the receiver
// read them, spans as the agents exported them, interleaved in time, with decision_wait running
// on that time line — places every span exactly as the offline Stitch (all facts first, then all
// spans) that lineage-eval measures.
func TestCaptureFactsLiveReplayMatchesOffline(t *testing.T) {
	for _, name := range []string{"withdrawal-a", "withdrawal-b", "multicluster-a"} {
		t.Run(name, func(t *testing.T) {
			facts := loadCaptureLogs(t, name, "facts.jsonl")
			spans := loadCapture(t, name)

			all, allFacts := ptrace.NewTraces(), plog.NewLogs()
			for _, td := range cloneAll(spans) {
				td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
			}
			for _, ld := range facts {
				cloneLogs(ld).ResourceLogs().MoveAndAppendTo(allFacts.ResourceLogs())
			}
			offline, err := Stitch(nil, all, allFacts)
			require.NoError(t, err)

			h := newHarness(t, nil)
			h.replayInterleaved(spans, facts, latestOf(plog.LogRecord.ObservedTimestamp)) // when the receiver read them

			want := placements(offline)
			got := map[pcommon.SpanID]placement{}
			for _, td := range h.sink.AllTraces() {
				for id, p := range placements(td) {
					got[id] = p
				}
			}
			require.Len(t, got, len(want))
			diff := 0
			for id, p := range want {
				if got[id] != p {
					diff++
				}
			}
			assert.Zero(t, diff, "spans placed differently live than offline, of %d", len(want))
		})
	}
}
