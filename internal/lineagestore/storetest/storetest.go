package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Run runs the whole suite against stores open returns, each subtest on a fresh store.
func Run(t *testing.T, open func(t *testing.T) lineagestore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lineagestore.Store)
	}{
		{"WriteAndEvent", testWriteAndEvent},
		{"Idempotent", testIdempotent},
		{"EventMergeRules", testEventMergeRules},
		{"EdgesBeforeEvents", testEdgesBeforeEvents},
		{"EdgeMergeRule", testEdgeMergeRule},
		{"PendingEdges", testPendingEdges},
		{"ClusterNames", testClusterNames},
		{"FindEventsFilters", testFindEventsFilters},
		{"Pagination", testPagination},
		{"Lineage", testLineage},
		{"LineageCycleAndBounds", testLineageCycleAndBounds},
		{"Topology", testTopology},
		{"Outliers", testOutliers},
		{"RetentionByCount", testRetentionByCount},
		{"RetentionByAge", testRetentionByAge},
		{"Concurrent", testConcurrent},
		{"ConcurrentPendingEdges", testConcurrentPendingEdges},
		{"NoSelfEdges", testNoSelfEdges},
		{"HugeAndUnicode", testHugeAndUnicode},
		{"Validation", testValidation},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { require.NoError(t, s.Close()) })
			tc.fn(t, s)
		})
	}
}

func write(t *testing.T, s lineagestore.Store, b lineagestore.Batch) {
	t.Helper()
	require.NoError(t, s.Write(context.Background(), &b))
}

func event(t *testing.T, s lineagestore.Store, id lineagestore.RecordID) lineagestore.EventDetail {
	t.Helper()
	d, err := s.Event(context.Background(), id)
	require.NoError(t, err, "event %s", id)
	return d
}

func all(t *testing.T, s lineagestore.Store, q lineagestore.EventQuery) []lineagestore.Event {
	t.Helper()
	q.Limit = lineagestore.MaxPageSize
	var out []lineagestore.Event
	for {
		p, err := s.FindEvents(context.Background(), q)
		require.NoError(t, err)
		out = append(out, p.Events...)
		if p.NextPageToken == "" {
			return out
		}
		q.PageToken = p.NextPageToken
	}
}

func recordsOf(es []lineagestore.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Record.String()
	}
	return out
}

func testWriteAndEvent(t *testing.T, s lineagestore.Store) {
	var g ids
	j := newJourney(&g, 4, 0, 12)
	write(t, s, j.batch)

	d := event(t, s, j.tx)
	assert.Equal(t, j.batch.Events[0].Record, d.Event.Record)
	assert.Equal(t, dc1, d.Event.ClusterName)
	assert.Equal(t, producerSvc, d.Event.Producer)
	assert.Equal(t, j.trace, d.Event.TraceID)
	assert.True(t, d.Event.ProducedAt.Equal(at(0)), "produced at %s", d.Event.ProducedAt)
	assert.True(t, d.Event.Timestamp.Equal(at(0)))
	assert.Equal(t, j.batch.Events[0].KeyHash, d.Event.KeyHash)
	// Touchpoints of the transaction by start: produce (0), MirrorMaker's consume (30), the processor's consume (12)
	// and its state-store put (13).
	var ops []string
	for _, tp := range d.Touchpoints {
		ops = append(ops, tp.Kind+":"+tp.Service)
		assert.Equal(t, j.tx, tp.Record)
	}
	assert.Equal(t, []string{"produce:" + producerSvc, "consume:" + processorSvc, "state_store:" + processorSvc, "consume:" + connectDC2Svc}, ops)
	put := d.Touchpoints[2]
	assert.Equal(t, balancesStore, put.StateStore)
	assert.Equal(t, "put", put.StoreOperation)
	assert.Equal(t, "state_store", put.Rule)
	assert.Equal(t, j.consumeSpan, put.ParentSpanID)
	assert.True(t, put.Start.Equal(at(13)) && put.End.Equal(at(13)))
	assert.Equal(t, mm2Connector, d.Touchpoints[3].Connector)
	assert.Equal(t, dc2, d.Touchpoints[3].ClusterName)
	assert.Empty(t, d.Inputs)
	require.Len(t, d.Outputs, 3)
	outs := map[string]lineagestore.Edge{}
	for _, e := range d.Outputs {
		assert.Equal(t, j.tx, e.From)
		outs[e.To.Topic] = e
	}
	assert.Equal(t, lineagestore.DerivationMeasured, outs["balance-updates"].Derivation)
	assert.Equal(t, lineagestore.DerivationDerived, outs["withdrawal-processor-balances-changelog"].Derivation)
	assert.Equal(t, "state_store", outs["withdrawal-processor-balances-changelog"].Rule)
	assert.Equal(t, j.trace, outs["dc1.transactions"].TraceID)

	m := event(t, s, j.mirrored)
	assert.Equal(t, dc2, m.Event.ClusterName)
	require.Len(t, m.Inputs, 1)
	assert.Equal(t, j.tx, m.Inputs[0].From)
	assert.Empty(t, m.Outputs)

	_, err := s.Event(context.Background(), rec(dc1ID, "transactions", 0, 999))
	require.ErrorIs(t, err, lineagestore.ErrNotFound)
	require.NoError(t, s.Write(context.Background(), &lineagestore.Batch{}), "an empty batch is a no-op")
}

func testIdempotent(t *testing.T, s lineagestore.Store) {
	var g ids
	var b lineagestore.Batch
	for i := int64(0); i < 10; i++ {
		j := newJourney(&g, i, float64(i)*100, 10)
		b.Clusters = j.batch.Clusters
		b.Events = append(b.Events, j.batch.Events...)
		b.Touchpoints = append(b.Touchpoints, j.batch.Touchpoints...)
		b.Edges = append(b.Edges, j.batch.Edges...)
	}
	// The same items twice within one batch, then the whole batch twice.
	b.Touchpoints = append(b.Touchpoints, b.Touchpoints[:5]...)
	b.Edges = append(b.Edges, b.Edges[:5]...)
	b.Events = append(b.Events, b.Events[:5]...)
	write(t, s, b)
	first := all(t, s, lineagestore.EventQuery{})
	d1 := event(t, s, b.Events[0].Record)
	topo1, err := s.Topology(context.Background(), lineagestore.TopologyQuery{})
	require.NoError(t, err)
	write(t, s, b)
	write(t, s, b)
	assert.Equal(t, first, all(t, s, lineagestore.EventQuery{}))
	assert.Len(t, first, 40)
	assert.Equal(t, d1, event(t, s, b.Events[0].Record))
	assert.Len(t, d1.Touchpoints, 4)
	topo2, err := s.Topology(context.Background(), lineagestore.TopologyQuery{})
	require.NoError(t, err)
	assert.Equal(t, topo1, topo2)
}

func testEventMergeRules(t *testing.T, s lineagestore.Store) {
	r := rec(dc1ID, "transactions", 1, 7)
	// A consumer saw it first: only the coordinates.
	write(t, s, lineagestore.Batch{Touchpoints: []lineagestore.Touchpoint{{Record: r, TraceID: "t1", SpanID: "s1",
		Service: consumerSvc, Kind: lineagestore.KindConsume, Start: at(50)}}})
	d := event(t, s, r)
	assert.Equal(t, lineagestore.Event{Record: r}, d.Event, "coordinates only")
	// The record fact brings key hash, timestamp and tombstone.
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: r, KeyHash: "ab12", Timestamp: at(1), Tombstone: true}}})
	// The producer span brings produce time, trace and producer, and disagrees about the key hash
	// and the timestamp: the stored values stay.
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: r, KeyHash: "ffff", Timestamp: at(2),
		ProducedAt: at(3), TraceID: "t0", Producer: producerSvc}}})
	// An empty write clears nothing.
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: r}}})
	d = event(t, s, r)
	assert.Equal(t, "ab12", d.Event.KeyHash)
	assert.True(t, d.Event.Timestamp.Equal(at(1)))
	assert.True(t, d.Event.ProducedAt.Equal(at(3)))
	assert.Equal(t, "t0", d.Event.TraceID)
	assert.Equal(t, producerSvc, d.Event.Producer)
	assert.True(t, d.Event.Tombstone)
	// FindEvents orders by the produce time now that it is known (3 ms), not the timestamp.
	page, err := s.FindEvents(context.Background(), lineagestore.EventQuery{From: at(2.5), To: at(3.5), Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []string{r.String()}, recordsOf(page.Events))

	// Within one batch the first non-empty value wins too.
	r2 := rec(dc1ID, "transactions", 2, 7)
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{
		{Record: r2, Producer: producerSvc}, {Record: r2, Producer: "other", KeyHash: "cd"}, {Record: r2, Timestamp: at(9)},
	}})
	d = event(t, s, r2)
	assert.Equal(t, producerSvc, d.Event.Producer)
	assert.Equal(t, "cd", d.Event.KeyHash)
	assert.True(t, d.Event.Timestamp.Equal(at(9)))
	assert.False(t, d.Event.Tombstone)
}

func testEdgesBeforeEvents(t *testing.T, s lineagestore.Store) {
	in, out := rec(dc1ID, "transactions", 0, 1), rec(dc1ID, "balance-updates", 0, 1)
	write(t, s, lineagestore.Batch{Edges: []lineagestore.Edge{{From: in, To: out, Derivation: lineagestore.DerivationDerived, Rule: "r1"}}})
	d := event(t, s, out)
	require.Len(t, d.Inputs, 1)
	assert.Equal(t, in, d.Inputs[0].From)
	assert.True(t, d.Event.ProducedAt.IsZero())
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: in, ProducedAt: at(0)}, {Record: out, ProducedAt: at(25)}}})
	g, err := s.Lineage(context.Background(), lineagestore.LineageQuery{Start: out, Direction: lineagestore.Upstream, MaxDepth: 5, MaxEvents: 10})
	require.NoError(t, err)
	require.Len(t, g.Edges, 1)
	require.NotNil(t, g.Edges[0].LatencyMS)
	assert.InDelta(t, 25.0, *g.Edges[0].LatencyMS, 1e-9)
}

func testEdgeMergeRule(t *testing.T, s lineagestore.Store) {
	a, b, c := rec(dc1ID, "x", 0, 1), rec(dc1ID, "y", 0, 1), rec(dc1ID, "z", 0, 1)
	derived := lineagestore.Edge{From: a, To: b, Derivation: lineagestore.DerivationDerived, Rule: "fan_in", Link: true, TraceID: "t1"}
	measured := lineagestore.Edge{From: a, To: b, Derivation: lineagestore.DerivationMeasured, TraceID: "t2"}
	write(t, s, lineagestore.Batch{Edges: []lineagestore.Edge{derived}})
	write(t, s, lineagestore.Batch{Edges: []lineagestore.Edge{measured}})
	write(t, s, lineagestore.Batch{Edges: []lineagestore.Edge{derived}})
	d := event(t, s, b)
	require.Len(t, d.Inputs, 1)
	assert.Equal(t, measured, d.Inputs[0], "measured beats derived, whatever the order")

	conf := lineagestore.Edge{From: a, To: c, Derivation: lineagestore.DerivationConfiguration, Rule: "table_join"}
	other := lineagestore.Edge{From: a, To: c, Derivation: lineagestore.DerivationDerived, Rule: "fan_in"}
	write(t, s, lineagestore.Batch{Edges: []lineagestore.Edge{conf, other}})
	d = event(t, s, c)
	require.Len(t, d.Inputs, 1)
	assert.Equal(t, conf, d.Inputs[0], "otherwise the first writer wins")
}

func testPendingEdges(t *testing.T, s lineagestore.Store) {
	var g ids
	ctx := context.Background()
	edge := lineagestore.Edge{Derivation: lineagestore.DerivationDerived, Rule: "streams_task_input", TraceID: "tr"}

	// Order 1: the touchpoint first, the pending edge in a later write.
	j1 := newJourney(&g, 0, 0, 10)
	write(t, s, j1.batch)
	out1 := rec(dc1ID, "withdrawals-approved", 0, 0)
	e := edge
	e.To = out1
	write(t, s, lineagestore.Batch{PendingEdges: []lineagestore.PendingEdge{{From: lineagestore.SpanRef{TraceID: j1.trace, SpanID: j1.consumeSpan}, Edge: e}}})
	d := event(t, s, out1)
	require.Len(t, d.Inputs, 1)
	assert.Equal(t, j1.tx, d.Inputs[0].From)
	assert.Equal(t, "streams_task_input", d.Inputs[0].Rule)

	// Order 2: the pending edge first; it waits until a later write brings its span.
	j2 := newJourney(&g, 1, 100, 10)
	out2 := rec(dc1ID, "withdrawals-approved", 1, 0)
	e.To = out2
	pending := lineagestore.PendingEdge{From: lineagestore.SpanRef{TraceID: j2.trace, SpanID: j2.consumeSpan}, Edge: e}
	write(t, s, lineagestore.Batch{PendingEdges: []lineagestore.PendingEdge{pending}})
	write(t, s, lineagestore.Batch{PendingEdges: []lineagestore.PendingEdge{pending}}) // twice: still one
	assert.Empty(t, event(t, s, out2).Inputs, "unresolved yet")
	// The same span id in another trace does not resolve it.
	write(t, s, lineagestore.Batch{Touchpoints: []lineagestore.Touchpoint{{Record: rec(dc1ID, "noise", 0, 0), TraceID: g.trace(),
		SpanID: j2.consumeSpan, Service: consumerSvc, Kind: lineagestore.KindConsume, Start: at(5)}}})
	assert.Empty(t, event(t, s, out2).Inputs, "another trace's span")
	write(t, s, j2.batch)
	d = event(t, s, out2)
	require.Len(t, d.Inputs, 1)
	assert.Equal(t, j2.tx, d.Inputs[0].From)
	// Resolved once: writing the span again adds nothing.
	write(t, s, j2.batch)
	assert.Len(t, event(t, s, out2).Inputs, 1)

	// Same batch: the span and its pending edge together; a span touching two records (a sink
	// batch) gives one edge from each.
	j3 := newJourney(&g, 2, 200, 10)
	sinkSpan := g.span()
	other := rec(dc1ID, "transactions", 2, 99)
	b := j3.batch
	b.Touchpoints = append(b.Touchpoints,
		lineagestore.Touchpoint{Record: j3.tx, TraceID: j3.trace, SpanID: sinkSpan, Service: connectDC1Svc, Connector: sinkConnector, Kind: lineagestore.KindConnect, Start: at(260)},
		lineagestore.Touchpoint{Record: other, TraceID: j3.trace, SpanID: sinkSpan, Service: connectDC1Svc, Connector: sinkConnector, Kind: lineagestore.KindConnect, Start: at(260)})
	out3 := rec(dc1ID, "sink-out", 0, 0)
	e.To = out3
	b.PendingEdges = []lineagestore.PendingEdge{{From: lineagestore.SpanRef{TraceID: j3.trace, SpanID: sinkSpan}, Edge: e}}
	write(t, s, b)
	d = event(t, s, out3)
	var froms []string
	for _, in := range d.Inputs {
		froms = append(froms, in.From.String())
	}
	assert.ElementsMatch(t, []string{j3.tx.String(), other.String()}, froms)

	// Unresolved pending edges are dropped with their output by retention.
	out4 := rec(dc1ID, "never", 0, 0)
	e.To = out4
	write(t, s, lineagestore.Batch{PendingEdges: []lineagestore.PendingEdge{{From: lineagestore.SpanRef{TraceID: "feed", SpanID: "beef"}, Edge: e}}})
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: rec(dc1ID, "newest", 0, 0)}}})
	_, err := s.ApplyRetention(ctx, lineagestore.Retention{MaxEvents: 1})
	require.NoError(t, err)
	write(t, s, lineagestore.Batch{Touchpoints: []lineagestore.Touchpoint{{Record: rec(dc1ID, "late", 0, 0), TraceID: "feed", SpanID: "beef",
		Service: consumerSvc, Kind: lineagestore.KindConsume}}})
	d2, err := s.Event(ctx, out4)
	if err == nil {
		assert.Empty(t, d2.Inputs, "a pending edge of a deleted event must not come back")
	} else {
		require.ErrorIs(t, err, lineagestore.ErrNotFound)
	}
}

func testClusterNames(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	var g ids
	j := newJourney(&g, 0, 0, 10)
	write(t, s, j.batch)
	byName := j.tx
	byName.Cluster = dc1
	d := event(t, s, byName)
	assert.Equal(t, j.tx, d.Event.Record, "the stored id comes back")
	assert.Equal(t, dc1, d.Event.ClusterName)
	for _, c := range []string{dc1, dc1ID} {
		got := all(t, s, lineagestore.EventQuery{Cluster: c, Topic: "transactions"})
		assert.Equal(t, []string{j.tx.String()}, recordsOf(got), "cluster %s", c)
	}
	assert.Len(t, all(t, s, lineagestore.EventQuery{Cluster: dc2}), 1)
	assert.Empty(t, all(t, s, lineagestore.EventQuery{Cluster: "dc3"}))
	g2, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: byName, Direction: lineagestore.Downstream, MaxDepth: 3, MaxEvents: 10})
	require.NoError(t, err)
	assert.Equal(t, j.tx, g2.Start)
	assert.Len(t, g2.Nodes, 4)
	_, err = s.Event(ctx, rec("dc3", "transactions", 0, 0))
	require.ErrorIs(t, err, lineagestore.ErrNotFound)

	// A renamed cluster: the last mapping wins. An event's ClusterName names a cluster without a mapping.
	write(t, s, lineagestore.Batch{Clusters: []lineagestore.Cluster{{ID: dc1ID, Name: "dc1-east"}}})
	assert.Equal(t, "dc1-east", event(t, s, j.tx).Event.ClusterName)
	lone := rec("kc-lone", "t", 0, 0)
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: lone, ClusterName: "lone"}, {Record: rec(dc1ID, "t", 0, 0), ClusterName: "ignored"}}})
	assert.Equal(t, "lone", event(t, s, rec("lone", "t", 0, 0)).Event.ClusterName)
	assert.Equal(t, "dc1-east", event(t, s, j.tx).Event.ClusterName)
}

func testFindEventsFilters(t *testing.T, s lineagestore.Store) {
	var g ids
	var js []journey
	for i := int64(0); i < 12; i++ {
		j := newJourney(&g, i, float64(i)*1000, 10)
		js = append(js, j)
		write(t, s, j.batch)
	}
	p := func(v int32) *int32 { return &v }
	o := func(v int64) *int64 { return &v }
	cases := []struct {
		name string
		q    lineagestore.EventQuery
		want []lineagestore.RecordID
	}{
		{"topic and partition", lineagestore.EventQuery{Topic: "transactions", Partition: p(1)}, []lineagestore.RecordID{js[10].tx, js[7].tx, js[4].tx, js[1].tx}},
		{"offset", lineagestore.EventQuery{Topic: "transactions", Partition: p(2), Offset: o(1)}, []lineagestore.RecordID{js[5].tx}},
		{"key hash", lineagestore.EventQuery{Topic: "transactions", KeyHash: js[3].batch.Events[0].KeyHash}, []lineagestore.RecordID{js[8].tx, js[3].tx}},
		{"trace", lineagestore.EventQuery{TraceID: js[6].trace}, []lineagestore.RecordID{js[6].mirrored, js[6].changelog, js[6].balance, js[6].tx}},
		{"service consuming", lineagestore.EventQuery{Service: connectDC2Svc, Topic: "transactions", From: at(2000), To: at(4000)}, []lineagestore.RecordID{js[3].tx, js[2].tx}},
		{"service producing", lineagestore.EventQuery{Service: producerSvc, From: at(10500)}, []lineagestore.RecordID{js[11].tx}},
		{"time range", lineagestore.EventQuery{From: at(5000), To: at(5013)}, []lineagestore.RecordID{js[5].balance, js[5].tx}},
		{"nothing", lineagestore.EventQuery{Topic: "transactions", Service: consumerSvc}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []string
			for _, r := range c.want {
				want = append(want, r.String())
			}
			got := all(t, s, c.q)
			assert.Equal(t, want, nilIfEmpty(recordsOf(got)))
			for _, e := range got {
				assert.NotEmpty(t, e.ClusterName)
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func testPagination(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	// 53 events, produced in groups of 5 at the same millisecond (ties), one with no time at all.
	var b lineagestore.Batch
	for i := 0; i < 52; i++ {
		b.Events = append(b.Events, lineagestore.Event{Record: rec(dc1ID, "transactions", int32(i%3), int64(i)), ProducedAt: at(float64(i / 5))})
	}
	b.Events = append(b.Events, lineagestore.Event{Record: rec(dc1ID, "transactions", 0, 1000)})
	write(t, s, b)
	seen := map[string]bool{}
	var order []lineagestore.Event
	q := lineagestore.EventQuery{Topic: "transactions", Limit: 7}
	pages := 0
	for {
		page, err := s.FindEvents(ctx, q)
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, len(page.Events), 7)
		for _, e := range page.Events {
			require.False(t, seen[e.Record.String()], "%s twice", e.Record)
			seen[e.Record.String()] = true
			order = append(order, e)
		}
		if page.NextPageToken == "" {
			break
		}
		require.Len(t, page.Events, 7, "a page before the last is full")
		q.PageToken = page.NextPageToken
	}
	assert.Equal(t, 8, pages)
	assert.Len(t, seen, 53)
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		assert.False(t, b.ProducedAt.After(a.ProducedAt), "newest first: %s then %s", a.ProducedAt, b.ProducedAt)
	}
	assert.True(t, order[len(order)-1].ProducedAt.IsZero(), "an event without time comes last")
	// Pages are stable when newer events arrive meanwhile.
	page1, err := s.FindEvents(ctx, lineagestore.EventQuery{Topic: "transactions", Limit: 10})
	require.NoError(t, err)
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: rec(dc1ID, "transactions", 1, 5000), ProducedAt: at(100)}}})
	page2, err := s.FindEvents(ctx, lineagestore.EventQuery{Topic: "transactions", Limit: 10, PageToken: page1.NextPageToken})
	require.NoError(t, err)
	assert.Equal(t, recordsOf(order[10:20]), recordsOf(page2.Events))
	// An exact page: no token for an empty page after it.
	exact, err := s.FindEvents(ctx, lineagestore.EventQuery{Topic: "transactions", Partition: ptr(int32(0)), Offset: ptr(int64(1000)), Limit: 1})
	require.NoError(t, err)
	assert.Len(t, exact.Events, 1)
	assert.Empty(t, exact.NextPageToken)

	for _, tok := range []string{"garbage!", "AAAA", strings.Repeat("A", 23), page1.NextPageToken + "x"} {
		_, err := s.FindEvents(ctx, lineagestore.EventQuery{Limit: 5, PageToken: tok})
		require.Error(t, err, "token %q", tok)
		assert.Contains(t, err.Error(), "page token")
	}
	for _, limit := range []int{0, -1, lineagestore.MaxPageSize + 1} {
		_, err := s.FindEvents(ctx, lineagestore.EventQuery{Limit: limit})
		require.Error(t, err, "limit %d", limit)
	}
}

func ptr[T any](v T) *T { return &v }

func depths(g lineagestore.Graph) map[string]int {
	out := map[string]int{}
	for _, n := range g.Nodes {
		out[n.Event.Record.Topic] = n.Depth
	}
	return out
}

func testLineage(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	// c-0 → c-1 → ... → c-11, and a fan-in: f-in-0..2 → c-5.
	c, b := chain("c", 12, 0, 10)
	for i := 0; i < 3; i++ {
		in := rec(dc1ID, fmt.Sprintf("f-in-%d", i), 0, 0)
		b.Events = append(b.Events, lineagestore.Event{Record: in, ProducedAt: at(20)})
		b.Edges = append(b.Edges, lineagestore.Edge{From: in, To: c[5], Derivation: lineagestore.DerivationDerived, Rule: "fan_in", Link: true})
	}
	b.Touchpoints = append(b.Touchpoints, lineagestore.Touchpoint{Record: c[5], TraceID: "t5", SpanID: "s5", Service: processorSvc, Kind: lineagestore.KindConsume, Start: at(49)})
	write(t, s, b)

	up, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: c[11], Direction: lineagestore.Upstream, MaxDepth: 20, MaxEvents: 100})
	require.NoError(t, err)
	assert.False(t, up.Truncated)
	assert.Equal(t, lineagestore.Upstream, up.Direction)
	assert.Len(t, up.Nodes, 15)
	assert.Len(t, up.Edges, 14)
	d := depths(up)
	assert.Equal(t, 0, d["c-11"])
	assert.Equal(t, -11, d["c-0"])
	assert.Equal(t, -7, d["f-in-1"])
	for _, n := range up.Nodes {
		wantOrigin := n.Event.Record.Topic == "c-0" || strings.HasPrefix(n.Event.Record.Topic, "f-in")
		assert.Equal(t, wantOrigin, n.Origin, "origin %s", n.Event.Record)
		if n.Event.Record.Topic == "c-5" {
			require.Len(t, n.Touchpoints, 1)
			assert.Equal(t, "s5", n.Touchpoints[0].SpanID)
		} else {
			assert.NotNil(t, n.Touchpoints)
			assert.Empty(t, n.Touchpoints)
		}
	}
	for _, e := range up.Edges {
		require.NotNil(t, e.LatencyMS, "%s → %s", e.From, e.To)
		if e.Rule == "fan_in" {
			assert.InDelta(t, 30.0, *e.LatencyMS, 1e-9)
			assert.True(t, e.Link)
		} else {
			assert.InDelta(t, 10.0, *e.LatencyMS, 1e-9)
		}
	}

	down, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: rec(dc1ID, "f-in-2", 0, 0), Direction: lineagestore.Downstream, MaxDepth: 20, MaxEvents: 100})
	require.NoError(t, err)
	assert.Len(t, down.Nodes, 8) // f-in-2, c-5..c-11
	assert.Equal(t, 7, depths(down)["c-11"])
	assert.Len(t, down.Edges, 7)

	both, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: c[5], Direction: lineagestore.Both, MaxDepth: 3, MaxEvents: 100})
	require.NoError(t, err)
	d = depths(both)
	assert.Equal(t, map[string]int{"c-2": -3, "c-3": -2, "c-4": -1, "f-in-0": -1, "f-in-1": -1, "f-in-2": -1, "c-5": 0, "c-6": 1, "c-7": 2, "c-8": 3}, d)
	assert.True(t, both.Truncated, "depth 3 cut both ways")
	assert.Len(t, both.Edges, 9)
	for _, n := range both.Nodes {
		// Origin is about stored edges, not about the walk's cut.
		assert.Equal(t, strings.HasPrefix(n.Event.Record.Topic, "f-in"), n.Origin, "%s", n.Event.Record)
	}

	// Exactly deep enough: not truncated.
	exact, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: c[0], Direction: lineagestore.Downstream, MaxDepth: 11, MaxEvents: 12})
	require.NoError(t, err)
	assert.False(t, exact.Truncated)
	assert.Len(t, exact.Nodes, 12)
	cut, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: c[0], Direction: lineagestore.Downstream, MaxDepth: 10, MaxEvents: 100})
	require.NoError(t, err)
	assert.True(t, cut.Truncated)
	assert.Len(t, cut.Nodes, 11)
	few, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: c[11], Direction: lineagestore.Upstream, MaxDepth: 100, MaxEvents: 9})
	require.NoError(t, err)
	assert.True(t, few.Truncated)
	assert.Len(t, few.Nodes, 9)
	for _, e := range few.Edges {
		assert.Contains(t, depths(few), e.From.Topic, "edges only between reached nodes")
	}

	// A node without times: no latency.
	lone := rec(dc1ID, "untimed", 0, 0)
	write(t, s, lineagestore.Batch{Edges: []lineagestore.Edge{{From: c[11], To: lone, Derivation: lineagestore.DerivationMeasured}}})
	g, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: lone, Direction: lineagestore.Upstream, MaxDepth: 1, MaxEvents: 10})
	require.NoError(t, err)
	require.Len(t, g.Edges, 1)
	assert.Nil(t, g.Edges[0].LatencyMS)
	assert.True(t, g.Truncated)

	_, err = s.Lineage(ctx, lineagestore.LineageQuery{Start: rec(dc1ID, "missing", 0, 0), Direction: lineagestore.Both, MaxDepth: 1, MaxEvents: 1})
	require.ErrorIs(t, err, lineagestore.ErrNotFound)
}

func testLineageCycleAndBounds(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	// A compacted-topic style cycle: a → b → c → a, and c → d.
	a, b, c, d := rec(dc1ID, "a", 0, 0), rec(dc1ID, "b", 0, 0), rec(dc1ID, "c", 0, 0), rec(dc1ID, "d", 0, 0)
	m := lineagestore.DerivationMeasured
	write(t, s, lineagestore.Batch{Edges: []lineagestore.Edge{{From: a, To: b, Derivation: m}, {From: b, To: c, Derivation: m}, {From: c, To: a, Derivation: m}, {From: c, To: d, Derivation: m}}})
	for _, dir := range []lineagestore.Direction{lineagestore.Upstream, lineagestore.Downstream, lineagestore.Both} {
		g, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: a, Direction: dir, MaxDepth: 100, MaxEvents: 100})
		require.NoError(t, err, "%s", dir)
		assert.False(t, g.Truncated, "%s", dir)
		seen := map[string]bool{}
		for _, n := range g.Nodes {
			assert.False(t, seen[n.Event.Record.String()], "%s twice", n.Event.Record)
			seen[n.Event.Record.String()] = true
			assert.False(t, n.Origin && n.Event.Record != d, "in a cycle nothing is an origin")
		}
		want := map[lineagestore.Direction]int{lineagestore.Upstream: 3, lineagestore.Downstream: 4, lineagestore.Both: 4}[dir]
		assert.Len(t, g.Nodes, want, "%s", dir)
	}
	g, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: a, Direction: lineagestore.Downstream, MaxDepth: 100, MaxEvents: 100})
	require.NoError(t, err)
	assert.Len(t, g.Edges, 4, "the edge closing the cycle is between reached nodes")

	bad := []lineagestore.LineageQuery{
		{Start: a, Direction: "sideways", MaxDepth: 1, MaxEvents: 1},
		{Start: a, Direction: lineagestore.Both, MaxDepth: 0, MaxEvents: 1},
		{Start: a, Direction: lineagestore.Both, MaxDepth: lineagestore.MaxLineageDepth + 1, MaxEvents: 1},
		{Start: a, Direction: lineagestore.Both, MaxDepth: 1, MaxEvents: 0},
		{Start: a, Direction: lineagestore.Both, MaxDepth: 1, MaxEvents: lineagestore.MaxLineageEvents + 1},
		{Start: rec("", "a", 0, 0), Direction: lineagestore.Both, MaxDepth: 1, MaxEvents: 1},
		{Start: rec(dc1ID, "a", -1, 0), Direction: lineagestore.Both, MaxDepth: 1, MaxEvents: 1},
	}
	for _, q := range bad {
		_, err := s.Lineage(ctx, q)
		require.Error(t, err, "%+v", q)
		assert.False(t, errors.Is(err, lineagestore.ErrNotFound), "%+v: invalid, not unknown", q)
	}
}

func testTopology(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	var g ids
	// 100 journeys, the processor consuming 1..100 ms after the produce: nearest-rank percentiles
	// p50 50, p95 95, p99 99, max 100. MirrorMaker consumes 30 ms and produces 40 ms after.
	for i := int64(0); i < 100; i++ {
		write(t, s, newJourney(&g, i, float64(i)*1000, float64(i+1)).batch)
	}
	// A Connect sink reading balance-updates (kind connect) 5 ms after each of the first 10.
	var sink lineagestore.Batch
	for i := int64(0); i < 10; i++ {
		j := newJourney(&g, i, float64(i)*1000, float64(i+1))
		sink.Touchpoints = append(sink.Touchpoints, lineagestore.Touchpoint{Record: j.balance, TraceID: g.trace(), SpanID: g.span(),
			Service: connectDC1Svc, Connector: sinkConnector, Kind: lineagestore.KindConnect, Start: at(float64(i)*1000 + float64(i+1) + 2 + 5), ClusterName: dc1})
	}
	write(t, s, sink)

	topo, err := s.Topology(ctx, lineagestore.TopologyQuery{From: at(-1), To: at(200000)})
	require.NoError(t, err)
	nodes := map[string]lineagestore.TopologyNode{}
	for _, n := range topo.Nodes {
		nodes[n.ID] = n
	}
	assert.Equal(t, lineagestore.TopologyNode{ID: "dc1/transactions", Kind: lineagestore.NodeTopic, Label: "transactions", Cluster: dc1}, nodes["dc1/transactions"])
	assert.Equal(t, lineagestore.TopologyNode{ID: "dc2/dc1.transactions", Kind: lineagestore.NodeTopic, Label: "dc1.transactions", Cluster: dc2}, nodes["dc2/dc1.transactions"])
	assert.Equal(t, lineagestore.TopologyNode{ID: processorSvc, Kind: lineagestore.NodeService, Label: processorSvc, Cluster: dc1}, nodes[processorSvc])
	assert.Equal(t, lineagestore.NodeStateStore, nodes[processorSvc+"/"+balancesStore].Kind)
	assert.Equal(t, lineagestore.NodeConnector, nodes[mm2Connector].Kind)
	assert.Equal(t, lineagestore.NodeConnector, nodes[sinkConnector].Kind)
	assert.Equal(t, lineagestore.NodeCluster, nodes[dc1].Kind)
	assert.Equal(t, lineagestore.NodeCluster, nodes[dc2].Kind)
	_, ok := nodes[connectDC2Svc]
	assert.False(t, ok, "a span run by a connector is the connector's")

	edges := map[string]lineagestore.TopologyEdge{}
	for _, e := range topo.Edges {
		edges[e.From+" → "+e.To] = e
	}
	want := map[string]struct {
		count                int64
		p50, p95, p99, maxMS float64 // -1: no latency
	}{
		producerSvc + " → dc1/transactions":                             {100, -1, -1, -1, -1},
		"dc1/transactions → " + processorSvc:                            {100, 50, 95, 99, 100},
		processorSvc + " → " + processorSvc + "/" + balancesStore:       {100, -1, -1, -1, -1},
		processorSvc + " → dc1/balance-updates":                         {100, -1, -1, -1, -1},
		processorSvc + " → dc1/withdrawal-processor-balances-changelog": {100, -1, -1, -1, -1},
		"dc1/transactions → " + mm2Connector:                            {100, 30, 30, 30, 30},
		mm2Connector + " → dc2/dc1.transactions":                        {100, -1, -1, -1, -1},
		"dc1/transactions → dc2/dc1.transactions":                       {100, 40, 40, 40, 40},
		"dc1/balance-updates → " + sinkConnector:                        {10, 5, 5, 5, 5},
	}
	assert.Len(t, edges, len(want))
	for k, w := range want {
		e, ok := edges[k]
		if !assert.True(t, ok, "edge %s", k) {
			continue
		}
		assert.Equal(t, w.count, e.Count, "%s count", k)
		if w.p50 < 0 {
			assert.Nil(t, e.P50MS, "%s", k)
			continue
		}
		if assert.NotNil(t, e.P50MS, "%s", k) {
			assert.InDelta(t, w.p50, *e.P50MS, 1e-6, "%s p50", k)
			assert.InDelta(t, w.p95, *e.P95MS, 1e-6, "%s p95", k)
			assert.InDelta(t, w.p99, *e.P99MS, 1e-6, "%s p99", k)
			assert.InDelta(t, w.maxMS, *e.MaxMS, 1e-6, "%s max", k)
		}
	}

	// A narrower range: journeys 10..19 (touchpoints starting in [10 s, 20 s)).
	part, err := s.Topology(ctx, lineagestore.TopologyQuery{From: at(10000), To: at(20000)})
	require.NoError(t, err)
	for _, e := range part.Edges {
		if e.From == "dc1/transactions" && e.To == processorSvc {
			assert.Equal(t, int64(10), e.Count)
			assert.InDelta(t, 20.0, *e.MaxMS, 1e-6)
			assert.InDelta(t, 15.0, *e.P50MS, 1e-6)
		}
	}
	empty, err := s.Topology(ctx, lineagestore.TopologyQuery{From: at(-10000), To: at(-5000)})
	require.NoError(t, err)
	assert.Empty(t, empty.Nodes)
	assert.Empty(t, empty.Edges)
	_, err = s.Topology(ctx, lineagestore.TopologyQuery{From: at(10), To: at(5)})
	require.Error(t, err)
}

func testOutliers(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	var g ids
	// 50 journeys consumed after 10 ms, three after 300, 400 and 500 ms; the processor's outputs
	// follow their consume by 2 ms, so the derived edge transactions → balance-updates is slow for the same three.
	slow := map[int64]float64{7: 300, 20: 400, 33: 500}
	for i := int64(0); i < 50; i++ {
		lat := 10.0
		if v, ok := slow[i]; ok {
			lat = v
		}
		write(t, s, newJourney(&g, i, float64(i)*1000, lat).batch)
	}
	q := lineagestore.OutlierQuery{From: at(0), To: at(60000), Factor: 5, MinMS: 50, Limit: 100}
	out, err := s.Outliers(ctx, q)
	require.NoError(t, err)
	var got []string
	for _, o := range out {
		got = append(got, fmt.Sprintf("%s→%s %s %.0f/%.0f %s", o.From, o.To, o.Record.Topic, o.LatencyMS, o.UsualMS, o.Reason))
	}
	assert.Equal(t, []string{
		"dc1/transactions→dc1/withdrawal-processor-balances-changelog withdrawal-processor-balances-changelog 503/13 usual",
		"dc1/transactions→dc1/balance-updates balance-updates 502/12 usual",
		"dc1/transactions→withdrawal-processor transactions 500/10 usual",
		"dc1/transactions→dc1/withdrawal-processor-balances-changelog withdrawal-processor-balances-changelog 403/13 usual",
		"dc1/transactions→dc1/balance-updates balance-updates 402/12 usual",
		"dc1/transactions→withdrawal-processor transactions 400/10 usual",
		"dc1/transactions→dc1/withdrawal-processor-balances-changelog withdrawal-processor-balances-changelog 303/13 usual",
		"dc1/transactions→dc1/balance-updates balance-updates 302/12 usual",
		"dc1/transactions→withdrawal-processor transactions 300/10 usual",
	}, got)
	consume := out[2]
	assert.Nil(t, consume.Input)
	assert.Equal(t, rec(dc1ID, "transactions", 33%3, 33/3), consume.Record)
	assert.True(t, consume.At.Equal(at(33000+500)))
	assert.NotEmpty(t, consume.TraceID)
	derived := out[1]
	require.NotNil(t, derived.Input)
	assert.Equal(t, consume.Record, *derived.Input)
	assert.True(t, derived.At.Equal(at(33000+502)))

	// The threshold alone; both tests: "threshold" wins; Limit cuts the slowest.
	out, err = s.Outliers(ctx, lineagestore.OutlierQuery{ThresholdMS: 450, Limit: 100})
	require.NoError(t, err)
	require.Len(t, out, 3)
	for _, o := range out {
		assert.Equal(t, "threshold", o.Reason)
		assert.Greater(t, o.LatencyMS, 450.0)
	}
	out, err = s.Outliers(ctx, lineagestore.OutlierQuery{ThresholdMS: 450, Factor: 5, Limit: 4})
	require.NoError(t, err)
	require.Len(t, out, 4)
	assert.Equal(t, []string{"threshold", "threshold", "threshold", "usual"}, []string{out[0].Reason, out[1].Reason, out[2].Reason, out[3].Reason})
	assert.InDelta(t, 403.0, out[3].LatencyMS, 1e-6)
	// A range without the slow ones.
	out, err = s.Outliers(ctx, lineagestore.OutlierQuery{From: at(0), To: at(7000), Factor: 5, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, out)

	for _, bad := range []lineagestore.OutlierQuery{
		{Limit: 10},
		{Factor: 2, Limit: 0},
		{Factor: 2, Limit: lineagestore.MaxPageSize + 1},
		{ThresholdMS: -1, Limit: 1},
		{Factor: 2, From: at(10), To: at(10), Limit: 1},
	} {
		_, err := s.Outliers(ctx, bad)
		require.Error(t, err, "%+v", bad)
	}
}

func testRetentionByCount(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	var g ids
	var js []journey
	for i := int64(0); i < 30; i++ {
		j := newJourney(&g, i, float64(i)*1000, 10)
		js = append(js, j)
		write(t, s, j.batch)
	}
	n, err := s.ApplyRetention(ctx, lineagestore.Retention{MaxEvents: 120})
	require.NoError(t, err)
	assert.Zero(t, n, "at the bound")
	n, err = s.ApplyRetention(ctx, lineagestore.Retention{MaxEvents: 50})
	require.NoError(t, err)
	assert.Equal(t, int64(70), n)
	left := all(t, s, lineagestore.EventQuery{})
	assert.Len(t, left, 50)
	// The oldest written went: journeys 0..16 and two of 17's four events.
	for _, j := range js[:17] {
		_, err := s.Event(ctx, j.tx)
		require.ErrorIs(t, err, lineagestore.ErrNotFound)
	}
	for _, j := range js[18:] {
		d := event(t, s, j.tx)
		assert.Len(t, d.Touchpoints, 4)
		assert.Len(t, d.Outputs, 3)
	}
	// Nothing dangles: no touchpoint nor edge of a deleted event in topology or lineage.
	topo, err := s.Topology(ctx, lineagestore.TopologyQuery{})
	require.NoError(t, err)
	for _, e := range topo.Edges {
		if e.From == producerSvc {
			assert.LessOrEqual(t, e.Count, int64(13))
		}
	}
	n, err = s.ApplyRetention(ctx, lineagestore.Retention{})
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = s.ApplyRetention(ctx, lineagestore.Retention{MaxEvents: -1})
	require.Error(t, err)
}

func testRetentionByAge(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	var g ids
	old := newJourney(&g, 0, 0, 10)
	write(t, s, old.batch)
	// written_at is the store's clock: wait so that a cutoff falls between the two writes with a
	// wide margin on either side.
	time.Sleep(400 * time.Millisecond)
	mid := time.Now()
	time.Sleep(400 * time.Millisecond)
	fresh := newJourney(&g, 1, 1000, 10)
	write(t, s, fresh.batch)
	// A write merging into the old event keeps its first written_at.
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: old.tx, Tombstone: true}}})
	n, err := s.ApplyRetention(ctx, lineagestore.Retention{MaxAge: time.Since(mid)})
	require.NoError(t, err)
	assert.Equal(t, int64(4), n)
	_, err = s.Event(ctx, old.tx)
	require.ErrorIs(t, err, lineagestore.ErrNotFound)
	d := event(t, s, fresh.tx)
	assert.Len(t, d.Outputs, 3)
	assert.Len(t, all(t, s, lineagestore.EventQuery{}), 4)
	n, err = s.ApplyRetention(ctx, lineagestore.Retention{MaxAge: time.Hour})
	require.NoError(t, err)
	assert.Zero(t, n)
}

func testConcurrent(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	const writers, perWriter = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter*4)
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			g := ids{n: w * 1_000_000}
			for i := 0; i < perWriter; i++ {
				j := newJourney(&g, int64(w*perWriter+i), float64(i)*10, 5)
				// Writers overlap: every batch also repeats the shared clusters and a shared event.
				j.batch.Events = append(j.batch.Events, lineagestore.Event{Record: rec(dc1ID, "shared", 0, 0), Producer: fmt.Sprint("w", w)})
				if err := s.Write(ctx, &j.batch); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	var readers sync.WaitGroup
	for r := 0; r < 3; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.FindEvents(ctx, lineagestore.EventQuery{Topic: "transactions", Limit: 20}); err != nil {
					errs <- err
				}
				if _, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: rec(dc1ID, "transactions", 0, 0), Direction: lineagestore.Both, MaxDepth: 5, MaxEvents: 50}); err != nil && !errors.Is(err, lineagestore.ErrNotFound) {
					errs <- err
				}
				if _, err := s.Topology(ctx, lineagestore.TopologyQuery{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Len(t, all(t, s, lineagestore.EventQuery{Topic: "transactions"}), writers*perWriter)
	assert.Len(t, all(t, s, lineagestore.EventQuery{}), writers*perWriter*4+1)
}

// testConcurrentPendingEdges: a pending edge and the touchpoint of its span written at the same
// time by two writers (the exporter's concurrent queue consumers) must meet: whichever commits
// second resolves the edge. Pairs of writers write the same spans in the same order, one the
// touchpoints, the other the pending edges, with filler rows that keep each transaction open a
// while, so the two halves of every edge are in flight together.
func testConcurrentPendingEdges(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	const pairs, spansPerPair, filler = 5, 40, 30
	edge := lineagestore.Edge{Derivation: lineagestore.DerivationDerived, Rule: ruleStreams}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 2*pairs*spansPerPair)
	outs := make([]lineagestore.RecordID, 0, pairs*spansPerPair)
	ins := make([]lineagestore.RecordID, 0, pairs*spansPerPair)
	for p := 0; p < pairs; p++ {
		var tps, pend []lineagestore.Batch
		for i := 0; i < spansPerPair; i++ {
			n := int64(p*spansPerPair + i)
			trace, span := fmt.Sprintf("%032x", 0xc0000+n), fmt.Sprintf("%016x", 0xd0000+n)
			in, out := rec(dc1ID, "race-in", int32(p), int64(i)), rec(dc1ID, "race-out", int32(p), int64(i))
			ins, outs = append(ins, in), append(outs, out)
			var tb, pb lineagestore.Batch
			tb.Touchpoints = append(tb.Touchpoints, lineagestore.Touchpoint{Record: in, TraceID: trace, SpanID: span,
				Service: processorSvc, Kind: lineagestore.KindConsume, Start: at(float64(n))})
			e := edge
			e.To = out
			pb.PendingEdges = []lineagestore.PendingEdge{{From: lineagestore.SpanRef{TraceID: trace, SpanID: span}, Edge: e}}
			for k := 0; k < filler; k++ {
				fill := rec(dc1ID, "race-filler", int32(p), n*2*filler+int64(k))
				tb.Events = append(tb.Events, lineagestore.Event{Record: fill, Producer: producerSvc, ProducedAt: at(float64(n))})
				pb.Events = append(pb.Events, lineagestore.Event{Record: rec(dc1ID, "race-filler", int32(p), (n*2+1)*filler+int64(k)),
					Producer: producerSvc, ProducedAt: at(float64(n))})
			}
			tps, pend = append(tps, tb), append(pend, pb)
		}
		for _, batches := range [][]lineagestore.Batch{tps, pend} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := range batches {
					if err := s.Write(ctx, &batches[i]); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	lost := 0
	for i, out := range outs {
		d := event(t, s, out)
		if len(d.Inputs) != 1 || d.Inputs[0].From != ins[i] {
			lost++
		}
	}
	assert.Zero(t, lost, "edges whose pending half and span were written concurrently and never met (of %d)", len(outs))
}

// testNoSelfEdges: an edge from a record to itself says nothing about lineage and would make the
// record no origin; the store skips it, whether written as an edge or resolved from a pending
// edge whose span touched the output record itself (a span that consumed and re-produced one
// record), in one write or across writes.
func testNoSelfEdges(t *testing.T, s lineagestore.Store) {
	var g ids
	x, y := rec(dc1ID, "self", 0, 0), rec(dc1ID, "self", 0, 1)
	self := lineagestore.Edge{From: x, To: x, Derivation: lineagestore.DerivationMeasured}
	write(t, s, lineagestore.Batch{Events: []lineagestore.Event{{Record: x, Producer: producerSvc}}, Edges: []lineagestore.Edge{self}})

	// Same write: the span touched x and y, the pending edge's output is x: only y → x.
	trace, span := g.trace(), g.span()
	pe := lineagestore.PendingEdge{From: lineagestore.SpanRef{TraceID: trace, SpanID: span}, Edge: lineagestore.Edge{To: x, Derivation: lineagestore.DerivationDerived, Rule: ruleStreams}}
	tp := func(r lineagestore.RecordID, trace, span string) lineagestore.Touchpoint {
		return lineagestore.Touchpoint{Record: r, TraceID: trace, SpanID: span, Service: connectDC1Svc, Kind: lineagestore.KindConnect, Start: at(1)}
	}
	write(t, s, lineagestore.Batch{Touchpoints: []lineagestore.Touchpoint{tp(x, trace, span), tp(y, trace, span)}, PendingEdges: []lineagestore.PendingEdge{pe}})
	// Across writes, both orders: the pending edge first, then its span (touching only x).
	trace2, span2 := g.trace(), g.span()
	pe2 := pe
	pe2.From = lineagestore.SpanRef{TraceID: trace2, SpanID: span2}
	write(t, s, lineagestore.Batch{PendingEdges: []lineagestore.PendingEdge{pe2}})
	write(t, s, lineagestore.Batch{Touchpoints: []lineagestore.Touchpoint{tp(x, trace2, span2)}})
	// The span first, then the pending edge.
	trace3, span3 := g.trace(), g.span()
	write(t, s, lineagestore.Batch{Touchpoints: []lineagestore.Touchpoint{tp(x, trace3, span3)}})
	pe3 := pe
	pe3.From = lineagestore.SpanRef{TraceID: trace3, SpanID: span3}
	write(t, s, lineagestore.Batch{PendingEdges: []lineagestore.PendingEdge{pe3}})

	d := event(t, s, x)
	var froms []string
	for _, in := range d.Inputs {
		froms = append(froms, in.From.String())
	}
	assert.Equal(t, []string{y.String()}, froms, "inputs of x")
	for _, out := range d.Outputs {
		assert.NotEqual(t, x, out.To, "self-edge")
	}
	gr, err := s.Lineage(context.Background(), lineagestore.LineageQuery{Start: y, Direction: lineagestore.Both, MaxDepth: 5, MaxEvents: 10})
	require.NoError(t, err)
	origins := map[string]bool{}
	for _, n := range gr.Nodes {
		origins[n.Event.Record.String()] = n.Origin
	}
	assert.Equal(t, map[string]bool{y.String(): true, x.String(): false}, origins)
	for _, e := range gr.Edges {
		assert.NotEqual(t, e.From, e.To, "self-edge in the graph")
	}
}

// noise is n bytes of incompressible hex (a store may compress what it indexes; this must fit
// uncompressed).
func noise(n int) string {
	var b strings.Builder
	x := uint64(0x9e3779b97f4a7c15)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&b, "%016x", x)
	}
	return b.String()[:n]
}

// maxName is the longest name (topic, cluster, ids, service, key hash) every backend must take.
const maxName = 1024

func testHugeAndUnicode(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	topic := "überweisungen.✓.取引-🚀"
	big := rec(dc1ID, topic, math.MaxInt32, math.MaxInt64)
	small := rec("クラスター", topic, 0, 0)
	key := noise(maxName)
	svc := "сервис-" + noise(maxName-len("сервис-"))
	operation := noise(1 << 20) // unindexed text has no bound
	write(t, s, lineagestore.Batch{
		Clusters: []lineagestore.Cluster{{ID: "クラスター", Name: "集群-東"}},
		Events:   []lineagestore.Event{{Record: big, KeyHash: key, ProducedAt: at(1), Producer: svc}, {Record: small, ProducedAt: at(0)}},
		Touchpoints: []lineagestore.Touchpoint{{Record: big, TraceID: noise(maxName), SpanID: noise(maxName), Service: svc,
			Operation: operation, Kind: lineagestore.KindProduce, Start: at(1), End: at(2), Rule: "ルール"}},
		Edges: []lineagestore.Edge{{From: small, To: big, Derivation: lineagestore.DerivationDerived, Rule: "правило"}},
	})
	d := event(t, s, big)
	assert.Equal(t, big, d.Event.Record)
	assert.Equal(t, key, d.Event.KeyHash)
	assert.Equal(t, svc, d.Event.Producer)
	require.Len(t, d.Touchpoints, 1)
	assert.Equal(t, "ルール", d.Touchpoints[0].Rule)
	assert.Equal(t, operation, d.Touchpoints[0].Operation)
	require.Len(t, d.Inputs, 1)
	assert.Equal(t, small, d.Inputs[0].From)
	assert.Equal(t, "правило", d.Inputs[0].Rule)
	got := all(t, s, lineagestore.EventQuery{Cluster: "集群-東", Topic: topic})
	assert.Equal(t, []string{small.String()}, recordsOf(got))
	assert.Equal(t, "集群-東", got[0].ClusterName)
	got = all(t, s, lineagestore.EventQuery{KeyHash: key, Service: svc})
	assert.Equal(t, []string{big.String()}, recordsOf(got))
	g, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: big, Direction: lineagestore.Upstream, MaxDepth: 1, MaxEvents: 2})
	require.NoError(t, err)
	assert.Len(t, g.Nodes, 2)
	topo, err := s.Topology(ctx, lineagestore.TopologyQuery{})
	require.NoError(t, err)
	assert.Equal(t, svc+" → "+dc1ID+"/"+topic, topo.Edges[0].From+" → "+topo.Edges[0].To)

	// Longer names are refused with a clear error, not half written.
	tooLong := []lineagestore.Batch{
		{Events: []lineagestore.Event{{Record: rec(dc1ID, "t", 0, 9), KeyHash: noise(maxName + 1)}}},
		{Events: []lineagestore.Event{{Record: rec(dc1ID, noise(maxName+1), 0, 9)}}},
		{Touchpoints: []lineagestore.Touchpoint{{Record: rec(dc1ID, "t", 0, 9), TraceID: "t", SpanID: "s", Service: noise(maxName + 1), Kind: lineagestore.KindConsume}}},
	}
	for i, b := range tooLong {
		err := s.Write(ctx, &b)
		require.Error(t, err, "batch %d", i)
		assert.Contains(t, err.Error(), "longer than")
	}
	_, err = s.Event(ctx, rec(dc1ID, "t", 0, 9))
	require.ErrorIs(t, err, lineagestore.ErrNotFound)
}

func testValidation(t *testing.T, s lineagestore.Store) {
	ctx := context.Background()
	good := lineagestore.Event{Record: rec(dc1ID, "transactions", 0, 0)}
	bad := []lineagestore.Batch{
		{Events: []lineagestore.Event{good, {Record: rec(dc1ID, "", 0, 0)}}},
		{Events: []lineagestore.Event{good}, Touchpoints: []lineagestore.Touchpoint{{Record: good.Record, TraceID: "t", Kind: lineagestore.KindConsume}}},
		{Events: []lineagestore.Event{good}, Touchpoints: []lineagestore.Touchpoint{{Record: good.Record, TraceID: "t", SpanID: "s", Kind: "teleport"}}},
		{Events: []lineagestore.Event{good}, Edges: []lineagestore.Edge{{From: good.Record, To: rec(dc1ID, "x", 0, -1), Derivation: lineagestore.DerivationMeasured}}},
		{Events: []lineagestore.Event{good}, Edges: []lineagestore.Edge{{From: good.Record, To: rec(dc1ID, "x", 0, 1), Derivation: "guessed"}}},
		{Events: []lineagestore.Event{good}, PendingEdges: []lineagestore.PendingEdge{{Edge: lineagestore.Edge{To: rec(dc1ID, "x", 0, 1), Derivation: lineagestore.DerivationDerived}}}},
		{Events: []lineagestore.Event{good}, Clusters: []lineagestore.Cluster{{ID: dc1ID}}},
	}
	for i, b := range bad {
		require.Error(t, s.Write(ctx, &b), "batch %d", i)
	}
	assert.Empty(t, all(t, s, lineagestore.EventQuery{}), "a refused batch writes nothing")
	_, err := s.Event(ctx, rec(dc1ID, "t", 0, -5))
	require.Error(t, err)
	assert.False(t, errors.Is(err, lineagestore.ErrNotFound))
	for _, q := range []lineagestore.EventQuery{
		{Limit: 1, Offset: ptr(int64(1)), Topic: "t"},
		{Limit: 1, Partition: ptr(int32(1))},
		{Limit: 1, From: at(5), To: at(5)},
	} {
		_, err := s.FindEvents(ctx, q)
		require.Error(t, err, "%+v", q)
	}
}

// testClosed: Close may be called again (the storage extension and a caller may both close the
// store), and a write after Close fails instead of hanging or panicking.
func testClosed(t *testing.T, s lineagestore.Store) {
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	b := lineagestore.Batch{Events: []lineagestore.Event{{Record: lineagestore.RecordID{Cluster: "dc1", Topic: "transactions", Partition: 0, Offset: 1}}}}
	require.Error(t, s.Write(context.Background(), &b))
}
