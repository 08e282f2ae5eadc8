// Package extract turns what the collector receives into lineage store writes: the lineage
// processor's stitched spans into events, touchpoints and edges (Traces), and the kafka_records
// receiver's record facts into events and cluster names (Facts). Both are pure functions of one
// export call; input is external and untrusted, so nothing is fatal: what cannot be used is
// counted in the returned stats.
//
// Edges are read from the spans the way internal/captureeval reads observed edges, so that the
// store holds the lineage the evaluation measures:
//
//   - A record span is a PRODUCER or CONSUMER span naming topic, partition and offset (the
//     attributes of the lineage processor's record coordinate); its record's cluster is the
//     span's messaging.kafka.cluster.id, else the resource's kafka.cluster.name.
//   - For a record span S, the nearest ancestor record span A (through parent span ids within the
//     trace) gives the edge record(A) → record(S) when the records differ; the same record is a
//     hop (a touchpoint), not an edge. The edge is derived, with that rule, when S or a span
//     between S and A carries lineage.rule (the nearest one counts; lineage.derived_from=
//     configuration on it makes it configuration), else measured.
//   - Every link of a record span S to a span L gives record(L) → record(S) (Edge.Link), with the
//     rule and derivation read from the link's attributes; a link marked
//     lineage.link_direction=child (the processor's reverse link, on a parent pointing at its
//     child) gives record(S) → record(L). record(L) is L's own record, else its nearest ancestor's.
//   - Where the parent, the linked span or an ancestor on the way is not in this export call (nor
//     in the SpanIndex), the edge is a PendingEdge naming that span: the store resolves it against
//     the touchpoints it holds or receives later.
//
// Touchpoints: every span belongs to the event of its own record, else of its nearest ancestor's
// (a span without either in this export call, or in the SpanIndex of earlier calls given to
// TracesWith, is counted as unanchored and not stored). A
// record-less CONSUMER span linking to record spans (a Kafka Connect sink batch, or the per-record
// span the processor splits off it) is also a touchpoint of each linked record.
package extract // import "github.com/eventlineage/lineage/internal/lineagestore/extract"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Stats counts what Traces read and what it could not use.
type Stats struct {
	Spans       int // spans read
	RecordSpans int // spans naming a record
	// Skipped or degraded input, by reason (see Reasons).
	InvalidIDs      int // empty trace or span id: span ignored
	Duplicates      int // a (trace id, span id) seen before in the same call: ignored
	SelfParents     int // a span naming itself as parent: taken as a root
	ParentCycles    int // parent ids forming a cycle: the walk stops, no ancestor
	InvalidRecords  int // record attributes present but unusable: taken as record-less
	Unanchored      int // no record of its own and no ancestor record in the call: no touchpoint
	UnresolvedLinks int // a record-less span's link or a reverse link to a span not in the call: no touchpoint / edge
	Truncated       int // strings cut at MaxStringBytes
	// LateTouchpoints counts touchpoints of spans of EARLIER calls (unanchored then) whose
	// ancestor came in this call, written now (TracesWith only).
	LateTouchpoints int
}

// Reasons lists the skip counters with the reason names used in telemetry.
func (s *Stats) Reasons() []Reason {
	return []Reason{
		{"invalid_ids", s.InvalidIDs}, {"duplicate_spans", s.Duplicates}, {"self_parents", s.SelfParents},
		{"parent_cycles", s.ParentCycles}, {"invalid_records", s.InvalidRecords}, {"unanchored_spans", s.Unanchored},
		{"unresolved_links", s.UnresolvedLinks}, {"truncated_strings", s.Truncated},
	}
}

// Reason is one named counter of skipped or degraded input.
type Reason struct {
	Name  string
	Count int
}

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// span is what the extraction keeps of one span.
type span struct {
	s       ptrace.Span
	key     spanKey
	parent  pcommon.SpanID
	service string
	cluster string // resource kafka.cluster.name
	rec     lineagestore.RecordID
	hasRec  bool
	// recByName: the record's cluster is the resource's kafka.cluster.name (no cluster id)
	recByName bool
	rule      string
	config    bool // lineage.derived_from=configuration
	resolved  bool // up is computed
	visiting  bool // on the walk in progress (cycle detection)
	up        upward
}

// upward is the result of walking up from a span: its anchor (the record of its own record span,
// or of the nearest ancestor record span) or the first span on the way that is neither in the call
// nor in the SpanIndex; and the nearest lineage.rule below the anchor.
type upward struct {
	anchored bool
	own      bool // the anchor is the span's own record
	rec      lineagestore.RecordID
	missing  pcommon.SpanID
	rule     string
	config   bool
}

type extractor struct {
	hasher lineagestore.KeyHasher
	stats  Stats
	spans  []span
	byKey  map[spanKey]int32
	batch  *lineagestore.Batch
	events map[lineagestore.RecordID]int
	edges  map[edgeKey]struct{}
	tps    map[tpKey]struct{}
	path   []int32
	known  *SpanIndex
	// waiting: this call's unanchored spans whose walk ended at a span not yet seen
	waiting []waitingSpan
}

type edgeKey struct {
	from, to lineagestore.RecordID
	link     bool
}

type pendingKey struct {
	from spanKey
	to   lineagestore.RecordID
	link bool
}

type tpKey struct {
	rec  lineagestore.RecordID
	span spanKey
}

// Traces extracts the events, touchpoints and edges of one export call's spans. hasher hashes the
// record keys found on producer spans (nil: no key hashes from spans).
func Traces(td ptrace.Traces, hasher lineagestore.KeyHasher) (*lineagestore.Batch, Stats) {
	return TracesWith(td, hasher, nil)
}

// TracesWith is Traces with the spans of earlier export calls remembered in known (nil: none): a
// walk up or a link reaching a span of an earlier call continues from what was learnt about it,
// and the spans of this call are added to it.
func TracesWith(td ptrace.Traces, hasher lineagestore.KeyHasher, known *SpanIndex) (*lineagestore.Batch, Stats) {
	x := &extractor{
		known:  known,
		hasher: hasher,
		byKey:  make(map[spanKey]int32, td.SpanCount()),
		batch:  &lineagestore.Batch{},
		events: make(map[lineagestore.RecordID]int),
		edges:  make(map[edgeKey]struct{}),
		tps:    make(map[tpKey]struct{}),
	}
	x.index(td)
	pending := make(map[pendingKey]struct{})
	for i := range x.spans {
		x.extractSpan(int32(i), pending)
	}
	x.remember()
	return x.batch, x.stats
}

// remember adds what this call's spans anchor to the index, for later calls.
func (x *extractor) remember() {
	if x.known == nil {
		return
	}
	entries := make([]indexEntry, 0, len(x.spans))
	for i := range x.spans {
		if up := x.resolve(int32(i)); up.anchored {
			entries = append(entries, indexEntry{key: x.spans[i].key, up: up})
		}
	}
	late := x.known.add(entries, x.waiting)
	x.stats.LateTouchpoints += len(late)
	x.batch.Touchpoints = append(x.batch.Touchpoints, late...)
}

// lookup is what the index knows about a span that is not in the call.
func (x *extractor) lookup(k spanKey) (upward, bool) {
	if x.known == nil {
		return upward{}, false
	}
	return x.known.get(k)
}

// index reads every span once.
func (x *extractor) index(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service := capString(str(rs.Resource().Attributes(), attrServiceName), &x.stats.Truncated)
		cluster := str(rs.Resource().Attributes(), attrClusterName)
		if len(cluster) > MaxStringBytes {
			cluster = "" // a cluster name that long names nothing; counted as a cut
			x.stats.Truncated++
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j).Spans()
			for k := 0; k < ss.Len(); k++ {
				x.add(ss.At(k), service, cluster)
			}
		}
	}
}

func (x *extractor) add(s ptrace.Span, service, cluster string) {
	x.stats.Spans++
	sp := span{s: s, key: spanKey{s.TraceID(), s.SpanID()}, parent: s.ParentSpanID(), service: service, cluster: cluster}
	if sp.key.trace.IsEmpty() || sp.key.span.IsEmpty() {
		x.stats.InvalidIDs++
		return
	}
	if _, dup := x.byKey[sp.key]; dup {
		x.stats.Duplicates++
		return
	}
	if sp.parent == sp.key.span {
		x.stats.SelfParents++
		sp.parent = pcommon.SpanID{}
	}
	attrs := s.Attributes()
	if k := s.Kind(); k == ptrace.SpanKindProducer || k == ptrace.SpanKindConsumer {
		rec, byName, st := parseRecord(attrs, cluster)
		switch st {
		case recordOK:
			sp.rec, sp.hasRec, sp.recByName = rec, true, byName
			x.stats.RecordSpans++
		case recordInvalid:
			x.stats.InvalidRecords++
		}
	}
	sp.rule = capString(str(attrs, attrRule), &x.stats.Truncated)
	sp.config = str(attrs, attrDerivedFrom) == derivedFromConf
	x.byKey[sp.key] = int32(len(x.spans))
	x.spans = append(x.spans, sp)
}

// resolve computes the upward result of span i (memoized; every span on the walk gets its own).
func (x *extractor) resolve(i int32) upward {
	if x.spans[i].resolved {
		return x.spans[i].up
	}
	path := x.path[:0]
	var base upward
	for j := i; ; {
		sp := &x.spans[j]
		if sp.resolved {
			base = sp.up
			break
		}
		if sp.visiting {
			x.stats.ParentCycles++
			break
		}
		if sp.hasRec {
			sp.up, sp.resolved = upward{anchored: true, own: true, rec: sp.rec}, true
			base = sp.up
			break
		}
		sp.visiting = true
		path = append(path, j)
		if sp.parent.IsEmpty() {
			break
		}
		pk := spanKey{sp.key.trace, sp.parent}
		p, ok := x.byKey[pk]
		if !ok {
			base, ok = x.lookup(pk)
			if !ok {
				base = upward{missing: sp.parent}
			}
			break
		}
		j = p
	}
	for k := len(path) - 1; k >= 0; k-- {
		sp := &x.spans[path[k]]
		up := upward{anchored: base.anchored, rec: base.rec, missing: base.missing, rule: base.rule, config: base.config}
		if sp.rule != "" {
			up.rule, up.config = sp.rule, sp.config
		}
		sp.up, sp.resolved, sp.visiting = up, true, false
		base = up
	}
	x.path = path[:0]
	return x.spans[i].up
}

// above is the upward result seen from span i's parent: the nearest record ancestor of i.
func (x *extractor) above(i int32) (up upward, hasParent bool) {
	sp := &x.spans[i]
	if sp.parent.IsEmpty() {
		return upward{}, false
	}
	return x.target(spanKey{sp.key.trace, sp.parent}), true
}

// target is the upward result of the span k: in the call, in the index, or missing.
func (x *extractor) target(k spanKey) upward {
	if j, ok := x.byKey[k]; ok {
		return x.resolve(j)
	}
	if up, ok := x.lookup(k); ok {
		return up
	}
	return upward{missing: k.span}
}

func (x *extractor) extractSpan(i int32, pending map[pendingKey]struct{}) {
	sp := &x.spans[i]
	if sp.hasRec {
		x.event(sp)
		x.touchpoint(sp, sp.rec)
		x.parentEdge(i, pending)
		x.linkEdges(i, pending)
		return
	}
	anchored := false
	up := x.resolve(i)
	if up.anchored {
		x.touchpoint(sp, up.rec)
		anchored = true
	}
	if sp.s.Kind() == ptrace.SpanKindConsumer {
		// A record-less consumer span linking to record spans stands for their consumption.
		links := sp.s.Links()
		for l := 0; l < links.Len(); l++ {
			k := spanKey{links.At(l).TraceID(), links.At(l).SpanID()}
			switch up := x.target(k); {
			case up.own:
				x.touchpoint(sp, up.rec)
				anchored = true
			case up.missing == k.span:
				x.stats.UnresolvedLinks++ // the linked span is in neither this call nor the index
			}
		}
	}
	if !anchored {
		x.stats.Unanchored++
		if x.known != nil && !up.missing.IsEmpty() {
			// its ancestor may come in a later call: the index keeps the touchpoint waiting for it
			x.waiting = append(x.waiting, waitingSpan{
				key: sp.key, missing: spanKey{sp.key.trace, up.missing}, rule: up.rule, config: up.config,
				tp: x.makeTouchpoint(sp, lineagestore.RecordID{}),
			})
		}
	}
}

// parentEdge writes the edge from the nearest ancestor record of record span i, or the pending
// edge from the first span on the way that is not in the call.
func (x *extractor) parentEdge(i int32, pending map[pendingKey]struct{}) {
	sp := &x.spans[i]
	up, ok := x.above(i)
	if !ok {
		return
	}
	rule, config := up.rule, up.config
	if sp.rule != "" {
		rule, config = sp.rule, sp.config
	}
	e := lineagestore.Edge{To: sp.rec, Rule: rule, Derivation: derivation(rule, config), TraceID: sp.key.trace.String()}
	switch {
	case up.anchored:
		e.From = up.rec
		x.edge(e)
	case !up.missing.IsEmpty():
		x.pending(spanKey{sp.key.trace, up.missing}, e, pending)
	}
}

// linkEdges writes the edges of record span i's links.
func (x *extractor) linkEdges(i int32, pending map[pendingKey]struct{}) {
	sp := &x.spans[i]
	links := sp.s.Links()
	for l := 0; l < links.Len(); l++ {
		lk := links.At(l)
		attrs := lk.Attributes()
		rule := capString(str(attrs, attrRule), &x.stats.Truncated)
		e := lineagestore.Edge{Rule: rule, Derivation: derivation(rule, str(attrs, attrDerivedFrom) == derivedFromConf),
			Link: true, TraceID: sp.key.trace.String()}
		reverse := str(attrs, attrLinkDir) == linkDirChild
		target := spanKey{lk.TraceID(), lk.SpanID()}
		up := x.target(target)
		switch {
		case up.anchored && reverse:
			e.From, e.To = sp.rec, up.rec
			x.edge(e)
		case up.anchored:
			e.From, e.To = up.rec, sp.rec
			x.edge(e)
		case up.missing.IsEmpty():
			// the linked span is in the call and has no record on its way up: no lineage
		case reverse:
			x.stats.UnresolvedLinks++ // a pending edge names its input only, not its output
		default:
			e.To = sp.rec
			x.pending(spanKey{target.trace, up.missing}, e, pending)
		}
	}
}

func derivation(rule string, config bool) string {
	switch {
	case config:
		return lineagestore.DerivationConfiguration
	case rule != "":
		return lineagestore.DerivationDerived
	}
	return lineagestore.DerivationMeasured
}

// edge adds e unless it is a record's hop to itself or already written by this call.
func (x *extractor) edge(e lineagestore.Edge) {
	if e.From == e.To {
		return
	}
	k := edgeKey{e.From, e.To, e.Link}
	if _, dup := x.edges[k]; dup {
		return
	}
	x.edges[k] = struct{}{}
	x.batch.Edges = append(x.batch.Edges, e)
}

func (x *extractor) pending(from spanKey, e lineagestore.Edge, seen map[pendingKey]struct{}) {
	k := pendingKey{from, e.To, e.Link}
	if _, dup := seen[k]; dup {
		return
	}
	seen[k] = struct{}{}
	x.batch.PendingEdges = append(x.batch.PendingEdges, lineagestore.PendingEdge{
		From: lineagestore.SpanRef{TraceID: from.trace.String(), SpanID: from.span.String()}, Edge: e,
	})
}

// event adds or completes the event of record span sp: a producer span says when and by whom the
// record was produced, in which trace, and (for non-byte[] keys) its key; a consumer span only
// that the record exists.
func (x *extractor) event(sp *span) {
	ev := lineagestore.Event{Record: sp.rec}
	if sp.recByName {
		ev.ClusterName = sp.cluster // the record's cluster is known by the resource's name only
	}
	if sp.s.Kind() == ptrace.SpanKindProducer {
		ev.ProducedAt = sp.s.StartTimestamp().AsTime()
		ev.TraceID = sp.key.trace.String()
		ev.Producer = sp.service
		if v, ok := sp.s.Attributes().Get(attrMessageKey); ok && x.hasher != nil {
			ev.KeyHash = x.hasher.HashKey(keyBytes(v))
		}
	}
	i, ok := x.events[sp.rec]
	if !ok {
		x.events[sp.rec] = len(x.batch.Events)
		x.batch.Events = append(x.batch.Events, ev)
		return
	}
	x.batch.Events[i].Merge(ev)
}

// touchpoint adds span sp as a touchpoint of record rec (once per record and span).
func (x *extractor) touchpoint(sp *span, rec lineagestore.RecordID) {
	k := tpKey{rec, sp.key}
	if _, dup := x.tps[k]; dup {
		return
	}
	x.tps[k] = struct{}{}
	x.batch.Touchpoints = append(x.batch.Touchpoints, x.makeTouchpoint(sp, rec))
}

// makeTouchpoint builds the touchpoint of span sp for record rec.
func (x *extractor) makeTouchpoint(sp *span, rec lineagestore.RecordID) lineagestore.Touchpoint {
	s := sp.s
	attrs := s.Attributes()
	thread := str(attrs, attrThreadName)
	tp := lineagestore.Touchpoint{
		Record:      rec,
		TraceID:     sp.key.trace.String(),
		SpanID:      sp.key.span.String(),
		Service:     sp.service,
		Operation:   capString(s.Name(), &x.stats.Truncated),
		Kind:        kindOf(sp, attrs, thread),
		Start:       s.StartTimestamp().AsTime(),
		End:         s.EndTimestamp().AsTime(),
		ClusterName: sp.cluster,
		Connector:   capString(connectorOf(attrs, thread), &x.stats.Truncated),
		Rule:        sp.rule,
	}
	if !sp.parent.IsEmpty() {
		tp.ParentSpanID = sp.parent.String()
	}
	if tp.Kind == lineagestore.KindStateStore {
		tp.StateStore = capString(str(attrs, attrStoreName), &x.stats.Truncated)
		tp.StoreOperation = capString(str(attrs, attrStoreOp), &x.stats.Truncated)
	}
	return tp
}

// kindOf classifies a touchpoint span.
func kindOf(sp *span, attrs pcommon.Map, thread string) string {
	kind := sp.s.Kind()
	switch {
	case sp.hasRec && kind == ptrace.SpanKindProducer:
		return lineagestore.KindProduce
	case sp.hasRec:
		return lineagestore.KindConsume
	case str(attrs, attrStoreName) != "":
		return lineagestore.KindStateStore
	case kind == ptrace.SpanKindConsumer && len(thread) > len(taskThreadPrefix) && thread[:len(taskThreadPrefix)] == taskThreadPrefix:
		// a Kafka Connect sink task's batch, or the per-record span split off it
		return lineagestore.KindConnect
	case kind == ptrace.SpanKindConsumer && sp.s.Links().Len() > 0:
		return lineagestore.KindConsume
	}
	return lineagestore.KindInternal
}
