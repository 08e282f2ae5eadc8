package captureeval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Span helpers for describe tests, on top of builder_test.go.

const (
	streamThread = "withdrawal-processor-0f8fad5b-d9cb-469f-a165-70867728950e-StreamThread-1"
	stateUpdater = "withdrawal-processor-0f8fad5b-d9cb-469f-a165-70867728950e-StateUpdater-1"
)

// with returns s with extra attributes (key, value pairs).
func (s tspan) with(kv ...any) tspan {
	attrs := make(map[string]any, len(s.attrs)+len(kv)/2)
	for k, v := range s.attrs {
		attrs[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		attrs[kv[i].(string)] = kv[i+1]
	}
	s.attrs = attrs
	return s
}

func (s tspan) on(thread string) tspan { return s.with(AttrThreadName, thread) }

func (s tspan) named(display string) tspan { s.display = display; return s }

// pub and proc are producer and consumer spans named as the agent names them (old conventions).
func pub(id, trace, parent, service, topic string, partition int, offset int64) tspan {
	return producer(id, trace, parent, service, topic, partition, offset).named(topic + " publish")
}

func proc(id, trace, parent, service, topic string, partition int, offset int64) tspan {
	return consumer(id, trace, parent, service, topic, partition, offset).named(topic + " process")
}

// recordless is a span without record attributes.
func recordless(id, display, trace, parent, service string, kind ptrace.SpanKind, kv ...any) tspan {
	s := tspan{name: id, display: display, trace: trace, parent: parent, service: service, cluster: "dc1", kind: kind}
	return s.with(kv...)
}

// annotateTruth sets fields (key, role, ...) of truth records in dir/truth.json by record id.
func annotateTruth(t *testing.T, dir string, fields map[string]map[string]any) {
	t.Helper()
	path := filepath.Join(dir, TruthFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc["records"].([]any) {
		rec := r.(map[string]any)
		for k, v := range fields[rec["id"].(string)] {
			rec[k] = v
		}
	}
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func describeDir(t *testing.T, dir string, opts DescribeOptions) *Description {
	t.Helper()
	d, err := DescribeDir(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// withoutTruth removes truth.json from a capture written by writeCapture.
func withoutTruth(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, TruthFileName)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func checkStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func checkCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func checkRootClass(t *testing.T, what string, c RootClass, count, tombstones int, byTopic map[string]int) {
	t.Helper()
	checkInt(t, what+".count", c.Count, count)
	checkInt(t, what+".tombstones", c.Tombstones, tombstones)
	if byTopic != nil {
		checkCounts(t, what+".by_topic", c.ByTopic, byTopic)
	}
	checkInt(t, what+" examples", len(c.Examples), min(count, describeExamples))
}

func TestSpanShape(t *testing.T) {
	for _, tc := range []struct {
		kind        ptrace.SpanKind
		name, topic string
		want        string
	}{
		{ptrace.SpanKindProducer, "accounts publish", "accounts", "PRODUCER <topic> publish"},
		{ptrace.SpanKindConsumer, "process dc1.accounts", "dc1.accounts", "CONSUMER process <topic>"},
		{ptrace.SpanKindConsumer, "dc1.accounts process", "accounts", "CONSUMER dc1.accounts process"},
		{ptrace.SpanKindConsumer, "unknown process", "", "CONSUMER unknown process"},
		{ptrace.SpanKindServer, "GET /connectors", "", "SERVER GET /connectors"},
		{ptrace.SpanKindInternal, "x", "x", "INTERNAL <topic>"},
		{ptrace.SpanKindUnspecified, "", "", "UNSPECIFIED "},
		{ptrace.SpanKind(42), "y", "", "KIND_42 y"},
	} {
		if got := spanShape(tc.kind, tc.name, tc.topic); got != tc.want {
			t.Errorf("spanShape(%v, %q, %q) = %q, want %q", tc.kind, tc.name, tc.topic, got, tc.want)
		}
	}
	if got := normalizeUUIDs("app-0F8FAD5B-d9cb-469f-a165-70867728950e-StreamThread-1-0f8fad5b-d9cb-469f-a165-70867728950e"); got != "app-<uuid>-StreamThread-1-<uuid>" {
		t.Errorf("normalizeUUIDs = %q", got)
	}
}

// rootsCapture holds one root span of every break-point class (two for some) and two
// non-root spans.
func rootsCapture(t *testing.T) string {
	const changelog = "withdrawal-processor-balances-changelog"
	return writeCapture(t, newTruth(), []tspan{
		// other_root: a plain producer and an HTTP server span.
		pub("tx1", "T1", "", tp, "transactions", 0, 0).on("main").with(AttrMessageKey, "acct-1", AttrClientIDOld, "transaction-producer"),
		recordless("http", "GET /connectors", "T14", "", kc1, ptrace.SpanKindServer, AttrThreadName, "qtp1-31"),
		// Streams: a process span and its repartition send (not roots), then four roots.
		proc("wp-proc1", "T1", "tx1", wp, "transactions", 0, 0).on(streamThread).with(AttrMessageKey, "acct-1"),
		pub("wp-rep1", "T1", "wp-proc1", wp, "withdrawal-processor-by-type-repartition", 0, 0).on(streamThread),
		pub("wp-cl1", "T2", "", wp, changelog, 0, 0).on(streamThread).with(AttrClientIDOld, streamThread+"-producer", AttrKafkaClusterID, "abc"),
		pub("wp-cl2", "T3", "", wp, "withdrawal-processor-summary-buffer-changelog", 1, 0).on(streamThread).with(AttrTombstone, true),
		pub("wp-rep2", "T4", "", wp, "withdrawal-processor-by-type-repartition", 0, 1).on(streamThread),
		pub("wp-out1", "T5", "", wp, "balance-updates", 0, 0).on(streamThread),
		// Connect source tasks: a MirrorMaker 2 target send (alias dc1) and two others.
		pub("mm2-1", "T6", "", kc2, "dc1.transactions", 0, 0).in("dc2").on("task-thread-mm2-dc1-to-dc2-0"),
		pub("src-1", "T7", "", kc1, "accounts", 0, 0).on("task-thread-crm-accounts-source-0"),
		pub("src-2", "T15", "", kc1, "dc1x.accounts", 0, 0).on("task-thread-crm-accounts-source-0"),
		// Connect sink: a batch linking to a present and a missing span, and an empty batch.
		recordless("sink-1", "accounts process", "T8", "", kc1, ptrace.SpanKindConsumer,
			AttrTopic, "accounts", AttrBatchCount, 2, AttrThreadName, "task-thread-approved-file-sink-0").
			withLinks(tlink{trace: "T1", span: "tx1"}, tlink{trace: "T99", span: "gone"}),
		recordless("sink-empty", "unknown process", "T9", "", kc1, ptrace.SpanKindConsumer,
			AttrBatchCount, 0, AttrThreadName, "task-thread-approved-file-sink-0"),
		// A process span whose producer context was lost.
		proc("oc-root", "T10", "", oc, "balance-updates", 0, 0).on("main"),
		// Receive spans under both conventions.
		recordless("recv-1", "transactions receive", "T11", "", wp, ptrace.SpanKindConsumer, AttrTopic, "transactions", AttrBatchCount, 3),
		recordless("recv-2", "poll transactions", "T12", "", wp, ptrace.SpanKindConsumer, AttrTopic, "transactions"),
	})
}

func TestDescribeRoots(t *testing.T) {
	d := describeDir(t, withoutTruth(t, rootsCapture(t)), DescribeOptions{})
	checkInt(t, "spans.total", d.Spans.Total, 16)
	checkInt(t, "spans.described", d.Spans.Described, 16)
	checkInt(t, "spans.with_record", d.Spans.WithRecord, 11)
	checkInt(t, "spans.roots", d.Spans.Roots, 14)
	checkInt(t, "spans.traces", d.Spans.Traces, 14)
	checkInt(t, "spans.parent_missing", d.Spans.ParentMissing, 0)
	checkStrings(t, "cluster_aliases", d.ClusterAliases, []string{"dc1", "dc2"})
	if d.Truth != nil || d.Noise != nil || d.Misparenting.ByTruth != nil {
		t.Errorf("truth sections without truth.json: %v %v %v", d.Truth, d.Noise, d.Misparenting.ByTruth)
	}

	r := d.Roots
	checkInt(t, "roots.total", r.Total, 14)
	s := r.StreamsFlushOrPunctuate
	checkInt(t, "streams.count", s.Count, 4)
	checkRootClass(t, "streams.changelog", s.Changelog, 2, 1, map[string]int{
		"withdrawal-processor-balances-changelog": 1, "withdrawal-processor-summary-buffer-changelog": 1})
	checkRootClass(t, "streams.repartition", s.Repartition, 1, 0, map[string]int{"withdrawal-processor-by-type-repartition": 1})
	checkRootClass(t, "streams.other", s.Other, 1, 0, map[string]int{"balance-updates": 1})
	if ex := s.Changelog.Examples[0]; ex != (SpanExample{
		TraceID: traceID("T2").String(), SpanID: spanID("wp-cl1").String(), Service: wp,
		Name: "withdrawal-processor-balances-changelog publish", Thread: streamThread,
		Record: "withdrawal-processor-balances-changelog/0/0",
	}) {
		t.Errorf("streams.changelog example = %+v", ex)
	}
	c := r.ConnectSource
	checkInt(t, "connect_source.count", c.Count, 3)
	checkRootClass(t, "connect_source.mm2_target", c.MM2Target, 1, 0, map[string]int{"dc1.transactions": 1})
	checkRootClass(t, "connect_source.other", c.Other, 2, 0, map[string]int{"accounts": 1, "dc1x.accounts": 1})
	checkCounts(t, "connect_source.mm2_target.by_service", c.MM2Target.ByService, map[string]int{kc2: 1})
	checkRootClass(t, "receive", r.Receive, 2, 0, map[string]int{"transactions": 2})
	checkCounts(t, "receive.by_shape", r.Receive.ByShape, map[string]int{"CONSUMER <topic> receive": 1, "CONSUMER poll <topic>": 1})
	checkRootClass(t, "connect_sink", r.ConnectSink, 1, 0, map[string]int{"accounts": 1})
	checkRootClass(t, "consumer", r.Consumer, 1, 0, map[string]int{"balance-updates": 1})
	checkRootClass(t, "connect_sink_empty", r.ConnectSinkEmpty, 1, 0, map[string]int{noTopic: 1})
	checkRootClass(t, "other", r.Other, 2, 0, map[string]int{"transactions": 1, noTopic: 1})
	checkCounts(t, "other.by_shape", r.Other.ByShape, map[string]int{"PRODUCER <topic> publish": 1, "SERVER GET /connectors": 1})
	checkCounts(t, "other.by_service", r.Other.ByService, map[string]int{tp: 1, kc1: 1})

	// Shapes of the Streams service.
	svc := d.Services[wp]
	if svc == nil {
		t.Fatalf("no service %s in %v", wp, d.Services)
	}
	checkInt(t, "wp.spans", svc.Spans, 8)
	checkInt(t, "wp.roots", svc.Roots, 6)
	checkStrings(t, "wp.clusters", svc.Clusters, []string{"dc1"})
	pubShape := svc.Shapes["PRODUCER <topic> publish"]
	if pubShape == nil {
		t.Fatalf("shapes %v", svc.Shapes)
	}
	want := ShapeDescription{
		Count: 5, Roots: 4, WithPartition: 5, WithOffsetOld: 5, WithClientIDOld: 1, WithTombstone: 1, WithClusterID: 1, WithThreadName: 5,
		ThreadNames: []string{"withdrawal-processor-<uuid>-StreamThread-1"}, ThreadNamesDistinct: 1,
		ClientIDs: []string{"withdrawal-processor-<uuid>-StreamThread-1-producer"}, ClientIDsDistinct: 1,
		Scopes: []string{"io.opentelemetry.kafka-clients-2.6"},
		Topics: []string{"balance-updates", "withdrawal-processor-balances-changelog",
			"withdrawal-processor-by-type-repartition", "withdrawal-processor-summary-buffer-changelog"},
		TopicsDistinct: 4,
	}
	if !reflect.DeepEqual(*pubShape, want) {
		t.Errorf("wp PRODUCER shape\n got %+v\nwant %+v", *pubShape, want)
	}
	recv := svc.Shapes["CONSUMER <topic> receive"]
	if recv == nil || recv.Count != 1 || recv.WithBatchCount != 1 || recv.WithOffsetOld != 0 || recv.WithThreadName != 0 {
		t.Errorf("wp receive shape = %+v", recv)
	}
	sink := d.Services[kc1].Shapes["CONSUMER <topic> process"]
	if sink == nil || sink.Count != 1 || sink.WithLinks != 1 || sink.Links != 2 || sink.WithBatchCount != 1 || sink.WithPartition != 0 {
		t.Errorf("sink shape = %+v", sink)
	}

	// The links of process spans: the sink batch links to one present producer span.
	checkLinks(t, d, kc1, ProcessLinks{ProcessSpans: 2, WithLinks: 1, Links: 2, WithLinkToPresent: 1, LinksToPresent: 1, LinksToProducer: 1})
	checkLinks(t, d, wp, ProcessLinks{ProcessSpans: 1})
	checkLinks(t, d, oc, ProcessLinks{ProcessSpans: 1})
	if _, ok := d.Links[tp]; ok {
		t.Errorf("links for a service without process spans: %+v", d.Links[tp])
	}
	checkParents(t, d, wp, ParentCounts{Spans: 1, ParentIsRecordProducer: 1})
	checkParents(t, d, oc, ParentCounts{Spans: 1, Roots: 1})
	// streams children of process spans: only wp-rep1; no keys on either side but the parent.
	m := d.Misparenting
	checkInt(t, "misparenting.streams_children_of_process", m.StreamsChildrenOfProcess, 1)
	checkInt(t, "misparenting.keys_compared", m.KeysCompared, 0)
}

func checkLinks(t *testing.T, d *Description, service string, want ProcessLinks) {
	t.Helper()
	got := d.Links[service]
	if got == nil {
		t.Errorf("links[%s] missing", service)
		return
	}
	if *got != want {
		t.Errorf("links[%s]\n got %+v\nwant %+v", service, *got, want)
	}
}

func checkParents(t *testing.T, d *Description, service string, want ParentCounts) {
	t.Helper()
	got := d.ConsumerParents[service]
	if got == nil {
		t.Errorf("consumer_parents[%s] missing", service)
		return
	}
	if got.ParentCounts != want {
		t.Errorf("consumer_parents[%s]\n got %+v\nwant %+v", service, got.ParentCounts, want)
	}
}

func TestDescribeShapesV143(t *testing.T) {
	var spans []tspan
	for i := 20; i >= 0; i-- { // reverse order: the lists are sorted anyway
		topic := fmt.Sprintf("t%02d", i)
		s := tspan{name: "c" + topic, display: "process " + topic, trace: "T" + topic, service: "v143", cluster: "dc1",
			kind: ptrace.SpanKindConsumer, attrs: newRec(topic, 0, int64(i))}
		spans = append(spans, s.with(AttrGroup, "g", AttrClientID, fmt.Sprintf("consumer-g-%d", i%2),
			AttrThreadName, fmt.Sprintf("worker-%02d", i)))
	}
	d := describeDir(t, withoutTruth(t, writeCapture(t, newTruth(), spans)), DescribeOptions{})
	sh := d.Services["v143"].Shapes["CONSUMER process <topic>"]
	if sh == nil {
		t.Fatalf("shapes %v", d.Services["v143"].Shapes)
	}
	checkInt(t, "count", sh.Count, 21)
	checkInt(t, "roots", sh.Roots, 21)
	checkInt(t, "with_offset_v143", sh.WithOffsetV143, 21)
	checkInt(t, "with_offset_old", sh.WithOffsetOld, 0)
	checkInt(t, "with_group_v143", sh.WithGroupV143, 21)
	checkInt(t, "with_group_old", sh.WithGroupOld, 0)
	checkInt(t, "with_client_id_v143", sh.WithClientIDV143, 21)
	checkInt(t, "with_client_id_old", sh.WithClientIDOld, 0)
	checkStrings(t, "thread_names", sh.ThreadNames, []string{"worker-00", "worker-01", "worker-02"})
	checkInt(t, "thread_names_distinct", sh.ThreadNamesDistinct, 21)
	checkStrings(t, "client_ids", sh.ClientIDs, []string{"consumer-g-0", "consumer-g-1"})
	checkInt(t, "client_ids_distinct", sh.ClientIDsDistinct, 2)
	checkInt(t, "topics_distinct", sh.TopicsDistinct, 21)
	if len(sh.Topics) != maxShapeTopics || sh.Topics[0] != "t00" || sh.Topics[19] != "t19" {
		t.Errorf("topics = %q", sh.Topics)
	}
	checkRootClass(t, "consumer_root", d.Roots.Consumer, 21, 0, nil)
	checkInt(t, "consumer_root.by_topic", len(d.Roots.Consumer.ByTopic), 21)
}

func TestDescribeMisparenting(t *testing.T) {
	tb := newTruth()
	tx0 := tb.origin("dc1", "transactions", 0, 0, "tx-0")
	tx1 := tb.origin("dc1", "transactions", 0, 1, "tx-1")
	bu0 := tb.record("dc1", "balance-updates", 0, 0, primary("streams", tx0))
	bu1 := tb.record("dc1", "balance-updates", 0, 1, primary("streams", tx0))
	rep0 := tb.record("dc1", "withdrawal-processor-by-type-repartition", 0, 0, primary("streams", tx0))
	const changelog = "withdrawal-processor-balances-changelog"
	dir := writeCapture(t, tb, []tspan{
		pub("tx0", "T1", "", tp, "transactions", 0, 0).on("main").with(AttrMessageKey, "acct-1"),
		pub("tx1", "T2", "", tp, "transactions", 0, 1).on("main").with(AttrMessageKey, "acct-2"),
		proc("p0", "T1", "tx0", wp, "transactions", 0, 0).on(streamThread).with(AttrMessageKey, "acct-1"),
		proc("p1", "T2", "tx1", wp, "transactions", 0, 1).on(streamThread).with(AttrMessageKey, "acct-2"),
		// Same key (from the truth), parent is the truth parent.
		pub("bu0", "T1", "p0", wp, "balance-updates", 0, 0).on(streamThread),
		// Re-keyed (repartition), parent is the truth parent.
		pub("rep0", "T1", "p0", wp, "withdrawal-processor-by-type-repartition", 0, 0).on(streamThread),
		// Emitted while an unrelated record was processed: different key, not a truth ancestor.
		pub("bu1", "T2", "p1", wp, "balance-updates", 0, 1).on(streamThread),
		// No key anywhere: counted as a child, not compared.
		pub("nokey", "T1", "p0", wp, "unknown-topic", 0, 0).on(streamThread),
		// Not on a StreamThread: ignored.
		pub("elsewhere", "T1", "p0", wp, "balance-updates", 0, 9).on("main"),
		// State restoration: parent missing, root, parent present.
		proc("r1", "T20", "gone", wp, changelog, 0, 0).on(stateUpdater),
		proc("r2", "T21", "", wp, changelog, 0, 1).on("withdrawal-processor-StateUpdater-2"),
		proc("r3", "T1", "bu0", wp, changelog, 0, 2).on("x").with(AttrClientIDOld, streamThread+"-restore-consumer"),
	})
	annotateTruth(t, dir, map[string]map[string]any{
		tx0: {"key": "acct-1", "role": "origin"}, tx1: {"key": "acct-2", "role": "origin"},
		bu0: {"key": "acct-1", "role": "output"}, bu1: {"key": "acct-1", "role": "output"},
		rep0: {"key": "withdrawal", "role": "intermediate"},
	})
	d := describeDir(t, dir, DescribeOptions{})
	m := d.Misparenting
	checkInt(t, "streams_children_of_process", m.StreamsChildrenOfProcess, 4)
	checkInt(t, "keys_compared", m.KeysCompared, 3)
	checkInt(t, "same_key", m.SameKey, 1)
	checkInt(t, "different_key", m.DifferentKey, 2)
	checkCounts(t, "different_key_by_edge", m.DifferentKeyByEdge, map[string]int{
		"transactions -> withdrawal-processor-by-type-repartition": 1, "transactions -> balance-updates": 1})
	checkInt(t, "different_key_examples", len(m.DifferentKeyExamples), 2)
	bt := m.ByTruth
	if bt == nil {
		t.Fatal("by_truth missing")
	}
	checkInt(t, "by_truth.checked", bt.Checked, 3)
	checkInt(t, "by_truth.parent_is_ancestor", bt.ParentIsAncestor, 2)
	checkInt(t, "by_truth.parent_not_ancestor", bt.ParentNotAncestor, 1)
	checkCounts(t, "by_truth.not_ancestor_by_edge", bt.NotAncestorByEdge, map[string]int{"transactions -> balance-updates": 1})
	if len(bt.Examples) != 1 {
		t.Fatalf("by_truth.examples = %+v", bt.Examples)
	}
	want := MisparentExample{
		SpanExample: SpanExample{TraceID: traceID("T2").String(), SpanID: spanID("bu1").String(), Service: wp,
			Name: "balance-updates publish", Thread: streamThread, Record: "balance-updates/0/1"},
		Key: "acct-1", ParentSpanID: spanID("p1").String(), ParentName: "transactions process",
		ParentRecord: "transactions/0/1", ParentKey: "acct-2",
	}
	if bt.Examples[0] != want {
		t.Errorf("by_truth example\n got %+v\nwant %+v", bt.Examples[0], want)
	}
	rs := m.StateRestoration
	checkInt(t, "state_restoration.spans", rs.Spans, 3)
	checkInt(t, "state_restoration.roots", rs.Roots, 1)
	checkInt(t, "state_restoration.parent_present", rs.ParentPresent, 1)
	checkInt(t, "state_restoration.parent_missing", rs.ParentMissing, 1)
	checkCounts(t, "state_restoration.by_topic", rs.ByTopic, map[string]int{changelog: 3})
	checkInt(t, "spans.parent_missing", d.Spans.ParentMissing, 1)
	// The restoration spans, nokey and elsewhere name records the truth lacks.
	n := d.Noise
	checkInt(t, "noise.spans", n.Spans, 4)
	checkCounts(t, "noise.by_topic", n.ByTopic, map[string]int{changelog: 3, "unknown-topic": 1})
	checkInt(t, "noise.unrecorded", n.Unrecorded, 1)
	checkCounts(t, "noise.unrecorded_by_topic", n.UnrecordedByTopic, map[string]int{"balance-updates": 1})
	// p0 and p1 are children of their records' producers; r3 is parented to another record's producer.
	checkParents(t, d, wp, ParentCounts{Spans: 5, Roots: 1, ParentMissing: 1, ParentIsRecordProducer: 2, ParentOther: 1})
	checkCounts(t, "consumer_parents.parent_other_by_shape", d.ConsumerParents[wp].ParentOtherByShape,
		map[string]int{"PRODUCER <topic> publish": 1})
	checkCounts(t, "consumer_parents.parent_other_by_topic", d.ConsumerParents[wp].ParentOtherByTopic,
		map[string]int{"balance-updates": 1})
	checkInt(t, "consumer_parents.parent_other_truth_ancestor", d.ConsumerParents[wp].ParentOtherTruthAncestor, 0)
}

func TestDescribeLinksV143(t *testing.T) {
	v143 := func(id, display, trace, parent, service string, kind ptrace.SpanKind, topic string, offset int64) tspan {
		return tspan{name: id, display: display, trace: trace, parent: parent, service: service, cluster: "dc1",
			kind: kind, attrs: newRec(topic, 0, offset)}
	}
	dir := writeCapture(t, newTruth(), []tspan{
		v143("pr", "send orders", "T1", "", "shop", ptrace.SpanKindProducer, "orders", 0),
		// Child of and linked to its producer (v1.43).
		v143("pc", "process orders", "T1", "pr", "svc", ptrace.SpanKindConsumer, "orders", 0).withLinks(tlink{trace: "T1", span: "pr"}),
		// Producer context lost, link to a span the capture lacks.
		v143("pc2", "process orders", "T2", "", "svc", ptrace.SpanKindConsumer, "orders", 1).withLinks(tlink{trace: "T0", span: "gone"}),
		// Child of a receive span; child of a missing span.
		recordless("rcv", "receive orders", "T3", "", "svc", ptrace.SpanKindConsumer, AttrTopic, "orders"),
		v143("pc3", "process orders", "T3", "rcv", "svc", ptrace.SpanKindConsumer, "orders", 2),
		v143("pc4", "process orders", "T4", "gone", "svc", ptrace.SpanKindConsumer, "orders", 3),
		// A sink batch linking to a present producer and a missing span.
		recordless("sink", "orders process", "T5", "", "sink", ptrace.SpanKindConsumer, AttrTopic, "orders", AttrBatchCount, 2).
			withLinks(tlink{trace: "T1", span: "pr"}, tlink{trace: "T9", span: "nowhere"}),
	})
	d := describeDir(t, withoutTruth(t, dir), DescribeOptions{})
	checkLinks(t, d, "svc", ProcessLinks{ProcessSpans: 4, WithLinks: 2, Links: 2, WithLinkToPresent: 1, LinksToPresent: 1,
		LinksToProducer: 1, WithLinkEqualParent: 1, LinksEqualParent: 1})
	checkLinks(t, d, "sink", ProcessLinks{ProcessSpans: 1, WithLinks: 1, Links: 2, WithLinkToPresent: 1, LinksToPresent: 1, LinksToProducer: 1})
	checkParents(t, d, "svc", ParentCounts{Spans: 4, Roots: 1, ParentMissing: 1, ParentIsRecordProducer: 1, ParentOther: 1})
	cp := d.ConsumerParents["svc"]
	checkCounts(t, "parent_other_by_shape", cp.ParentOtherByShape, map[string]int{"CONSUMER receive <topic>": 1})
	if bt := cp.ByTopic["orders"]; bt == nil || *bt != cp.ParentCounts {
		t.Errorf("by_topic[orders] = %+v", bt)
	}
	checkRootClass(t, "consumer_root", d.Roots.Consumer, 1, 0, map[string]int{"orders": 1})
	checkRootClass(t, "connect_sink", d.Roots.ConnectSink, 1, 0, map[string]int{"orders": 1})
	checkRootClass(t, "receive", d.Roots.Receive, 1, 0, map[string]int{"orders": 1})
	checkRootClass(t, "other", d.Roots.Other, 1, 0, map[string]int{"orders": 1})
	if sh := d.Services["shop"].Shapes["PRODUCER send <topic>"]; sh == nil || sh.WithOffsetV143 != 1 {
		t.Errorf("shop shapes %v", d.Services["shop"].Shapes)
	}
}

func TestDescribeTruthCoverage(t *testing.T) {
	tb := newTruth()
	tx0 := tb.origin("dc1", "transactions", 0, 0, "tx-0")
	tx1 := tb.origin("dc1", "transactions", 0, 1, "tx-1")
	bu0 := tb.record("dc1", "balance-updates", 0, 0, primary("streams", tx0))
	wa0 := tb.record("dc1", "withdrawals-approved", 0, 0, primary("streams", tx0))
	rp0 := tb.record("dc1", "withdrawal-processor-by-type-repartition", 0, 0, primary("streams", tx0))
	x1 := tb.record("dc1", "x", 0, 0)
	x2 := tb.record("dc2", "x", 0, 0)
	dir := writeCapture(t, tb, []tspan{
		pub("tx0", "T1", "", tp, "transactions", 0, 0),
		proc("c-tx0", "T1", "tx0", wp, "transactions", 0, 0),
		pub("bu0", "T2", "", wp, "balance-updates", 0, 0),
		pub("wa0", "T1", "c-tx0", wp, "withdrawals-approved", 0, 0),
		// Parented to its truth ancestor's producer (a traceparent forwarded by Streams).
		proc("c-rp0", "T1", "tx0", wp, "withdrawal-processor-by-type-repartition", 0, 0),
		// Noise, unrecorded, ambiguous and topic-less spans.
		pub("offsets", "T4", "", kc1, "connect-dc1-offsets", 0, 5),
		proc("hb", "T5", "", kc1, "heartbeats", 0, 0),
		recordless("hb-poll", "heartbeats receive", "T5", "", kc1, ptrace.SpanKindConsumer, AttrTopic, "heartbeats"),
		pub("late", "T6", "", tp, "transactions", 0, 7),
		pub("amb", "T7", "", kc1, "x", 0, 0).in("dc3"),
		recordless("http", "GET", "T8", "", kc1, ptrace.SpanKindServer),
	})
	annotateTruth(t, dir, map[string]map[string]any{
		tx0: {"role": "origin"}, tx1: {"role": "origin", "key": 5}, bu0: {"role": "output"}, wa0: {"role": "output"},
		rp0: {"role": "intermediate", "key": nil}, x1: {"role": 7}, x2: {"role": "origin"},
	})
	d := describeDir(t, dir, DescribeOptions{})
	cov := d.Truth
	if cov == nil {
		t.Fatal("truth coverage missing")
	}
	checkInt(t, "truth.records", cov.Records, 7)
	wantRoles := map[string]RecordCoverage{
		"origin":       {Records: 3, WithProducerSpan: 1, ProducerSpanRoot: 1, WithConsumerSpan: 1},
		"output":       {Records: 2, WithProducerSpan: 2, ProducerSpanRoot: 1},
		"intermediate": {Records: 1, WithConsumerSpan: 1},
		noTopic:        {Records: 1},
	}
	checkCoverage(t, "by_role", cov.ByRole, wantRoles)
	wantTopics := map[string]RecordCoverage{
		"dc1/transactions":                             {Role: "origin", Records: 2, WithProducerSpan: 1, ProducerSpanRoot: 1, WithConsumerSpan: 1},
		"dc1/balance-updates":                          {Role: "output", Records: 1, WithProducerSpan: 1, ProducerSpanRoot: 1},
		"dc1/withdrawals-approved":                     {Role: "output", Records: 1, WithProducerSpan: 1},
		"dc1/withdrawal-processor-by-type-repartition": {Role: "intermediate", Records: 1, WithConsumerSpan: 1},
		"dc1/x": {Role: noTopic, Records: 1},
		"dc2/x": {Role: "origin", Records: 1},
	}
	checkCoverage(t, "by_topic", cov.ByTopic, wantTopics)
	n := d.Noise
	checkInt(t, "noise.spans", n.Spans, 3)
	checkCounts(t, "noise.by_topic", n.ByTopic, map[string]int{"connect-dc1-offsets": 1, "heartbeats": 2})
	checkInt(t, "noise.unrecorded", n.Unrecorded, 1)
	checkCounts(t, "noise.unrecorded_by_topic", n.UnrecordedByTopic, map[string]int{"transactions": 1})
	checkInt(t, "noise.ambiguous", n.Ambiguous, 1)
	checkStrings(t, "cluster_aliases", d.ClusterAliases, []string{"dc1", "dc2", "dc3"})
	checkInt(t, "truth problems", d.TruthProblems.Count, 0)
	checkParents(t, d, wp, ParentCounts{Spans: 2, ParentIsRecordProducer: 1, ParentOther: 1})
	checkCounts(t, "parent_other_by_topic", d.ConsumerParents[wp].ParentOtherByTopic, map[string]int{"transactions": 1})
	checkInt(t, "parent_other_truth_ancestor", d.ConsumerParents[wp].ParentOtherTruthAncestor, 1)
}

func checkCoverage(t *testing.T, what string, got map[string]*RecordCoverage, want map[string]RecordCoverage) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d entries, want %d: %v", what, len(got), len(want), got)
	}
	for k, w := range want {
		if g := got[k]; g == nil || *g != w {
			t.Errorf("%s[%s] = %+v, want %+v", what, k, g, w)
		}
	}
}

func TestDescribeMalformed(t *testing.T) {
	good := tracesLine(t,
		pub("tx0", "T1", "", tp, "transactions", 0, 0),
		proc("c0", "T1", "tx0", wp, "transactions", 0, 0),
	)
	const hexT, hexS = "0102030405060708090a0b0c0d0e0f10", "0102030405060708"
	raw := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"intValue":"3"}}]},` +
		`"scopeSpans":[{"scope":{"name":"s","version":"1"},"spans":[` +
		`{"traceId":"","spanId":"","name":"no ids"},` +
		`{"traceId":"` + hexT + `","spanId":"` + hexS + `","parentSpanId":"` + hexS + `","name":"self","kind":4,` +
		`"attributes":[{"key":"messaging.destination.name","value":{"stringValue":"t"}},` +
		`{"key":"messaging.kafka.message.offset","value":{"stringValue":"abc"}},` +
		`{"key":"thread.name","value":{"intValue":"7"}},` +
		`{"key":"messaging.batch.message_count","value":{"stringValue":"x"}}]}]}]}]}`
	dir := writeCapture(t, newTruth(), good, "not json", raw, good, "", "[]")
	d := describeDir(t, withoutTruth(t, dir), DescribeOptions{})
	checkInt(t, "input.lines", d.Input.Lines, 5)
	checkInt(t, "input.malformed_lines", d.Input.MalformedLines, 2)
	checkInt(t, "spans.total", d.Spans.Total, 6)
	checkInt(t, "spans.described", d.Spans.Described, 3)
	checkInt(t, "spans.empty_ids", d.Spans.EmptyIDs, 1)
	checkInt(t, "spans.duplicate", d.Spans.Duplicate, 2)
	checkInt(t, "spans.self_parent", d.Spans.SelfParent, 1)
	checkInt(t, "spans.bad_record_attributes", d.Spans.BadRecordAttributes, 1)
	checkInt(t, "spans.with_record", d.Spans.WithRecord, 2)
	checkInt(t, "spans.roots", d.Spans.Roots, 2)
	// 2 malformed lines, empty ids, self parent, bad offset.
	checkInt(t, "problems", d.Problems.Count, 5)
	svc := d.Services["(invalid service.name)"]
	if svc == nil {
		t.Fatalf("services %v", d.Services)
	}
	sh := svc.Shapes["PRODUCER self"]
	if sh == nil || sh.Count != 1 || sh.Roots != 1 || sh.WithOffsetOld != 1 || sh.WithBatchCount != 1 ||
		!reflect.DeepEqual(sh.ThreadNames, []string{"7"}) || !reflect.DeepEqual(sh.Scopes, []string{"s 1"}) {
		t.Errorf("shape = %+v", sh)
	}
	checkRootClass(t, "other", d.Roots.Other, 2, 0, map[string]int{"transactions": 1, "t": 1})
}

func TestDescribeDirInputs(t *testing.T) {
	dir := rootsCapture(t)
	// Without truth.json and manifest.json.
	noTruth := t.TempDir()
	data, err := os.ReadFile(filepath.Join(dir, SpansFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noTruth, SpansFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	d := describeDir(t, noTruth, DescribeOptions{})
	if d.Truth != nil || d.Scenario != "" || d.Spans.Total != 16 {
		t.Errorf("no truth: truth %v, scenario %q, spans %d", d.Truth, d.Scenario, d.Spans.Total)
	}
	// A manifest: versions, scenario, clusters and -Dotel switches.
	manifest := `{"scenario":"multicluster","config":"c","agent_version":"2.33.1","kafka_version":4,
	"clusters":{"dc1":"x","dc9":"y"},
	"services":{"svc":{"jvm_switches":["-javaagent:a.jar","-Dotel.service.name=svc","-Dotel.resource.attributes=a=b",
	"-Dotel.exporter.otlp.endpoint=http://x","-Dotel.metrics.exporter=none","-Dotel.semconv-stability.preview=messaging"]},
	"bare":{},"odd":[1]}}`
	if err := os.WriteFile(filepath.Join(noTruth, ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	d = describeDir(t, noTruth, DescribeOptions{})
	if d.Scenario != "multicluster" || d.Config != "c" || d.AgentVersion != "2.33.1" || d.KafkaVersion != "" {
		t.Errorf("manifest fields: %q %q %q %q", d.Scenario, d.Config, d.AgentVersion, d.KafkaVersion)
	}
	if want := map[string][]string{"svc": {"-Dotel.semconv-stability.preview=messaging"}, "bare": {}}; !reflect.DeepEqual(d.OtelSwitches, want) {
		t.Errorf("otel_switches = %q", d.OtelSwitches)
	}
	checkStrings(t, "cluster_aliases", d.ClusterAliases, []string{"dc1", "dc2", "dc9"})
	checkInt(t, "truth problems (odd service)", d.TruthProblems.Count, 1)
	// Truth values win over the manifest's.
	d = describeDir(t, dir, DescribeOptions{})
	if d.Scenario != "withdrawal" || d.Config != "a" || d.Truth == nil {
		t.Errorf("with truth: %q %q %v", d.Scenario, d.Config, d.Truth)
	}
	// A manifest that is not an object is a problem, not an error.
	if err := os.WriteFile(filepath.Join(noTruth, ManifestFile), []byte("[1"), 0o644); err != nil {
		t.Fatal(err)
	}
	d = describeDir(t, noTruth, DescribeOptions{})
	checkInt(t, "truth problems (bad manifest)", d.TruthProblems.Count, 1)
	// Errors: no spans.jsonl; a truth.json that cannot be decoded.
	if _, err := DescribeDir(t.TempDir(), DescribeOptions{}); err == nil || !strings.Contains(err.Error(), SpansFile) {
		t.Errorf("no spans: err %v", err)
	}
	if err := os.WriteFile(filepath.Join(noTruth, TruthFileName), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := DescribeDir(noTruth, DescribeOptions{}); err == nil || !strings.Contains(err.Error(), TruthFileName) {
		t.Errorf("bad truth: err %v", err)
	}
	if _, err := Describe(strings.NewReader(""), []byte(`{"schema_version":2}`), nil, DescribeOptions{}); err == nil {
		t.Error("Describe: unsupported truth schema accepted")
	}
}

func TestDescribeStitch(t *testing.T) {
	dir := rootsCapture(t)
	calls := 0
	unparent := func(td ptrace.Traces) (ptrace.Traces, error) {
		calls++
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					spans.At(k).SetParentSpanID([8]byte{})
				}
			}
		}
		return td, nil
	}
	d := describeDir(t, dir, DescribeOptions{Stitch: unparent})
	if calls != 1 || !d.Stitched {
		t.Fatalf("calls %d, stitched %v", calls, d.Stitched)
	}
	checkInt(t, "roots", d.Spans.Roots, 16)
	checkInt(t, "streams.repartition", d.Roots.StreamsFlushOrPunctuate.Repartition.Count, 2)
}

func TestDescribeJSONDeterministic(t *testing.T) {
	dir := rootsCapture(t)
	var outs [2]bytes.Buffer
	for i := range outs {
		if err := describeDir(t, dir, DescribeOptions{}).WriteJSON(&outs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
		t.Fatal("two descriptions of one capture differ")
	}
	out := outs[0].String()
	var doc map[string]any
	if err := json.Unmarshal(outs[0].Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// Top-level key order and a few nested keys.
	last := -1
	for _, k := range []string{"scenario", "config", "agent_version", "kafka_version", "stitched", "otel_switches",
		"cluster_aliases", "input", "spans", "services", "roots", "misparenting", "links", "consumer_parents",
		"truth", "noise"} {
		i := strings.Index(out, "\n  \""+k+"\":")
		if i <= last {
			t.Errorf("key %q at %d, after %d", k, i, last)
		}
		last = i
	}
	for _, k := range []string{`"streams_flush_or_punctuate_root"`, `"mm2_target"`, `"connect_sink_root"`,
		`"with_offset_v143"`, `"with_group_old"`, `"thread_names"`, `"by_truth"`, `"state_restoration"`,
		`"with_link_equal_to_parent"`, `"by_role"`} {
		if !strings.Contains(out, k) {
			t.Errorf("output lacks %s", k)
		}
	}
}

// checkDescriptionInvariants holds for any description, whatever the input.
func checkDescriptionInvariants(t *testing.T, d *Description) {
	t.Helper()
	s := d.Spans
	if s.Described != s.Total-s.EmptyIDs-s.Duplicate || s.Roots+s.ParentMissing > s.Described || s.WithRecord > s.Described {
		t.Fatalf("span counts inconsistent: %+v", s)
	}
	r := d.Roots
	sum := r.StreamsFlushOrPunctuate.Count + r.ConnectSource.Count + r.Receive.Count + r.ConnectSink.Count +
		r.Consumer.Count + r.ConnectSinkEmpty.Count + r.Other.Count
	st, cs := r.StreamsFlushOrPunctuate, r.ConnectSource
	if r.Total != s.Roots || sum != r.Total || st.Count != st.Changelog.Count+st.Repartition.Count+st.Other.Count ||
		cs.Count != cs.MM2Target.Count+cs.Other.Count {
		t.Fatalf("root classes do not add up: total %d, sum %d, roots %d", r.Total, sum, s.Roots)
	}
	spans := 0
	for _, svc := range d.Services {
		spans += svc.Spans
		n := 0
		for _, sh := range svc.Shapes {
			n += sh.Count
			if sh.Roots > sh.Count || len(sh.ThreadNames) > describeExamples || len(sh.Topics) > maxShapeTopics {
				t.Fatalf("shape inconsistent: %+v", sh)
			}
		}
		if n != svc.Spans {
			t.Fatalf("shapes of a service add up to %d, want %d", n, svc.Spans)
		}
	}
	if spans != s.Described {
		t.Fatalf("services add up to %d spans, want %d", spans, s.Described)
	}
	var a, b bytes.Buffer
	if err := d.WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteJSON(&b); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) || !json.Valid(a.Bytes()) {
		t.Fatalf("JSON output unstable or invalid (%v)", err)
	}
}

func FuzzDescribe(f *testing.F) {
	spans, err := os.ReadFile("testdata/connected/spans.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	truth, err := os.ReadFile("testdata/connected/truth.json")
	if err != nil {
		f.Fatal(err)
	}
	manifest, err := os.ReadFile("testdata/connected/manifest.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(spans, truth, manifest)
	f.Add(tracesLine(f,
		pub("p", "A", "", wp, "x-changelog", 0, 5).on(streamThread).withLinks(tlink{trace: "A", span: "p"}),
		proc("c", "A", "p", wp, "x-changelog", 0, 5).on(stateUpdater),
		recordless("s", "unknown process", "S", "", kc1, ptrace.SpanKindConsumer, AttrBatchCount, 0).withLinks(tlink{trace: "A", span: "p"})),
		[]byte(`{"records":[{"cluster":"dc1","topic":"x-changelog","partition":0,"offset":5,"key":1,"role":["r"]}]}`),
		[]byte(`{"clusters":{"dc1":1},"services":{"a":{"jvm_switches":["-Dotel.x=1"]}}}`))
	f.Add([]byte("null\n[1]\n{}\r\n\n{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"\"}]}]}]}"), []byte(nil), []byte("[]"))
	f.Fuzz(func(t *testing.T, spans, truth, manifest []byte) {
		if len(truth) == 0 {
			truth = nil
		}
		if len(manifest) == 0 {
			manifest = nil
		}
		d, err := Describe(bytes.NewReader(spans), truth, manifest, DescribeOptions{MaxLineBytes: 1 << 12})
		if err != nil {
			if truth == nil {
				t.Fatalf("error without truth: %v", err)
			}
			if _, terr := ParseTruth(truth); terr == nil {
				t.Fatalf("error with a valid truth: %v", err)
			}
			return
		}
		checkDescriptionInvariants(t, d)
		if (d.Truth == nil) != (truth == nil) || (d.Noise == nil) != (truth == nil) {
			t.Fatalf("truth sections %v/%v with truth %v", d.Truth, d.Noise, truth != nil)
		}
	})
}
