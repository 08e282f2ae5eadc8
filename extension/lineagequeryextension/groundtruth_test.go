package lineagequeryextension

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventlineage/lineage/internal/captureeval"
	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/extract"
	"github.com/eventlineage/lineage/internal/lineagestore/extract/extracttest"
	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

// TestGroundTruth asks the API the two questions of issue 5 about every committed capture with
// record facts, stitched offline, extracted and written to SQLite as the lineage exporter does:
//
//   - "which inputs led to this output": for every output record of the truth, the origins
//     (nodes with origin: true) of its upstream lineage must be exactly the origin records the
//     truth says contributed to it (all parents, transitively, primary or not);
//   - "what did this input touch": for every event (origin record) of the truth, its downstream
//     lineage must hold every touchpoint the truth lists (services, topics, state stores,
//     connectors, clusters), in its nodes' events or touchpoints. One kind of answer is accepted
//     instead, and counted apart: a state store the truth credits to the event because it
//     contributed to a changelog record by fan-in, whose store operation the API shows under the
//     record's primary input (see storeOps).
//
// Records are named by cluster name (dc1) as the truth names them, so the API resolves names.
// The walk is as deep and as large as the API allows; a truncated answer fails. Mismatches are
// listed (per record: what is missing, what is in excess) before the test fails. Touchpoints in
// an event's lineage that its truth does not list are logged, not failed: the known ones are
// multicluster-b's sink links to the wrong one of two records carrying the same forwarded
// header (docs/stitching.md).
func TestGroundTruth(t *testing.T) {
	for _, name := range extracttest.CapturesWithFacts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := captureAPI(t, name)
			tr := readTruth(t, name)
			var cfg uiConfig
			c.getJSON("/api/v1/config", 200, &cfg)
			bounds := fmt.Sprintf("depth=%d&max_events=%d", cfg.MaxLineageDepth, cfg.MaxLineageEvents)
			lineage := func(record string, dir lineagestore.Direction) lineagestore.Graph {
				var g lineagestore.Graph
				c.getJSON("/api/v1/events/"+record+"/lineage?direction="+string(dir)+"&"+bounds, 200, &g)
				require.False(t, g.Truncated, "%s lineage of %s truncated", dir, record)
				return g
			}

			outputs, matched := 0, 0
			originDiffs := map[string]diff{}
			for _, r := range tr.Records {
				if r.Role != "output" {
					continue
				}
				outputs++
				var have []string
				for _, n := range lineage(r.ID, lineagestore.Upstream).Nodes {
					if n.Origin && n.Depth != 0 {
						have = append(have, truthRecordID(t, n.Event))
					}
				}
				if d := compare(tr.origins(r.ID), have); d.empty() {
					matched++
				} else {
					originDiffs[r.ID] = d
				}
			}

			events, complete, touchpoints, found, fanIn := 0, 0, 0, 0, 0
			touchpointDiffs := map[string]diff{}
			ops := storeOps{c: c, of: map[lineagestore.RecordID]string{}}
			beyond := map[string][]string{} // touched according to the API, not to the truth: by event
			for _, e := range tr.Events {
				events++
				want := e.Touchpoints.all()
				g := lineage(e.Record, lineagestore.Downstream)
				have := touched(t, g)
				missing := minus(want, have)
				for _, x := range minus(have, want) {
					beyond[x] = append(beyond[x], e.Record)
				}
				// See storeOps: a store the truth credits to a fan-in contributor.
				outside := ops.outside(g)
				d := diff{Missing: minus(missing, outside)}
				touchpoints += len(want)
				found += len(want) - len(missing)
				fanIn += len(missing) - len(d.Missing)
				if d.empty() {
					complete++
				} else {
					touchpointDiffs[e.Record] = d
				}
			}

			t.Logf("%s: upstream: %d of %d outputs have exactly the truth's origins; downstream: %d of %d truth touchpoints "+
				"in the events' lineage, %d more are state stores written for a record the event reached as a fan-in contributor, "+
				"%d of %d events have all",
				name, matched, outputs, found, touchpoints, fanIn, complete, events)
			t.Logf("%s: in an event's lineage, not in its truth: %v", name, beyond)
			require.NotZero(t, outputs)
			require.NotZero(t, events)
			logDiffs(t, "outputs whose upstream origins differ from the truth's", originDiffs)
			logDiffs(t, "events whose downstream lineage misses touchpoints of the truth", touchpointDiffs)
		})
	}
}

// captureAPI serves the API over a SQLite store holding capture name, stitched, extracted and
// written in two batches (record facts, then spans) with the maxima of the store as the API's.
func captureAPI(t *testing.T, name string) *apiClient {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "lineage.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	// The captures' facts carry unkeyed SHA-256 key hashes (the harness' receiver configuration).
	hasher, err := recordfact.NewKeyHasher(recordfact.AlgorithmSHA256, "")
	require.NoError(t, err)
	facts, fst := extract.Facts(extracttest.Facts(t, name))
	require.Zero(t, fst.Malformed)
	spans, _ := extract.Traces(extracttest.Stitched(t, name), hasher)
	require.NoError(t, s.Write(ctx, facts))
	require.NoError(t, s.Write(ctx, spans))

	cfg := testConfig()
	cfg.MaxLineageDepth, cfg.MaxLineageEvents = lineagestore.MaxLineageDepth, lineagestore.MaxLineageEvents
	return newTestAPI(t, cfg, &fixtureProvider{store: s, hasher: hasher})
}

// truthRecordID names an event as the truth does: by its cluster's name.
func truthRecordID(t *testing.T, e lineagestore.Event) string {
	require.NotEmpty(t, e.ClusterName, "cluster name of %s", e.Record)
	r := e.Record
	r.Cluster = e.ClusterName
	return r.String()
}

// touched lists what a lineage graph touched, named as the truth's touchpoints are: services
// (producers and touchpoints), topics "cluster/topic", state stores "service/store" (the harness'
// Streams application ids are their service names), connectors and clusters (of the events and of
// the touching services).
func touched(t *testing.T, g lineagestore.Graph) []string {
	set := map[string]bool{}
	add := func(kind, v string) {
		if v != "" {
			set[kind+":"+v] = true
		}
	}
	for _, n := range g.Nodes {
		add("service", n.Event.Producer)
		add("topic", n.Event.ClusterName+"/"+n.Event.Record.Topic)
		require.NotEmpty(t, n.Event.ClusterName, "cluster name of %s", n.Event.Record)
		add("cluster", n.Event.ClusterName)
		for _, tp := range n.Touchpoints {
			add("service", tp.Service)
			add("connector", tp.Connector)
			add("cluster", tp.ClusterName)
			if tp.StateStore != "" {
				add("state_store", tp.Service+"/"+tp.StateStore)
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// storeOps finds the state-store operations behind the records of a lineage graph that are
// touchpoints of events outside it.
//
// The truth credits a state store to every contributor of a changelog record, while the store
// holds one span per changelog write: the put or delete the lineage processor synthesizes as the
// parent of the changelog producer span, under the process span of the record the Streams task was
// processing. That span is a touchpoint of that record's event (the changelog record's non-link
// input), so the downstream lineage of another contributor (fan_in link, e.g. an earlier
// withdrawal of the same account coalesced by the store's cache into one balances write) holds
// the changelog record but not the operation. The check finds the operation through the API:
// the changelog record's producer span names it as parent; it is looked up among the touchpoints
// of the record's non-link inputs.
type storeOps struct {
	c *apiClient
	// of: the state store ("service/store") of the operation that is the parent of a record's
	// producer span, "" when that parent is no state-store operation.
	of map[lineagestore.RecordID]string
}

// outside returns the state stores of the operations behind g's records whose span is no
// touchpoint of g.
func (o *storeOps) outside(g lineagestore.Graph) []string {
	inGraph := map[string]bool{}
	for _, n := range g.Nodes {
		for _, tp := range n.Touchpoints {
			inGraph[tp.SpanID] = true
		}
	}
	var out []string
	for _, n := range g.Nodes {
		for _, tp := range n.Touchpoints {
			if tp.Kind != lineagestore.KindProduce || tp.ParentSpanID == "" || inGraph[tp.ParentSpanID] {
				continue
			}
			if s := o.parentStore(n.Event.Record, tp); s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// parentStore resolves the state store of the operation that is the parent of producer span tp
// of record r.
func (o *storeOps) parentStore(r lineagestore.RecordID, tp lineagestore.Touchpoint) string {
	if s, ok := o.of[r]; ok {
		return s
	}
	var d lineagestore.EventDetail
	o.c.getJSON("/api/v1/events/"+r.String(), 200, &d)
	for _, in := range d.Inputs {
		if in.Link {
			continue
		}
		var p lineagestore.EventDetail
		o.c.getJSON("/api/v1/events/"+in.From.String(), 200, &p)
		for _, op := range p.Touchpoints {
			if op.SpanID == tp.ParentSpanID && op.TraceID == tp.TraceID && op.Kind == lineagestore.KindStateStore {
				o.of[r] = "state_store:" + op.Service + "/" + op.StateStore
				return o.of[r]
			}
		}
	}
	o.of[r] = ""
	return ""
}

// truthFile is the part of truth.json this test reads.
type truthFile struct {
	Records []struct {
		ID      string `json:"id"`
		Role    string `json:"role"`
		Parents []struct {
			ID string `json:"id"`
		} `json:"parents"`
	} `json:"records"`
	Events []struct {
		Record      string           `json:"record"`
		Touchpoints truthTouchpoints `json:"touchpoints"`
	} `json:"events"`

	parents map[string][]string
}

// truthTouchpoints is what an event touched according to the truth.
type truthTouchpoints struct {
	Services    []string `json:"services"`
	Topics      []string `json:"topics"`
	StateStores []string `json:"state_stores"`
	Connectors  []string `json:"connectors"`
	Clusters    []string `json:"clusters"`
}

// all lists the touchpoints as touched names them.
func (tp truthTouchpoints) all() []string {
	var out []string
	for kind, vs := range map[string][]string{"service": tp.Services, "topic": tp.Topics,
		"state_store": tp.StateStores, "connector": tp.Connectors, "cluster": tp.Clusters} {
		for _, v := range vs {
			out = append(out, kind+":"+v)
		}
	}
	slices.Sort(out)
	return out
}

func readTruth(t *testing.T, name string) *truthFile {
	data, err := os.ReadFile(filepath.Join(extracttest.Dir(name), captureeval.TruthFileName))
	require.NoError(t, err)
	var f truthFile
	require.NoError(t, json.Unmarshal(data, &f))
	f.parents = map[string][]string{}
	for _, r := range f.Records {
		for _, p := range r.Parents {
			f.parents[r.ID] = append(f.parents[r.ID], p.ID)
		}
	}
	return &f
}

// origins returns the records without parents among id's transitive parents (sorted).
func (f *truthFile) origins(id string) []string {
	seen := map[string]bool{id: true}
	stack := []string{id}
	var out []string
	for len(stack) > 0 {
		r := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ps := f.parents[r]
		if len(ps) == 0 && r != id {
			out = append(out, r)
		}
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// diff is how an answer differs from the truth.
type diff struct {
	Missing []string `json:"missing,omitempty"`
	Excess  []string `json:"excess,omitempty"`
}

func (d diff) empty() bool { return len(d.Missing) == 0 && len(d.Excess) == 0 }

func compare(want, have []string) diff {
	slices.Sort(have)
	return diff{Missing: minus(want, have), Excess: minus(have, want)}
}

// minus returns the elements of a not in the sorted b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if _, found := slices.BinarySearch(b, s); !found {
			out = append(out, s)
		}
	}
	return out
}

// logDiffs fails the test listing the differences, if any.
func logDiffs(t *testing.T, what string, diffs map[string]diff) {
	if assert.Empty(t, slices.Sorted(maps.Keys(diffs)), what) {
		return
	}
	js, _ := json.MarshalIndent(diffs, "", "  ")
	t.Logf("%s:\n%s", what, strings.TrimSpace(string(js)))
}
