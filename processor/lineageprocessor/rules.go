package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Rule names, written to the lineage.rule attribute.
const (
	ruleOffsetHop              = "offset_hop"
	ruleStreamsForwardedHeader = "streams_forwarded_header"
)

// resolveStatus is the outcome of asking a rule for a span's parent.
type resolveStatus int

const (
	// statusWait: the rule applies but its evidence has not arrived (yet).
	statusWait resolveStatus = iota
	// statusKeep: the rule applies and the span's parent is already right.
	statusKeep
	// statusFound: the rule found the span's true parent.
	statusFound
)

// Rule recovers the parent of a span the agent got wrong. Rules read only the coordinate index;
// the engine decides what to hold, when to give up and how to write the edge.
type Rule interface {
	// Name is written to the lineage.rule attribute of every edge the rule makes.
	Name() string
	// Applies reports whether the rule decides the parent of s. Only cheap checks of s itself.
	Applies(s *spanInfo) bool
	// Resolve looks for the parent of s in idx. When it returns statusWait it also names the index
	// keys (a coordinate, or the spanKey of a producer span) whose arrival may change the answer,
	// appended to wake (the engine's scratch buffer: no allocation per retry); the engine retries
	// s only when one of them arrives.
	Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (parent *spanInfo, status resolveStatus, wakeOn []wakeKey)
}

// wakeKey is a coordinate, a spanKey, a (service, thread, key) of Streams process spans, the
// spanKey of a Streams root producer span whose successor on its thread changed, or the spanKey of
// a span whose recovered edge was recorded; the index touches the coordinate of every span it
// indexes, the spanKey of every producer and consumer span, the procKey of every keyed Streams
// process span, the next key of the root right before every Streams root producer span it adds
// or drops (in start order on the thread), and the edge key of every recorded edge.
//
// It is a tagged union (kind says which) rather than a struct with a field per kind: half the
// size to hash, compare and store per registration.
type wakeKey struct {
	kind wakeKind
	sk   spanKey    // span, next, edge
	c    coordinate // coord; proc uses cluster/topic for service/thread and the key in str
	str  string
}

type wakeKind uint8

const (
	wakeCoord wakeKind = iota + 1
	wakeSpan
	wakeProc
	wakeNext
	wakeEdge
	// record facts (facts.go)
	wakeHash  // Streams process spans of a thread whose input has a key hash
	wakeTS    // ... whose input has a timestamp
	wakeWrite // writes of a key hash to a partition
	wakeMoved // any span later on a thread
	wakeSend  // Streams sends of a key hash on a thread
)

// procKey names the Streams process spans of one record key on one thread.
type procKey struct{ service, thread, key string }

// threadKey names one thread of one service.
type threadKey struct{ service, thread string }

func coordWake(c coordinate) wakeKey { return wakeKey{kind: wakeCoord, c: c} }

func spanWake(k spanKey) wakeKey { return wakeKey{kind: wakeSpan, sk: k} }

func procWake(k procKey) wakeKey {
	return wakeKey{kind: wakeProc, c: coordinate{cluster: k.service, topic: k.thread}, str: k.key}
}

func nextWake(k spanKey) wakeKey { return wakeKey{kind: wakeNext, sk: k} }

func edgeWake(k spanKey) wakeKey { return wakeKey{kind: wakeEdge, sk: k} }

// defaultRules are the rules of this version, in priority order.
func defaultRules(cfg *Config) []Rule {
	return []Rule{
		offsetHopRule{},
		sinkBatchRule{},
		mirrorCopyRule{},
		recordKeyRule{},
		recordHeaderRule{},
		streamsKeyRule{},
		streamsForwardedHeaderRule{},
		recordContextRule{},
		storeDeleteRule{},
		windowEmitRule{},
		punctuationDrainRule{window: cfg.FlushPairingWindow},
		streamsChangelogRule{window: cfg.FlushPairingWindow},
		recordTimestampRule{},
		streamsMisparentedRule{},
	}
}

// offsetHopRule (rule 1): a PRODUCER span and a CONSUMER span at the same record coordinate are
// one hop. A consumer span parented elsewhere (forwarded or copied traceparent with
// producer-propagation disabled, or a lost context) is re-parented to the producer span.
type offsetHopRule struct{}

func (offsetHopRule) Name() string { return ruleOffsetHop }

func (offsetHopRule) Applies(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindConsumer && s.hasCoord
}

func (offsetHopRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	p := idx.producer(s.coord)
	if p == nil {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	if p.traceID == s.traceID && p.spanID == s.parentID {
		return nil, statusKeep, nil
	}
	return p, statusFound, nil
}

// streamsForwardedHeaderRule (rule 2): a root PRODUCER span R on a Kafka Streams thread at
// coordinate k (cache flush, punctuator) whose consumer span C at k has as parent a producer span
// X of a different coordinate k_in (the forwarded traceparent of the last input record, visible
// when the Streams JVM runs with producer-propagation disabled) was caused by the Streams process
// span of k_in in R's own service. R's parent becomes that process span.
type streamsForwardedHeaderRule struct{}

func (streamsForwardedHeaderRule) Name() string { return ruleStreamsForwardedHeader }

func (streamsForwardedHeaderRule) Applies(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindProducer && s.isRoot() && s.hasCoord && isStreamThread(s.thread)
}

func (streamsForwardedHeaderRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	wake = append(wake, coordWake(s.coord)) // another consumer of R's record
	for _, c := range idx.consumersAt(s.coord) {
		if c.parentID.IsEmpty() {
			continue
		}
		x := spanKey{c.traceID, c.parentID}
		kin, ok := idx.producerCoord(x)
		if !ok {
			wake = append(wake, spanWake(x)) // the forwarded parent's producer span
			continue
		}
		if kin == s.coord {
			continue
		}
		for _, q := range idx.consumersAt(kin) {
			if q.service == s.service && q.kind == ptrace.SpanKindConsumer {
				return q, statusFound, nil
			}
		}
		wake = append(wake, coordWake(kin)) // the process span of the input record
	}
	return nil, statusWait, wake
}

// coordIndex remembers producer spans and consumer (process) spans by record coordinate, bounded
// in count and expiring after a TTL. It holds only spanInfo values, never spans.
type coordIndex struct {
	ttl   time.Duration
	clock epoch
	max   int
	// the producer span and the consumer spans of each record: one entry per coordinate (one
	// hash of the coordinate per span, one copy of the key per record)
	records        map[coordinate]*record
	producerBySpan map[spanKey]*spanInfo
	consumerBySpan map[spanKey]*spanInfo
	// keyed Streams process spans per (service, thread, key), in end-time order
	procs map[procKey][]*spanInfo
	// Streams root producer spans per (service, thread), in start-time order
	roots map[threadKey][]*spanInfo
	// recovered parents of Streams root producer spans (written by the engine); an entry is
	// dropped when the child's own index entry expires
	edges map[spanKey]*spanInfo
	// application.id per service: the consumer group of its Streams process spans
	appIDs map[string]string
	// record facts and the spans filed under them
	facts *factIndex
	// now is the time of the last update (facts expire by it)
	now time.Time
	// lastChance is set while the engine asks the rules about a unit whose decision_wait ran out:
	// whatever was going to arrive has arrived.
	lastChance bool
	queue      []indexItem
	head       int
	// onExpire is called with the wake keys touched by entries dropped in expire (the engine's
	// touch; a no-op by default)
	onExpire func(wakeKey)
	strs     interner
}

// maxInterned bounds the interned strings of the index (distinct services, threads, clusters,
// topics and consumer groups: a few thousand in a large deployment).
const maxInterned = 1 << 16

// interner keeps one copy of the strings that repeat across indexed spans. The index holds an
// entry per producer and consumer span for index_ttl; without it every entry would keep its
// batch's copies of the service, thread, cluster, topic and group names alive (~200 bytes).
// Beyond maxInterned distinct values the span's own string is kept.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	if s != "" && len(in) < maxInterned {
		in[s] = s
	}
	return s
}

type record struct {
	producer  *spanInfo
	consumers []*spanInfo
}

type indexItem struct {
	info    *spanInfo
	expires int64 // an offset of the index's epoch: 16 bytes less than a time.Time
}

func newCoordIndex(ttl time.Duration, maxEntries int) *coordIndex {
	return &coordIndex{
		ttl:            ttl,
		max:            maxEntries,
		records:        map[coordinate]*record{},
		producerBySpan: map[spanKey]*spanInfo{},
		consumerBySpan: map[spanKey]*spanInfo{},
		procs:          map[procKey][]*spanInfo{},
		roots:          map[threadKey][]*spanInfo{},
		edges:          map[spanKey]*spanInfo{},
		appIDs:         map[string]string{},
		onExpire:       func(wakeKey) {},
		strs:           interner{},
		facts:          newFactIndex(ttl, maxEntries),
	}
}

func procKeyOf(s *spanInfo) procKey { return procKey{s.service, s.thread, s.recKey} }

func threadKeyOf(s *spanInfo) threadKey { return threadKey{s.service, s.thread} }

// isStreamsProcess: a keyed consumer span on a Kafka Streams thread.
func isStreamsProcess(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindConsumer && s.hasKey && isStreamThread(s.thread)
}

// isStreamsRootProducer: a root producer span with a coordinate on a Kafka Streams thread.
func isStreamsRootProducer(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindProducer && s.isRoot() && s.hasCoord && isStreamThread(s.thread)
}

// insertSorted inserts s into list ordered by less (stable: after equal elements) and returns
// the list and s's position. Spans arrive nearly in order: the scan from the end is short.
func insertSorted(list []*spanInfo, s *spanInfo, less func(a, b *spanInfo) bool) ([]*spanInfo, int) {
	i := len(list)
	for i > 0 && less(s, list[i-1]) {
		i--
	}
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = s
	return list, i
}

// removeInfo removes s from list and returns the list and s's former position (-1: absent).
// Expiry removes the oldest entries, usually the first: that costs no copy.
func removeInfo(list []*spanInfo, s *spanInfo) ([]*spanInfo, int) {
	if len(list) > 0 && list[0] == s {
		list[0] = nil
		return list[1:], 0
	}
	for i, c := range list {
		if c == s {
			return append(list[:i:i], list[i+1:]...), i
		}
	}
	return list, -1
}

// recordEdge remembers the recovered parent of a Streams root producer span.
func (ix *coordIndex) recordEdge(child spanKey, parent *spanInfo, touch func(wakeKey)) {
	if _, ok := ix.producerBySpan[child]; !ok {
		return // not (or no longer) indexed: nothing can ask for it
	}
	p := *parent
	ix.edges[child] = &p
	touch(edgeWake(child))
}

// edgeOf returns the recorded parent of a span, or nil.
func (ix *coordIndex) edgeOf(k spanKey) *spanInfo { return ix.edges[k] }

func (ix *coordIndex) appID(service string) string { return ix.appIDs[service] }

func (ix *coordIndex) consumerBySpanKey(k spanKey) *spanInfo { return ix.consumerBySpan[k] }

// procsOf returns the keyed Streams process spans of (service, thread, key), in end order.
func (ix *coordIndex) procsOf(k procKey) []*spanInfo { return ix.procs[k] }

// rootsOf returns the Streams root producer spans of (service, thread), in start order.
func (ix *coordIndex) rootsOf(k threadKey) []*spanInfo { return ix.roots[k] }

func (ix *coordIndex) len() int { return len(ix.queue) - ix.head }

// observe indexes a span with a record coordinate and calls touch with the keys it adds.
func (ix *coordIndex) observe(s *spanInfo, now time.Time, touch func(wakeKey)) {
	if !s.hasCoord {
		return
	}
	info := *s
	info.service = ix.strs.get(info.service)
	info.thread = ix.strs.get(info.thread)
	info.group = ix.strs.get(info.group)
	info.coord.cluster = ix.strs.get(info.coord.cluster)
	info.coord.topic = ix.strs.get(info.coord.topic)
	switch s.kind {
	case ptrace.SpanKindProducer:
		r := ix.record(s.coord)
		if old := r.producer; old != nil {
			delete(ix.producerBySpan, old.key())
		}
		r.producer = &info
		ix.producerBySpan[s.key()] = &info
		touch(spanWake(s.key()))
		if isStreamsRootProducer(s) {
			// Only the root right before the new one gets a new successor (a changelog write's
			// flush partner is its successor): waking every waiter of the thread would re-run
			// the rule for all held changelog writes of the thread on every root.
			tk := threadKeyOf(s)
			roots, i := insertSorted(ix.roots[tk], &info, func(a, b *spanInfo) bool { return a.start < b.start })
			ix.roots[tk] = roots
			if i > 0 {
				touch(nextWake(roots[i-1].key()))
			}
		}
	case ptrace.SpanKindConsumer:
		r := ix.record(s.coord)
		r.consumers = append(r.consumers, &info)
		ix.consumerBySpan[s.key()] = &info
		touch(spanWake(s.key()))
		if isStreamThread(s.thread) && s.group != "" {
			ix.appIDs[info.service] = info.group // bounded by the number of services
		}
		if isStreamsProcess(s) {
			pk := procKeyOf(s)
			ix.procs[pk], _ = insertSorted(ix.procs[pk], &info, func(a, b *spanInfo) bool { return a.end < b.end })
			touch(procWake(pk))
		}
	default:
		return
	}
	ix.now = now
	ix.fileSpan(&info, now, touch)
	touch(coordWake(s.coord))
	ix.queue = append(ix.queue, indexItem{info: &info, expires: ix.clock.since(now) + int64(ix.ttl)})
	for ix.len() > ix.max {
		ix.popFront(touch)
	}
}

// record returns the entry of c, added when missing.
func (ix *coordIndex) record(c coordinate) *record {
	r := ix.records[c]
	if r == nil {
		r = &record{}
		ix.records[c] = r
	}
	return r
}

func (ix *coordIndex) producer(c coordinate) *spanInfo {
	if r := ix.records[c]; r != nil {
		return r.producer
	}
	return nil
}

func (ix *coordIndex) producerCoord(k spanKey) (coordinate, bool) {
	if p := ix.producerBySpan[k]; p != nil {
		return p.coord, true
	}
	return coordinate{}, false
}

func (ix *coordIndex) consumersAt(c coordinate) []*spanInfo {
	if r := ix.records[c]; r != nil {
		return r.consumers
	}
	return nil
}

// expire drops entries older than the TTL (and calls onExpire with the keys a drop touches).
func (ix *coordIndex) expire(now time.Time) {
	ix.now = now
	ix.facts.facts.expire(now)
	ix.facts.byHeader.expire(now)
	for t := ix.clock.since(now); ix.len() > 0 && t >= ix.queue[ix.head].expires; {
		ix.popFront(ix.onExpire)
	}
}

func (ix *coordIndex) popFront(touch func(wakeKey)) {
	it := ix.queue[ix.head]
	ix.queue[ix.head] = indexItem{}
	ix.head++
	if ix.head > 1024 && ix.head*2 > len(ix.queue) {
		ix.queue = append([]indexItem(nil), ix.queue[ix.head:]...)
		ix.head = 0
	}
	s := it.info
	ix.unfile(s)
	switch s.kind {
	case ptrace.SpanKindProducer:
		if r := ix.records[s.coord]; r != nil && r.producer == s {
			r.producer = nil
			if len(r.consumers) == 0 {
				delete(ix.records, s.coord)
			}
			delete(ix.producerBySpan, s.key())
			delete(ix.edges, s.key())
		}
		if isStreamsRootProducer(s) {
			tk := threadKeyOf(s)
			l, i := removeInfo(ix.roots[tk], s)
			if len(l) == 0 {
				delete(ix.roots, tk)
			} else {
				ix.roots[tk] = l
			}
			if i > 0 {
				touch(nextWake(l[i-1].key())) // its successor changed
			}
		}
	case ptrace.SpanKindConsumer:
		if ix.consumerBySpan[s.key()] == s {
			delete(ix.consumerBySpan, s.key())
		}
		if isStreamsProcess(s) {
			pk := procKeyOf(s)
			if l, _ := removeInfo(ix.procs[pk], s); len(l) == 0 {
				delete(ix.procs, pk)
			} else {
				ix.procs[pk] = l
			}
		}
		if r := ix.records[s.coord]; r != nil {
			for i, c := range r.consumers {
				if c == s {
					r.consumers = append(r.consumers[:i:i], r.consumers[i+1:]...)
					break
				}
			}
			if len(r.consumers) == 0 {
				r.consumers = nil
				if r.producer == nil {
					delete(ix.records, s.coord)
				}
			}
		}
	}
}
