package captureeval

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

const (
	tp  = "transaction-producer"
	wp  = "withdrawal-processor"
	oc  = "outcome-consumer"
	kc1 = "kafka-connect-dc1"
	kc2 = "kafka-connect-dc2"
)

type edgeCounts struct{ observed, correct, truth, observedTruth int }

func checkEdges(t *testing.T, what string, gotObserved, gotCorrect, gotTruth, gotObservedTruth int, want edgeCounts) {
	t.Helper()
	got := edgeCounts{gotObserved, gotCorrect, gotTruth, gotObservedTruth}
	if got != want {
		t.Errorf("%s: got observed/correct/truth/observed_truth %+v, want %+v", what, got, want)
	}
}

func checkAll(t *testing.T, rep *Report, want edgeCounts) {
	t.Helper()
	e := rep.Edges
	checkEdges(t, "edges", e.Observed, e.Correct, e.Truth, e.ObservedTruth, want)
}

func checkType(t *testing.T, rep *Report, typ EdgeType, want edgeCounts) {
	t.Helper()
	s := rep.Edges.ByType.get(typ)
	checkEdges(t, "by_type."+typ.String(), s.Observed, s.Correct, s.Truth, s.ObservedTruth, want)
}

func checkFinal(t *testing.T, rep *Report, want string) {
	t.Helper()
	if got := rep.FinalLine(); got != want {
		t.Errorf("final line\n got %q\nwant %q", got, want)
	}
}

func checkInt(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

func checkFloat(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// The hand-written capture in testdata/connected: one event whose whole journey is one trace.
func TestConnectedTrace(t *testing.T) {
	rep := evaluate(t, "testdata/connected", Options{EventDetails: true})
	checkInt(t, "events", rep.Events, 1)
	checkInt(t, "events_without_spans", rep.EventsWithoutSpans, 0)
	checkFloat(t, "traces_per_event.mean", rep.TracesPerEvent.Mean, 1)
	checkInt(t, "traces_per_event.max", rep.TracesPerEvent.Max, 1)
	if h := rep.TracesPerEvent.Histogram; len(h) != 1 || h[0] != (HistogramBucket{Traces: 1, Events: 1}) {
		t.Errorf("histogram = %+v", h)
	}
	// hops (tx, withdrawal-processor) and (approved, outcome-consumer), streams edge tx → approved.
	checkAll(t, rep, edgeCounts{3, 3, 3, 3})
	checkType(t, rep, EdgeProducerConsumer, edgeCounts{2, 2, 2, 2})
	checkType(t, rep, EdgeStreams, edgeCounts{1, 1, 1, 1})
	checkInt(t, "orphan_spans", rep.OrphanSpans, 0)
	if rep.Spans != (SpanStats{Total: 4, WithRecord: 4}) {
		t.Errorf("spans = %+v", rep.Spans)
	}
	if rep.Input != (InputStats{Lines: 3}) {
		t.Errorf("input = %+v", rep.Input)
	}
	if !bytes.Contains(rep.Manifest, []byte(`"agent_version": "2.31.0"`)) {
		t.Errorf("manifest not passed through: %s", rep.Manifest)
	}
	want := EventDetail{EventID: "tx-0005", Record: "dc1/transactions/0/5", JourneyRecords: 2, Spans: 4, Traces: 1,
		MainTrace: "4bf92f3577b34da6a3ce929d0e0e4736", TruthEdges: 3, ObservedTruthEdges: 3}
	if len(rep.EventDetails) != 1 || rep.EventDetails[0] != want {
		t.Errorf("event details = %+v, want %+v", rep.EventDetails, want)
	}
	checkFinal(t, rep, "events=1 traces_per_event=1.00 precision=1.000 recall=1.000")
	if len(rep.Edges.Missed) != 0 {
		t.Errorf("missed = %+v, want none", rep.Edges.Missed)
	}
	if rep.MalformedProblems.Count != 0 || rep.TruthProblems.Count != 0 {
		t.Errorf("unexpected problems: %+v %+v", rep.MalformedProblems, rep.TruthProblems)
	}
}

// A KTable aggregation with caching: the output is forwarded at cache flush as a new root trace.
func TestBrokenCacheFlushRoot(t *testing.T) {
	tb := newTruth().
		consumer("dc1", "transactions", wp, "streams").
		consumer("dc1", "balance-updates", oc, "consumer")
	tx := tb.origin("dc1", "transactions", 0, 1, "tx-1")
	tb.record("dc1", "balance-updates", 0, 0, primary("streams", tx))
	dir := writeCapture(t, tb,
		[]tspan{producer("p-tx", "A", "", tp, "transactions", 0, 1)},
		[]tspan{
			consumer("c-tx", "A", "p-tx", wp, "transactions", 0, 1),
			producer("p-bal", "FLUSH", "", wp, "balance-updates", 0, 0), // flush root
		},
		[]tspan{consumer("c-bal", "FLUSH", "p-bal", oc, "balance-updates", 0, 0)},
	)
	rep := evaluate(t, dir, Options{})
	checkFloat(t, "traces_per_event.mean", rep.TracesPerEvent.Mean, 2)
	checkInt(t, "traces_per_event.max", rep.TracesPerEvent.Max, 2)
	checkAll(t, rep, edgeCounts{2, 2, 3, 2})
	checkType(t, rep, EdgeStreams, edgeCounts{0, 0, 1, 0})
	checkFloat(t, "by_type.streams.recall", rep.Edges.ByType.Streams.Recall, 0)
	checkInt(t, "orphan_spans", rep.OrphanSpans, 2) // p-bal and c-bal
	checkInt(t, "orphan_traces", rep.OrphanTraces, 1)
	checkFinal(t, rep, "events=1 traces_per_event=2.00 precision=1.000 recall=0.667")
	want := []EdgeGroup{{Type: "streams", From: "dc1/transactions", To: "dc1/balance-updates", Count: 1}}
	if !slices.Equal(rep.Edges.Missed, want) {
		t.Errorf("missed = %+v, want %+v", rep.Edges.Missed, want)
	}
}

// A stream-table join: the output's secondary parent (the account) is only observed through a
// link.
func TestFanInSecondaryParent(t *testing.T) {
	build := func(link bool) string {
		tb := newTruth().
			consumer("dc1", "transactions", wp, "streams").
			consumer("dc1", "accounts", wp, "streams").
			consumer("dc1", "withdrawals-approved", oc, "consumer")
		acct := tb.origin("dc1", "accounts", 0, 0, "acct-1")
		tx := tb.origin("dc1", "transactions", 0, 0, "tx-1")
		tb.record("dc1", "withdrawals-approved", 0, 0, primary("streams", tx), secondary("streams", acct))
		out := producer("p-out", "TX", "c-tx", wp, "withdrawals-approved", 0, 0)
		if link {
			out = out.withLinks(tlink{trace: "ACCT", span: "p-acct"})
		}
		return writeCapture(t, tb,
			[]tspan{producer("p-acct", "ACCT", "", tp, "accounts", 0, 0), producer("p-tx", "TX", "", tp, "transactions", 0, 0)},
			[]tspan{consumer("c-acct", "ACCT", "p-acct", wp, "accounts", 0, 0), consumer("c-tx", "TX", "p-tx", wp, "transactions", 0, 0), out},
		)
	}
	t.Run("no link", func(t *testing.T) {
		rep := evaluate(t, build(false), Options{EventDetails: true})
		// truth: 3 hops + 2 streams edges; observed: both input hops and tx → out.
		checkAll(t, rep, edgeCounts{3, 3, 5, 3})
		checkType(t, rep, EdgeStreams, edgeCounts{1, 1, 2, 1})
		checkType(t, rep, EdgeProducerConsumer, edgeCounts{2, 2, 3, 2})
		// The output is in the transaction's journey only.
		checkInt(t, "acct journey records", rep.EventDetails[0].JourneyRecords, 1)
		checkInt(t, "tx journey records", rep.EventDetails[1].JourneyRecords, 2)
		checkInt(t, "orphan_spans", rep.OrphanSpans, 0)
		checkFinal(t, rep, "events=2 traces_per_event=1.00 precision=1.000 recall=0.600")
	})
	t.Run("link", func(t *testing.T) {
		rep := evaluate(t, build(true), Options{})
		checkAll(t, rep, edgeCounts{4, 4, 5, 4})
		checkType(t, rep, EdgeStreams, edgeCounts{2, 2, 2, 2})
		if rep.Links != (LinkStats{Total: 1, Resolved: 1, ToRecordSpans: 1}) {
			t.Errorf("links = %+v", rep.Links)
		}
		checkFinal(t, rep, "events=2 traces_per_event=1.00 precision=1.000 recall=0.800")
	})
}

// An output parented into an unrelated record's trace (suppress, cache eviction): a wrong edge.
func TestWrongEdgeLowersPrecision(t *testing.T) {
	tb := newTruth().
		consumer("dc1", "transactions", wp, "streams").
		consumer("dc1", "withdrawals-approved", oc, "consumer")
	tx3 := tb.origin("dc1", "transactions", 0, 3, "tx-3")
	tb.origin("dc1", "transactions", 0, 4, "tx-4")
	tb.record("dc1", "withdrawals-approved", 1, 0, primary("streams", tx3))
	dir := writeCapture(t, tb,
		[]tspan{producer("p3", "T3", "", tp, "transactions", 0, 3), producer("p4", "T4", "", tp, "transactions", 0, 4)},
		[]tspan{
			consumer("c3", "T3", "p3", wp, "transactions", 0, 3),
			consumer("c4", "T4", "p4", wp, "transactions", 0, 4),
			producer("p-out", "T4", "c4", wp, "withdrawals-approved", 1, 0), // emitted while tx-4 is processed
		},
		[]tspan{consumer("c-out", "T4", "p-out", oc, "withdrawals-approved", 1, 0)},
	)
	rep := evaluate(t, dir, Options{})
	// observed: 3 correct hops + the wrong edge tx-4 → out.
	checkAll(t, rep, edgeCounts{4, 3, 4, 3})
	checkType(t, rep, EdgeStreams, edgeCounts{1, 0, 1, 0})
	checkFloat(t, "precision", rep.Edges.Precision, 0.75)
	// tx-3's journey spans two traces (T3, T4); tx-4's one.
	checkFloat(t, "traces_per_event.mean", rep.TracesPerEvent.Mean, 1.5)
	if h := rep.TracesPerEvent.Histogram; len(h) != 2 || h[0] != (HistogramBucket{1, 1}) || h[1] != (HistogramBucket{2, 1}) {
		t.Errorf("histogram = %+v", h)
	}
	// p-out and c-out sit in tx-4's main trace, but tx-4's journey does not contain them.
	checkInt(t, "orphan_spans", rep.OrphanSpans, 2)
	checkFinal(t, rep, "events=2 traces_per_event=1.50 precision=0.750 recall=0.750")
}

// multicluster: MirrorMaker 2 copies transactions to dc2 and the output back to dc1.
func mirrorCapture(t *testing.T) string {
	tb := newTruth().
		consumer("dc1", "transactions", kc2, "mirror").
		consumer("dc2", "dc1.transactions", wp, "streams").
		consumer("dc2", "withdrawals-approved", kc1, "mirror").
		consumer("dc1", "dc2.withdrawals-approved", oc, "consumer")
	tb.f.Scenario = "multicluster"
	tx := tb.origin("dc1", "transactions", 0, 7, "tx-7")
	mtx := tb.record("dc2", "dc1.transactions", 0, 7, primary("cluster", tx))
	out := tb.record("dc2", "withdrawals-approved", 0, 3, primary("streams", mtx))
	tb.record("dc1", "dc2.withdrawals-approved", 0, 3, primary("cluster", out))
	return writeCapture(t, tb,
		[]tspan{producer("p-tx", "A", "", tp, "transactions", 0, 7)},
		[]tspan{
			// MirrorMaker 2 in kafka-connect-dc2 consumes from dc1 (child of the producer) and
			// sends the copy as a new root.
			consumer("mm-c-tx", "A", "p-tx", kc2, "transactions", 0, 7).in("dc2"),
			producer("mm-p-tx", "B", "", kc2, "dc1.transactions", 0, 7).in("dc2"),
		},
		[]tspan{
			consumer("c-mtx", "B", "mm-p-tx", wp, "dc1.transactions", 0, 7).in("dc2"),
			producer("p-out", "B", "c-mtx", wp, "withdrawals-approved", 0, 3).in("dc2"),
		},
		[]tspan{
			consumer("mm-c-out", "B", "p-out", kc1, "withdrawals-approved", 0, 3),
			producer("mm-p-out", "C", "", kc1, "dc2.withdrawals-approved", 0, 3),
		},
		[]tspan{consumer("c-mout", "C", "mm-p-out", oc, "dc2.withdrawals-approved", 0, 3)},
	)
}

func TestMirroredClusterHop(t *testing.T) {
	rep := evaluate(t, mirrorCapture(t), Options{})
	// truth: 4 hops (2 mirror, 2 plain) + 3 parent edges (2 cluster, 1 streams).
	// observed: the 4 hops and dc1.transactions → withdrawals-approved.
	checkAll(t, rep, edgeCounts{5, 5, 7, 5})
	checkType(t, rep, EdgeCluster, edgeCounts{2, 2, 4, 2})
	checkType(t, rep, EdgeProducerConsumer, edgeCounts{2, 2, 2, 2})
	checkType(t, rep, EdgeStreams, edgeCounts{1, 1, 1, 1})
	checkFloat(t, "by_type.cluster.recall", rep.Edges.ByType.Cluster.Recall, 0.5)
	checkInt(t, "traces_per_event.max", rep.TracesPerEvent.Max, 3)
	checkInt(t, "orphan_spans", rep.OrphanSpans, 6) // all of traces B and C
	checkInt(t, "orphan_traces", rep.OrphanTraces, 2)
	checkFinal(t, rep, "events=1 traces_per_event=3.00 precision=1.000 recall=0.714")
}

// The Stitch hook: a stand-in stitcher links each MirrorMaker 2 copy to the consumption of its
// source record, which makes the cluster edge observable.
func TestStitchHook(t *testing.T) {
	var calls, spansSeen int
	stitch := func(td ptrace.Traces) (ptrace.Traces, error) {
		calls++
		spansSeen = td.SpanCount()
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					if s := spans.At(k); s.Name() == "mm-p-tx" {
						l := s.Links().AppendEmpty()
						l.SetTraceID(traceID("A"))
						l.SetSpanID(spanID("mm-c-tx"))
					}
				}
			}
		}
		return td, nil
	}
	rep := evaluate(t, mirrorCapture(t), Options{Stitch: stitch})
	checkInt(t, "stitch calls", calls, 1)
	checkInt(t, "spans given to stitch", spansSeen, 8)
	if !rep.Stitched {
		t.Error("stitched = false")
	}
	checkAll(t, rep, edgeCounts{6, 6, 7, 6})
	checkType(t, rep, EdgeCluster, edgeCounts{3, 3, 4, 3})
	checkFinal(t, rep, "events=1 traces_per_event=3.00 precision=1.000 recall=0.857")
}

// A Connect sink: a record-less root span per put() batch, linking to the records' producers.
func TestConnectSinkLinks(t *testing.T) {
	tb := newTruth().
		consumer("dc1", "transactions", wp, "streams").
		consumer("dc1", "withdrawals-approved", oc, "consumer")
	tb.f.Consumers = append(tb.f.Consumers, TruthConsumer{Cluster: "dc1", Topic: "withdrawals-approved",
		Service: kc1, Kind: "connect_sink", Connector: "approved-file-sink"})
	tx1 := tb.origin("dc1", "transactions", 0, 1, "tx-1")
	tx2 := tb.origin("dc1", "transactions", 0, 2, "tx-2")
	tb.record("dc1", "withdrawals-approved", 0, 0, primary("streams", tx1))
	tb.record("dc1", "withdrawals-approved", 0, 1, primary("streams", tx2))
	sink := tspan{name: "sink-put", trace: "S", service: kc1, cluster: "dc1", kind: ptrace.SpanKindConsumer,
		attrs: map[string]any{AttrTopic: "withdrawals-approved", "messaging.batch.message_count": int64(3)},
		links: []tlink{{trace: "T1", span: "p-out1"}, {trace: "T2", span: "p-out2"}, {trace: "GONE", span: "never-exported"}}}
	dir := writeCapture(t, tb,
		[]tspan{producer("p1", "T1", "", tp, "transactions", 0, 1), producer("p2", "T2", "", tp, "transactions", 0, 2)},
		[]tspan{
			consumer("c1", "T1", "p1", wp, "transactions", 0, 1),
			producer("p-out1", "T1", "c1", wp, "withdrawals-approved", 0, 0),
			consumer("c2", "T2", "p2", wp, "transactions", 0, 2),
			producer("p-out2", "T2", "c2", wp, "withdrawals-approved", 0, 1),
		},
		[]tspan{sink},
	)
	rep := evaluate(t, dir, Options{EventDetails: true})
	// per event: hop into the processor, streams edge, sink hop; the outcome-consumer hops are
	// not observed.
	checkAll(t, rep, edgeCounts{6, 6, 8, 6})
	checkType(t, rep, EdgeConnect, edgeCounts{2, 2, 2, 2})
	checkType(t, rep, EdgeProducerConsumer, edgeCounts{2, 2, 4, 2})
	if rep.Links != (LinkStats{Total: 3, Resolved: 2, ToRecordSpans: 2}) {
		t.Errorf("links = %+v", rep.Links)
	}
	checkInt(t, "spans.record_less", rep.Spans.RecordLess, 1)
	// The sink span is in both journeys, in neither main trace: one orphan span.
	checkInt(t, "orphan_spans", rep.OrphanSpans, 1)
	for _, d := range rep.EventDetails {
		checkInt(t, d.EventID+" spans", d.Spans, 4)
		checkInt(t, d.EventID+" traces", d.Traces, 2)
		checkInt(t, d.EventID+" off_main_spans", d.OffMainSpans, 1)
	}
	checkFinal(t, rep, "events=2 traces_per_event=2.00 precision=1.000 recall=0.750")
}

// Spans of records the truth does not hold are noise: counted, and transparent for ancestry.
func TestNoiseSpans(t *testing.T) {
	tb := newTruth().consumer("dc1", "transactions", wp, "streams")
	tx := tb.origin("dc1", "transactions", 0, 0, "tx-0")
	tb.record("dc1", "withdrawals-approved", 0, 0, primary("streams", tx))
	dir := writeCapture(t, tb,
		[]tspan{
			producer("p-tx", "A", "", tp, "transactions", 0, 0),
			producer("hb", "HB", "", kc1, "heartbeats", 0, 12), // MM2 heartbeat
			producer("cfg", "CFG", "", kc1, "connect-configs", 0, 3),
			{name: "poll", trace: "POLL", service: oc, cluster: "dc1", kind: ptrace.SpanKindConsumer,
				attrs: map[string]any{AttrTopic: "withdrawals-approved"}}, // record-less receive span
		},
		[]tspan{
			consumer("c-tx", "A", "p-tx", wp, "transactions", 0, 0),
			// a noise span between two record spans is skipped when looking for the ancestor
			producer("noise", "A", "c-tx", wp, "withdrawal-processor-unknown-changelog", 0, 9),
			producer("p-out", "A", "noise", wp, "withdrawals-approved", 0, 0),
		},
	)
	rep := evaluate(t, dir, Options{})
	if want := (SpanStats{Total: 7, WithRecord: 3, Noise: 3, RecordLess: 1}); rep.Spans != want {
		t.Errorf("spans = %+v, want %+v", rep.Spans, want)
	}
	checkAll(t, rep, edgeCounts{2, 2, 2, 2})
	checkInt(t, "orphan_spans", rep.OrphanSpans, 0)
	checkFinal(t, rep, "events=1 traces_per_event=1.00 precision=1.000 recall=1.000")
}

// v1.43 conventions (config c): messaging.kafka.offset, int partition ids, process spans that
// both continue the producer's trace and link to it (one hop, counted once), and with receive
// telemetry a record-less receive root whose process children only link to the producer.
func TestV143Attributes(t *testing.T) {
	tb := newTruth().
		consumer("dc1", "transactions", wp, "streams").
		consumer("dc1", "withdrawals-approved", oc, "consumer")
	tb.f.Config = "c"
	tx := tb.origin("dc1", "transactions", 1, 10, "tx-10")
	tb.record("dc1", "withdrawals-approved", 2, 20, primary("streams", tx))
	newSpan := func(name, trace, parent, service string, kind ptrace.SpanKind, topic string, partition int, offset int64, links ...tlink) tspan {
		attrs := newRec(topic, partition, offset)
		attrs[AttrPartitionID] = int64(partition) // an int instead of the spec's string
		return tspan{name: name, trace: trace, parent: parent, service: service, cluster: "dc1", kind: kind, attrs: attrs, links: links}
	}
	dir := writeCapture(t, tb,
		[]tspan{newSpan("send", "A", "", tp, ptrace.SpanKindProducer, "transactions", 1, 10)},
		[]tspan{
			newSpan("process", "A", "send", wp, ptrace.SpanKindConsumer, "transactions", 1, 10, tlink{trace: "A", span: "send"}),
			newSpan("send-out", "A", "process", wp, ptrace.SpanKindProducer, "withdrawals-approved", 2, 20),
		},
		[]tspan{
			{name: "receive", trace: "R", service: oc, cluster: "dc1", kind: ptrace.SpanKindConsumer,
				attrs: map[string]any{AttrTopic: "withdrawals-approved", "messaging.batch.message_count": int64(1)}},
			newSpan("process-out", "R", "receive", oc, ptrace.SpanKindConsumer, "withdrawals-approved", 2, 20, tlink{trace: "A", span: "send-out"}),
		},
	)
	rep := evaluate(t, dir, Options{})
	checkInt(t, "spans.with_record", rep.Spans.WithRecord, 4)
	checkInt(t, "spans.malformed", rep.Spans.Malformed, 0)
	checkAll(t, rep, edgeCounts{3, 3, 3, 3})
	// process-out is in trace R: two traces, one orphan.
	checkInt(t, "orphan_spans", rep.OrphanSpans, 1)
	checkFinal(t, rep, "events=1 traces_per_event=2.00 precision=1.000 recall=1.000")
}

func TestMalformedLines(t *testing.T) {
	tb := newTruth().consumer("dc1", "transactions", wp, "streams")
	tb.origin("dc1", "transactions", 0, 0, "tx-0")
	good := tracesLine(t, producer("p", "A", "", tp, "transactions", 0, 0))
	dir := writeCapture(t, tb,
		good,
		good[:len(good)/2], // truncated
		"",                 // blank
		"   ",              // blank
		"null",
		"[1, 2]",
		string(good)+" trailing",
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"0102030405060708"}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"","spanId":"0102030405060708"}]}]}]}`,
		"{}",
		string(good)+"\r", // CRLF line ending: a duplicate of the first span
	)
	rep := evaluate(t, dir, Options{})
	if want := (InputStats{Lines: 9, MalformedLines: 5}); rep.Input != want {
		t.Errorf("input = %+v, want %+v", rep.Input, want)
	}
	if want := (SpanStats{Total: 3, WithRecord: 1, Malformed: 1, Duplicate: 1}); rep.Spans != want {
		t.Errorf("spans = %+v, want %+v", rep.Spans, want)
	}
	want := []string{
		"spans line 2: ID.UnmarshalJSONIter",
		"spans line 5: not a JSON object",
		"spans line 6: not a JSON object",
		"spans line 7: invalid JSON after the TracesData object",
		"spans line 8: ID.UnmarshalJSONIter: length mismatch",
		"spans line 9, span /0102030405060708 \"\": empty trace or span id",
	}
	if len(rep.MalformedProblems.Samples) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(rep.MalformedProblems.Samples, "\n"))
	}
	for i, w := range want {
		if got := rep.MalformedProblems.Samples[i]; !strings.HasPrefix(got, w) {
			t.Errorf("problem %d = %q, want prefix %q", i, got, w)
		}
	}
}

func TestMalformedSpans(t *testing.T) {
	tb := newTruth().consumer("dc1", "transactions", wp, "streams")
	tb.origin("dc1", "transactions", 0, 0, "tx-0")
	tb.origin("dc1", "transactions", 0, 1, "tx-1") // no spans at all
	bad := func(name string, attrs map[string]any) tspan {
		return tspan{name: name, trace: "A", parent: "p", service: wp, cluster: "dc1", kind: ptrace.SpanKindConsumer, attrs: attrs}
	}
	dir := writeCapture(t, tb,
		[]tspan{producer("p", "A", "", tp, "transactions", 0, 0)},
		[]tspan{
			bad("bool-offset", map[string]any{AttrTopic: "transactions", AttrPartitionID: "0", AttrOffsetOld: true}),
			bad("text-partition", map[string]any{AttrTopic: "transactions", AttrPartitionID: "zero", AttrOffsetOld: int64(0)}),
			bad("no-partition", map[string]any{AttrTopic: "transactions", AttrOffsetOld: int64(0)}),
			bad("no-topic", map[string]any{AttrPartitionID: "0", AttrOffsetOld: int64(0)}),
			bad("int-topic", map[string]any{AttrTopic: int64(5), AttrPartitionID: "0", AttrOffsetOld: int64(0)}),
			bad("disagree", map[string]any{AttrTopic: "transactions", AttrPartitionID: "0", AttrOffsetOld: int64(0), AttrOffset: int64(1)}),
			bad("ok", oldRec("transactions", 0, 0)),
			{name: "self", trace: "A", parent: "self", service: wp, cluster: "dc1", kind: ptrace.SpanKindConsumer, attrs: oldRec("transactions", 0, 0)},
		},
		// no service.name: the hop cannot be attributed
		[]tspan{{name: "no-service", trace: "A", parent: "p", kind: ptrace.SpanKindConsumer, attrs: oldRec("transactions", 0, 0)}},
	)
	rep := evaluate(t, dir, Options{})
	if want := (SpanStats{Total: 10, WithRecord: 2, Malformed: 8}); rep.Spans != want {
		t.Errorf("spans = %+v, want %+v", rep.Spans, want)
	}
	checkInt(t, "events_without_spans", rep.EventsWithoutSpans, 1)
	checkInt(t, "events_with_spans", rep.EventsWithSpans, 1)
	checkAll(t, rep, edgeCounts{1, 1, 2, 1}) // only "ok" gives the hop (tx-0, withdrawal-processor)
	want := []string{
		`"bool-offset": messaging.kafka.message.offset: want an integer, got Bool`,
		`"text-partition": messaging.destination.partition.id: not an integer: "zero"`,
		`"no-partition": offset without partition`,
		`"no-topic": offset without messaging.destination.name`,
		`"int-topic": messaging.destination.name: want a string, got Int`,
		`"disagree": messaging.kafka.offset=1 disagrees with messaging.kafka.message.offset=0`,
		`"self": span is its own parent`,
		`"no-service": resource service.name missing`,
	}
	if len(rep.MalformedProblems.Samples) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(rep.MalformedProblems.Samples, "\n"))
	}
	for i, w := range want {
		if got := rep.MalformedProblems.Samples[i]; !strings.Contains(got, w) || !strings.HasPrefix(got, "spans line ") {
			t.Errorf("problem %d = %q, want it to mention %q", i, got, w)
		}
	}
}

func TestMalformedServiceName(t *testing.T) {
	tb := newTruth().consumer("dc1", "transactions", wp, "streams")
	tb.origin("dc1", "transactions", 0, 0, "tx-0")
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutInt(ResAttrServiceName, 7)
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(traceID("A"))
	s.SetSpanID(spanID("c"))
	s.SetKind(ptrace.SpanKindConsumer)
	_ = s.Attributes().FromRaw(oldRec("transactions", 0, 0))
	line, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	rep := evaluate(t, writeCapture(t, tb, line), Options{})
	checkInt(t, "spans.malformed", rep.Spans.Malformed, 1)
	checkInt(t, "edges.observed", rep.Edges.Observed, 0)
}

func TestTooLongLine(t *testing.T) {
	tb := newTruth()
	tb.origin("dc1", "transactions", 0, 0, "tx-0")
	short := tracesLine(t, producer("p", "A", "", tp, "transactions", 0, 0))
	long := tracesLine(t, producer("q", "B", "", tp, "transactions", 0, 0), producer("r", "B", "q", tp, "transactions", 0, 0))
	dir := writeCapture(t, tb, long, short, long)
	rep := evaluate(t, dir, Options{MaxLineBytes: len(short) + 10})
	if rep.Input != (InputStats{Lines: 3, MalformedLines: 2}) {
		t.Errorf("input = %+v", rep.Input)
	}
	checkInt(t, "spans.with_record", rep.Spans.WithRecord, 1)
	if !strings.Contains(rep.MalformedProblems.Samples[0], "spans line 1: longer than") {
		t.Errorf("problem = %q", rep.MalformedProblems.Samples[0])
	}
}

// Two clusters hold the same (topic, partition, offset): the span's resource cluster decides.
func TestClusterResolution(t *testing.T) {
	tb := newTruth().
		consumer("dc1", "accounts", wp, "streams").
		consumer("dc2", "accounts", wp, "streams")
	tb.origin("dc1", "accounts", 0, 0, "acct-dc1")
	tb.origin("dc2", "accounts", 0, 0, "acct-dc2")
	dir := writeCapture(t, tb,
		[]tspan{
			producer("p1", "A1", "", tp, "accounts", 0, 0).in("dc1"),
			producer("p2", "A2", "", tp, "accounts", 0, 0).in("dc2"),
			producer("p3", "A3", "", tp, "accounts", 0, 0).in("dc3"),
		},
		[]tspan{consumer("c2", "A2", "p2", wp, "accounts", 0, 0).in("dc2")},
	)
	rep := evaluate(t, dir, Options{EventDetails: true})
	if want := (SpanStats{Total: 4, WithRecord: 3, Ambiguous: 1}); rep.Spans != want {
		t.Errorf("spans = %+v, want %+v", rep.Spans, want)
	}
	checkAll(t, rep, edgeCounts{1, 1, 2, 1})
	checkInt(t, "acct-dc1 spans", rep.EventDetails[0].Spans, 1)
	checkInt(t, "acct-dc2 spans", rep.EventDetails[1].Spans, 2)
}

// Restoration and stray consumers: an observed hop the truth does not have.
func TestUnknownHopAndDuplicates(t *testing.T) {
	tb := newTruth().consumer("dc1", "transactions", wp, "streams")
	tb.origin("dc1", "transactions", 0, 0, "tx-0")
	p := producer("p", "A", "", tp, "transactions", 0, 0)
	dir := writeCapture(t, tb,
		[]tspan{p, consumer("c", "A", "p", wp, "transactions", 0, 0), consumer("stray", "A", "p", "auditor", "transactions", 0, 0)},
		[]tspan{p}, // exported twice
	)
	rep := evaluate(t, dir, Options{})
	checkInt(t, "spans.duplicate", rep.Spans.Duplicate, 1)
	checkAll(t, rep, edgeCounts{2, 1, 1, 1})
	checkType(t, rep, EdgeProducerConsumer, edgeCounts{2, 1, 1, 1})
	checkFinal(t, rep, "events=1 traces_per_event=1.00 precision=0.500 recall=1.000")
}

func TestFinalLineFormat(t *testing.T) {
	rep := &Report{Events: 120, tpeMean: 2.0 / 3.0, precision: 0.98765, recall: 1.0 / 3.0}
	checkFinal(t, rep, "events=120 traces_per_event=0.67 precision=0.988 recall=0.333")
	checkFinal(t, &Report{}, "events=0 traces_per_event=0.00 precision=0.000 recall=0.000")
}

// The JSON keys come in a fixed order, and event details only on request.
func TestReportJSON(t *testing.T) {
	rep := evaluate(t, "testdata/connected", Options{})
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	order := []string{`"scenario"`, `"config"`, `"stitched"`, `"events"`, `"events_with_spans"`, `"events_without_spans"`,
		`"traces_per_event"`, `"mean"`, `"max"`, `"histogram"`, `"edges"`, `"observed"`, `"correct"`, `"truth"`,
		`"observed_truth"`, `"precision"`, `"recall"`, `"by_type"`, `"producer_consumer"`, `"streams"`, `"state_store"`,
		`"connect"`, `"cluster"`, `"other"`, `"orphan_spans"`, `"orphan_traces"`, `"spans"`, `"with_record"`, `"noise"`,
		`"malformed"`, `"links"`, `"input"`, `"truth"`, `"manifest"`}
	pos := 0
	for _, k := range order {
		i := strings.Index(out[pos:], k+":")
		if i < 0 {
			t.Fatalf("key %s missing or out of order after offset %d:\n%s", k, pos, out)
		}
		pos += i + len(k)
	}
	if strings.Contains(out, "event_details") {
		t.Error("event_details present without Options.EventDetails")
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "{\n  \"scenario\": \"withdrawal\",\n") {
		t.Errorf("not indented as expected:\n%s", out[:60])
	}
}

// One Truth may serve several evaluations at once (it is read-only after loading).
func TestConcurrentEvaluate(t *testing.T) {
	data, err := os.ReadFile("testdata/connected/truth.json")
	if err != nil {
		t.Fatal(err)
	}
	spans, err := os.ReadFile("testdata/connected/spans.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ParseTruth(data)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	finals := make([]string, 4)
	for i := range finals {
		wg.Go(func() {
			rep, err := Evaluate(bytes.NewReader(spans), tr, Options{EventDetails: true})
			if err == nil {
				finals[i] = rep.FinalLine()
			}
		})
	}
	wg.Wait()
	for _, f := range finals {
		if f != "events=1 traces_per_event=1.00 precision=1.000 recall=1.000" {
			t.Errorf("final line %q", f)
		}
	}
}

// State restoration: a restarted Streams app reads its changelog on a StateUpdater thread. The
// restore hop is right when observed but never required (which records get restored depends on
// when the app restarted).
func TestRestoreHopsAreOptional(t *testing.T) {
	const changelog = "withdrawal-processor-balances-changelog"
	tb := newTruth().
		consumer("dc1", "transactions", wp, "streams").
		consumer("dc1", changelog, wp, "restore")
	tx := tb.origin("dc1", "transactions", 0, 1, "tx-1")
	tb.record("dc1", changelog, 0, 0, primary("state_store", tx))
	tb.record("dc1", changelog, 0, 1, primary("state_store", tx))
	dir := writeCapture(t, tb,
		[]tspan{producer("p-tx", "A", "", tp, "transactions", 0, 1)},
		[]tspan{
			consumer("c-tx", "A", "p-tx", wp, "transactions", 0, 1),
			producer("p-cl0", "A", "c-tx", wp, changelog, 0, 0),
			producer("p-cl1", "A", "c-tx", wp, changelog, 0, 1),
			consumer("restore-cl0", "A", "p-cl0", wp, changelog, 0, 0), // restored; offset 1 was not
		},
	)
	rep := evaluate(t, dir, Options{})
	// observed: hop tx, restore hop cl0, derived tx→cl0, tx→cl1; truth (required): hop tx, tx→cl0, tx→cl1.
	checkAll(t, rep, edgeCounts{4, 4, 3, 3})
	checkFinal(t, rep, "events=1 traces_per_event=1.00 precision=1.000 recall=1.000")
}

// The lineage processor's link mode adds a reverse link on the cause pointing at its effect; it
// states no lineage edge, so it must neither count as observed nor lower precision.
func TestReverseLinksAreIgnored(t *testing.T) {
	tb := newTruth().
		consumer("dc1", "transactions", wp, "streams").
		consumer("dc1", "balance-updates", oc, "consumer")
	tx := tb.origin("dc1", "transactions", 0, 1, "tx-1")
	tb.record("dc1", "balance-updates", 0, 0, primary("streams", tx))
	dir := writeCapture(t, tb,
		[]tspan{producer("p-tx", "A", "", tp, "transactions", 0, 1)},
		[]tspan{
			consumer("c-tx", "A", "p-tx", wp, "transactions", 0, 1).
				withLinks(tlink{trace: "FLUSH", span: "p-bal", reverse: true}),
			producer("p-bal", "FLUSH", "", wp, "balance-updates", 0, 0).
				withLinks(tlink{trace: "A", span: "c-tx"}),
		},
		[]tspan{consumer("c-bal", "FLUSH", "p-bal", oc, "balance-updates", 0, 0)},
	)
	rep := evaluate(t, dir, Options{})
	// observed: hops tx and bal, the forward link tx → bal; the reverse link adds nothing.
	checkAll(t, rep, edgeCounts{3, 3, 3, 3})
	checkFinal(t, rep, "events=1 traces_per_event=2.00 precision=1.000 recall=1.000")
}
