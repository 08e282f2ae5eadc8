package captureeval

import (
	"strings"
	"testing"
)

func TestParseTruthErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"records": 5}`, `{"schema_version": 2}`, `{"records": [{"partition": "0"}]}`} {
		if _, err := ParseTruth([]byte(in)); err == nil {
			t.Errorf("ParseTruth(%q): no error", in)
		}
	}
}

func TestParseTruthProblems(t *testing.T) {
	in := `{
	  "schema_version": 1, "scenario": "withdrawal", "config": "b",
	  "consumers": [
	    {"cluster": "dc1", "topic": "transactions", "service": "withdrawal-processor", "kind": "streams"},
	    {"cluster": "dc1", "topic": "transactions", "service": "withdrawal-processor", "kind": "streams"},
	    {"cluster": "dc1", "topic": "transactions", "service": "spy", "kind": "carrier-pigeon"},
	    {"cluster": "dc1", "topic": "", "service": "nobody", "kind": "consumer"}
	  ],
	  "records": [
	    {"id": "dc1/transactions/0/0", "cluster": "dc1", "topic": "transactions", "partition": 0, "offset": 0},
	    {"id": "dc1/transactions/0/0", "cluster": "dc1", "topic": "transactions", "partition": 0, "offset": 0},
	    {"cluster": "dc1", "topic": "transactions", "partition": 0, "offset": 1},
	    {"id": "dc1/out/0/0", "cluster": "dc1", "topic": "out", "partition": 0, "offset": 0,
	     "parents": [{"id": "dc1/transactions/0/0", "type": "streams"}, {"id": "dc1/transactions/0/1", "type": "streams"}]},
	    {"id": "dc1/out/0/1", "cluster": "dc1", "topic": "out", "partition": 0, "offset": 1,
	     "parents": [{"id": "dc1/transactions/0/0", "type": "streams", "primary": true},
	                 {"id": "dc1/transactions/0/1", "type": "warp", "primary": true},
	                 {"id": "dc1/transactions/0/0", "type": "streams"},
	                 {"id": "dc1/out/0/1", "type": "streams"},
	                 {"id": "dc1/gone/0/0", "type": "state_store"}]},
	    {"id": "dc1/bad/0/0", "cluster": "dc1", "topic": "", "partition": -1, "offset": -5}
	  ],
	  "events": [
	    {"event_id": "e0", "record": "dc1/transactions/0/0"},
	    {"event_id": "e0", "record": "dc1/transactions/0/1"},
	    {"event_id": "e2", "record": "dc1/missing/0/0"},
	    {"event_id": "e3", "record": "dc1/out/0/0"}
	  ]
	}`
	tr, err := ParseTruth([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`duplicate record id dc1/transactions/0/0`,
		`record #2 has no id, using dc1/transactions/0/1`,
		`record dc1/out/0/0 has no primary parent, using the last one (dc1/transactions/0/1)`,
		`record dc1/out/0/1: parent dc1/transactions/0/1 has unknown type "warp"`,
		`record dc1/out/0/1: parent dc1/transactions/0/0 listed twice`,
		`record dc1/out/0/1 is its own parent`,
		`record dc1/out/0/1 has several primary parents, using dc1/transactions/0/0`,
		`record dc1/out/0/1: parent dc1/gone/0/0 is not a truth record`,
		`record dc1/bad/0/0 has no topic`,
	} {
		if !strings.Contains(strings.Join(tr.Problems.Samples, "\n"), want) {
			t.Errorf("no problem %q in\n%s", want, strings.Join(tr.Problems.Samples, "\n"))
		}
	}
	if tr.Problems.Count != 14 { // the 9 above, the unknown kind, the empty topic, and the three event problems
		t.Errorf("problem count = %d:\n%s", tr.Problems.Count, strings.Join(tr.Problems.Samples, "\n"))
	}
	checkInt(t, "records", len(tr.records), 5)
	// hops: the two transactions to withdrawal-processor (deduplicated) and to spy.
	checkInt(t, "hops", len(tr.hops), 4)
	if typ := tr.hops[hopKey{0, "spy"}]; typ != EdgeOther {
		t.Errorf("unknown consumer kind gives %v", typ)
	}
	// parent edges: out/0/0 ← tx0, tx1; out/0/1 ← tx0, tx1 (+1 unresolved).
	checkInt(t, "parent edges", len(tr.parentEdges), 4)
	out0, out1 := tr.byID["dc1/out/0/0"], tr.byID["dc1/out/0/1"]
	checkInt(t, "out/0/0 primary", int(tr.records[out0].primary), int(tr.byID["dc1/transactions/0/1"]))
	checkInt(t, "out/0/1 primary", int(tr.records[out1].primary), int(tr.byID["dc1/transactions/0/0"]))
	checkInt(t, "out/0/1 unresolved", len(tr.records[out1].unresolvedParents), 1)
	checkInt(t, "events", len(tr.events), 4)
	checkInt(t, "event e2 origin", int(tr.events[2].origin), -1)
}

// A truth whose parents form a cycle must not hang the journey or ancestor walks.
func TestTruthCycle(t *testing.T) {
	tb := newTruth()
	tb.f.Records = []TruthRecord{
		{ID: "a", Cluster: "dc1", Topic: "x", Partition: 0, Offset: 0, Parents: []TruthParent{primary("streams", "b")}},
		{ID: "b", Cluster: "dc1", Topic: "x", Partition: 0, Offset: 1, Parents: []TruthParent{primary("streams", "a")}},
	}
	tb.f.Events = []TruthEvent{{EventID: "e", Record: "a"}}
	dir := writeCapture(t, tb, []tspan{
		producer("pa", "A", "", tp, "x", 0, 0),
		producer("pb", "A", "pa", tp, "x", 0, 1),
		producer("pc", "A", "pb", tp, "x", 0, 0),
	})
	rep := evaluate(t, dir, Options{EventDetails: true})
	checkAll(t, rep, edgeCounts{2, 2, 2, 2})
	checkInt(t, "journey records", rep.EventDetails[0].JourneyRecords, 2)
}
