package captureeval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// EdgeType is a bucket of the per-edge-type breakdown.
type EdgeType uint8

// The breakdown buckets of docs/capture-format.md, plus EdgeOther for edges the truth cannot
// classify (unknown parent types or consumer kinds, wrong edges into origin records).
const (
	EdgeProducerConsumer EdgeType = iota
	EdgeStreams
	EdgeStateStore
	EdgeConnect
	EdgeCluster
	EdgeOther
	numEdgeTypes
)

var edgeTypeNames = [numEdgeTypes]string{"producer_consumer", "streams", "state_store", "connect", "cluster", "other"}

func (t EdgeType) String() string {
	if t < numEdgeTypes {
		return edgeTypeNames[t]
	}
	return fmt.Sprintf("EdgeType(%d)", uint8(t))
}

// parentEdgeType maps a truth parent edge type to its bucket.
func parentEdgeType(s string) (EdgeType, bool) {
	switch s {
	case "streams":
		return EdgeStreams, true
	case "state_store":
		return EdgeStateStore, true
	case "cluster":
		return EdgeCluster, true
	case "connect":
		return EdgeConnect, true
	case "producer_consumer":
		return EdgeProducerConsumer, true
	}
	return EdgeOther, false
}

// consumerKindType maps a truth consumer kind to the bucket of its hops.
func consumerKindType(kind string) (EdgeType, bool) {
	switch kind {
	case "consumer", "streams":
		return EdgeProducerConsumer, true
	case "mirror":
		return EdgeCluster, true
	case "connect_sink":
		return EdgeConnect, true
	case "restore":
		return EdgeStateStore, true
	}
	return EdgeOther, false
}

// TruthFile is the part of truth.json lineage-eval reads; other fields are ignored, so their
// types do not matter.
type TruthFile struct {
	SchemaVersion int             `json:"schema_version"`
	Scenario      string          `json:"scenario"`
	Config        string          `json:"config"`
	Consumers     []TruthConsumer `json:"consumers"`
	Records       []TruthRecord   `json:"records"`
	Events        []TruthEvent    `json:"events"`
}

// TruthConsumer says which service reads which topic of which cluster.
type TruthConsumer struct {
	Cluster   string `json:"cluster"`
	Topic     string `json:"topic"`
	Service   string `json:"service"`
	Kind      string `json:"kind"`
	Connector string `json:"connector"`
}

// TruthRecord is one Kafka record of the pipeline.
type TruthRecord struct {
	ID        string        `json:"id"`
	Cluster   string        `json:"cluster"`
	Topic     string        `json:"topic"`
	Partition int64         `json:"partition"`
	Offset    int64         `json:"offset"`
	Parents   []TruthParent `json:"parents"`
}

// TruthParent is one parent edge of a record.
type TruthParent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Primary bool   `json:"primary"`
}

// TruthEvent is one event: an origin record.
type TruthEvent struct {
	EventID string `json:"event_id"`
	Record  string `json:"record"`
}

// recIdx indexes Truth.records.
type recIdx = int32

type truthParent struct {
	rec recIdx
	typ EdgeType
}

type truthHop struct {
	service string
	typ     EdgeType
	// optional hops (state restoration reading a changelog) are correct when observed but not
	// required: whether a record is restored depends on when the app restarted.
	optional bool
}

type truthRecord struct {
	id      string
	cluster string
	coord   Coord
	parents []truthParent // resolved, without duplicates
	// unresolvedParents are parent edges naming records the truth does not hold: truth edges
	// that can never be observed.
	unresolvedParents []EdgeType
	primary           recIdx // -1: none, or not resolvable
	primaryType       EdgeType
	hasParents        bool
	primaryChildren   []recIdx
	hops              []truthHop
}

type truthEvent struct {
	id     string
	origin recIdx // -1 when the event's record is not in the truth
}

type hopKey struct {
	rec     recIdx
	service string
}

type edgeKey struct {
	src, dst recIdx
}

type svcTopic struct {
	service, topic string
}

// Truth is a loaded and indexed truth.json.
type Truth struct {
	Scenario string
	Config   string
	// Problems describes inconsistencies found while indexing (they never stop the evaluation).
	Problems Problems

	records     []truthRecord
	byID        map[string]recIdx
	byCoord     map[Coord][]recIdx
	hops        map[hopKey]EdgeType
	parentEdges map[edgeKey]EdgeType
	events      []truthEvent
	consumers   int
	// kindByServiceTopic and kindByService classify observed hops the truth does not have.
	kindByServiceTopic map[svcTopic]EdgeType
	kindByService      map[string]EdgeType
}

// LoadTruth decodes and indexes truth.json. Only undecodable JSON or an unsupported
// schema_version is an error; inconsistencies are recorded in Truth.Problems.
func LoadTruth(r io.Reader) (*Truth, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading truth: %w", err)
	}
	return ParseTruth(data)
}

// ParseTruth is LoadTruth on bytes.
func ParseTruth(data []byte) (*Truth, error) {
	var f TruthFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decoding truth: %w", err)
	}
	return NewTruth(&f)
}

// NewTruth indexes a decoded truth file.
func NewTruth(f *TruthFile) (*Truth, error) {
	t := &Truth{
		Scenario:           f.Scenario,
		Config:             f.Config,
		byID:               make(map[string]recIdx, len(f.Records)),
		byCoord:            make(map[Coord][]recIdx, len(f.Records)),
		hops:               make(map[hopKey]EdgeType),
		parentEdges:        make(map[edgeKey]EdgeType),
		kindByServiceTopic: make(map[svcTopic]EdgeType),
		kindByService:      make(map[string]EdgeType),
	}
	switch {
	case f.SchemaVersion == 0:
		t.Problems.addf("truth: schema_version missing, assuming 1")
	case f.SchemaVersion != 1:
		return nil, fmt.Errorf("truth: unsupported schema_version %d (want 1)", f.SchemaVersion)
	}
	if len(f.Records) > math.MaxInt32 {
		return nil, fmt.Errorf("truth: too many records (%d)", len(f.Records))
	}
	fileToIdx := t.indexRecords(f.Records)
	t.indexParents(f.Records, fileToIdx)
	t.indexConsumers(f.Consumers)
	t.indexEvents(f.Events)
	return t, nil
}

// indexRecords indexes the records and returns, for each entry of recs, its index in t.records
// (-1 for a skipped duplicate).
func (t *Truth) indexRecords(recs []TruthRecord) []recIdx {
	fileToIdx := make([]recIdx, len(recs))
	type clusterCoord struct {
		cluster string
		coord   Coord
	}
	seenCoord := make(map[clusterCoord]string, len(recs))
	for i := range recs {
		r := &recs[i]
		id := r.ID
		if id == "" {
			id = fmt.Sprintf("%s/%s/%d/%d", r.Cluster, r.Topic, r.Partition, r.Offset)
			t.Problems.addf("truth: record #%d has no id, using %s", i, id)
		}
		if _, dup := t.byID[id]; dup {
			t.Problems.addf("truth: duplicate record id %s (later one ignored)", id)
			fileToIdx[i] = -1
			continue
		}
		idx := recIdx(len(t.records))
		fileToIdx[i] = idx
		t.byID[id] = idx
		tr := truthRecord{id: id, cluster: r.Cluster, primary: -1}
		valid := true
		switch {
		case r.Topic == "":
			t.Problems.addf("truth: record %s has no topic", id)
			valid = false
		case r.Partition < 0 || r.Partition > math.MaxInt32:
			t.Problems.addf("truth: record %s: partition %d out of range", id, r.Partition)
			valid = false
		case r.Offset < 0:
			t.Problems.addf("truth: record %s: negative offset %d", id, r.Offset)
			valid = false
		}
		if valid {
			tr.coord = Coord{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset}
			cc := clusterCoord{r.Cluster, tr.coord}
			if other, dup := seenCoord[cc]; dup {
				t.Problems.addf("truth: records %s and %s share cluster %q and %s (%s ignored for spans)", other, id, r.Cluster, tr.coord, id)
			} else {
				seenCoord[cc] = id
				t.byCoord[tr.coord] = append(t.byCoord[tr.coord], idx)
			}
		}
		t.records = append(t.records, tr)
	}
	return fileToIdx
}

func (t *Truth) indexParents(recs []TruthRecord, fileToIdx []recIdx) {
	for i := range recs {
		r := &recs[i]
		idx := fileToIdx[i]
		if idx < 0 {
			continue
		}
		tr := &t.records[idx]
		id := tr.id
		type parent struct {
			id      string
			typ     EdgeType
			primary bool
		}
		var ps []parent
		seenParent := make(map[string]int, len(r.Parents))
		for _, p := range r.Parents {
			typ, ok := parentEdgeType(p.Type)
			if !ok {
				t.Problems.addf("truth: record %s: parent %s has unknown type %q", id, p.ID, p.Type)
			}
			if p.ID == id {
				t.Problems.addf("truth: record %s is its own parent (ignored)", id)
				continue
			}
			if j, dup := seenParent[p.ID]; dup {
				t.Problems.addf("truth: record %s: parent %s listed twice", id, p.ID)
				ps[j].primary = ps[j].primary || p.Primary
				continue
			}
			seenParent[p.ID] = len(ps)
			ps = append(ps, parent{p.ID, typ, p.Primary})
		}
		if len(ps) == 0 {
			continue
		}
		tr.hasParents = true
		primary := -1
		for j, p := range ps {
			if p.primary {
				if primary >= 0 {
					t.Problems.addf("truth: record %s has several primary parents, using %s", id, ps[primary].id)
					break
				}
				primary = j
			}
		}
		if primary < 0 {
			primary = len(ps) - 1
			t.Problems.addf("truth: record %s has no primary parent, using the last one (%s)", id, ps[primary].id)
		}
		tr.primaryType = ps[primary].typ
		for j, p := range ps {
			pi, ok := t.byID[p.id]
			if !ok {
				t.Problems.addf("truth: record %s: parent %s is not a truth record", id, p.id)
				tr.unresolvedParents = append(tr.unresolvedParents, p.typ)
				continue
			}
			tr.parents = append(tr.parents, truthParent{rec: pi, typ: p.typ})
			t.parentEdges[edgeKey{pi, idx}] = p.typ
			if j == primary {
				tr.primary = pi
				t.records[pi].primaryChildren = append(t.records[pi].primaryChildren, idx)
			}
		}
	}
}

func (t *Truth) indexConsumers(cs []TruthConsumer) {
	type clusterTopic struct{ cluster, topic string }
	byTopic := make(map[clusterTopic][]recIdx)
	for i := range t.records {
		r := &t.records[i]
		if r.coord.Topic == "" {
			continue
		}
		k := clusterTopic{r.cluster, r.coord.Topic}
		byTopic[k] = append(byTopic[k], recIdx(i))
	}
	const mixed = numEdgeTypes // kindByService marker: the service has hops of several types
	for _, c := range cs {
		t.consumers++
		typ, ok := consumerKindType(c.Kind)
		if !ok {
			t.Problems.addf("truth: consumer %s of %s/%s has unknown kind %q", c.Service, c.Cluster, c.Topic, c.Kind)
		}
		if c.Service == "" || c.Topic == "" {
			t.Problems.addf("truth: consumer entry without service or topic (%q, %q) ignored", c.Service, c.Topic)
			continue
		}
		st := svcTopic{c.Service, c.Topic}
		if _, ok := t.kindByServiceTopic[st]; !ok {
			t.kindByServiceTopic[st] = typ
		}
		if prev, ok := t.kindByService[c.Service]; !ok {
			t.kindByService[c.Service] = typ
		} else if prev != typ {
			t.kindByService[c.Service] = mixed
		}
		for _, ri := range byTopic[clusterTopic{c.Cluster, c.Topic}] {
			hk := hopKey{ri, c.Service}
			if _, dup := t.hops[hk]; dup {
				continue
			}
			t.hops[hk] = typ
			t.records[ri].hops = append(t.records[ri].hops, truthHop{service: c.Service, typ: typ, optional: c.Kind == "restore"})
		}
	}
	for s, typ := range t.kindByService {
		if typ == mixed {
			delete(t.kindByService, s)
		}
	}
}

func (t *Truth) indexEvents(es []TruthEvent) {
	seen := make(map[string]bool, len(es))
	for _, e := range es {
		if seen[e.EventID] {
			t.Problems.addf("truth: duplicate event id %q", e.EventID)
		}
		seen[e.EventID] = true
		origin, ok := t.byID[e.Record]
		if !ok {
			t.Problems.addf("truth: event %q names record %q, which is not a truth record", e.EventID, e.Record)
			origin = -1
		} else if t.records[origin].hasParents {
			t.Problems.addf("truth: event %q: record %s is not an origin (it has parents)", e.EventID, e.Record)
		}
		t.events = append(t.events, truthEvent{id: e.EventID, origin: origin})
	}
}

// lookup resolves a span's record: the truth records at c; several clusters hold c → the one
// of the span's resource cluster. ambiguous reports several candidates none of which matches.
func (t *Truth) lookup(c Coord, cluster string) (idx recIdx, found, ambiguous bool) {
	cands := t.byCoord[c]
	switch len(cands) {
	case 0:
		return -1, false, false
	case 1:
		return cands[0], true, false
	}
	for _, ci := range cands {
		if t.records[ci].cluster == cluster {
			return ci, true, false
		}
	}
	return -1, false, true
}

// classifyHop buckets an observed hop: the truth's type when the truth has the hop, else the
// kind the service consumes that topic (or any topic) with, else producer_consumer.
func (t *Truth) classifyHop(k hopKey) (EdgeType, bool) {
	if typ, ok := t.hops[k]; ok {
		return typ, true
	}
	if typ, ok := t.kindByServiceTopic[svcTopic{k.service, t.records[k.rec].coord.Topic}]; ok {
		return typ, false
	}
	if typ, ok := t.kindByService[k.service]; ok {
		return typ, false
	}
	return EdgeProducerConsumer, false
}

// classifyDerived buckets an observed derived edge: the truth parent edge's type when direct,
// else the type of the target's primary parent edge, else other.
func (t *Truth) classifyDerived(k edgeKey) (EdgeType, bool) {
	if typ, ok := t.parentEdges[k]; ok {
		return typ, true
	}
	if dst := &t.records[k.dst]; dst.hasParents {
		return dst.primaryType, false
	}
	return EdgeOther, false
}

// ancestorIndex answers whether one truth record is an ancestor of another (through any parent
// edge, transitively), memoizing each target's ancestor set.
type ancestorIndex struct {
	truth *Truth
	memo  map[recIdx]map[recIdx]struct{}
}

func newAncestorIndex(t *Truth) *ancestorIndex {
	return &ancestorIndex{truth: t, memo: make(map[recIdx]map[recIdx]struct{})}
}

func (a *ancestorIndex) isAncestor(src, dst recIdx) bool {
	anc, ok := a.memo[dst]
	if !ok {
		anc = make(map[recIdx]struct{})
		stack := []recIdx{dst}
		for len(stack) > 0 {
			r := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, p := range a.truth.records[r].parents {
				if _, seen := anc[p.rec]; !seen {
					anc[p.rec] = struct{}{}
					stack = append(stack, p.rec)
				}
			}
		}
		a.memo[dst] = anc
	}
	_, ok = anc[src]
	return ok
}
