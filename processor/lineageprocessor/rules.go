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
	// keys (a coordinate, or the spanKey of a producer span) whose arrival may change the answer;
	// the engine retries s only when one of them arrives.
	Resolve(idx *coordIndex, s *spanInfo) (parent *spanInfo, status resolveStatus, wakeOn []wakeKey)
}

// wakeKey is a coordinate or a spanKey (exactly one is set); the index touches the coordinate
// of every span it indexes, and the spanKey of every producer span.
type wakeKey struct {
	coord coordinate
	span  spanKey
}

func coordWake(c coordinate) wakeKey { return wakeKey{coord: c} }

func spanWake(k spanKey) wakeKey { return wakeKey{span: k} }

// defaultRules are the rules of this version, in priority order.
func defaultRules() []Rule {
	return []Rule{offsetHopRule{}, streamsForwardedHeaderRule{}}
}

// offsetHopRule (rule 1): a PRODUCER span and a CONSUMER span at the same record coordinate are
// one hop. A consumer span parented elsewhere (forwarded or copied traceparent with
// producer-propagation disabled, or a lost context) is re-parented to the producer span.
type offsetHopRule struct{}

func (offsetHopRule) Name() string { return ruleOffsetHop }

func (offsetHopRule) Applies(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindConsumer && s.hasCoord
}

func (offsetHopRule) Resolve(idx *coordIndex, s *spanInfo) (*spanInfo, resolveStatus, []wakeKey) {
	p := idx.producer(s.coord)
	if p == nil {
		return nil, statusWait, []wakeKey{coordWake(s.coord)}
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

func (streamsForwardedHeaderRule) Resolve(idx *coordIndex, s *spanInfo) (*spanInfo, resolveStatus, []wakeKey) {
	wake := []wakeKey{coordWake(s.coord)} // another consumer of R's record
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
	ttl            time.Duration
	max            int
	producers      map[coordinate]*spanInfo
	producerBySpan map[spanKey]coordinate
	consumers      map[coordinate][]*spanInfo
	queue          []indexItem
	head           int
}

type indexItem struct {
	info    *spanInfo
	expires time.Time
}

func newCoordIndex(ttl time.Duration, maxEntries int) *coordIndex {
	return &coordIndex{
		ttl:            ttl,
		max:            maxEntries,
		producers:      map[coordinate]*spanInfo{},
		producerBySpan: map[spanKey]coordinate{},
		consumers:      map[coordinate][]*spanInfo{},
	}
}

func (ix *coordIndex) len() int { return len(ix.queue) - ix.head }

// observe indexes a span with a record coordinate and calls touch with the keys it adds.
func (ix *coordIndex) observe(s *spanInfo, now time.Time, touch func(wakeKey)) {
	if !s.hasCoord {
		return
	}
	info := *s
	switch s.kind {
	case ptrace.SpanKindProducer:
		if old := ix.producers[s.coord]; old != nil {
			delete(ix.producerBySpan, old.key())
		}
		ix.producers[s.coord] = &info
		ix.producerBySpan[s.key()] = s.coord
		touch(spanWake(s.key()))
	case ptrace.SpanKindConsumer:
		ix.consumers[s.coord] = append(ix.consumers[s.coord], &info)
	default:
		return
	}
	touch(coordWake(s.coord))
	ix.queue = append(ix.queue, indexItem{info: &info, expires: now.Add(ix.ttl)})
	for ix.len() > ix.max {
		ix.popFront()
	}
}

func (ix *coordIndex) producer(c coordinate) *spanInfo { return ix.producers[c] }

func (ix *coordIndex) producerCoord(k spanKey) (coordinate, bool) {
	c, ok := ix.producerBySpan[k]
	return c, ok
}

func (ix *coordIndex) consumersAt(c coordinate) []*spanInfo { return ix.consumers[c] }

// expire drops entries older than the TTL.
func (ix *coordIndex) expire(now time.Time) {
	for ix.len() > 0 && !now.Before(ix.queue[ix.head].expires) {
		ix.popFront()
	}
}

func (ix *coordIndex) popFront() {
	it := ix.queue[ix.head]
	ix.queue[ix.head] = indexItem{}
	ix.head++
	if ix.head > 1024 && ix.head*2 > len(ix.queue) {
		ix.queue = append([]indexItem(nil), ix.queue[ix.head:]...)
		ix.head = 0
	}
	s := it.info
	switch s.kind {
	case ptrace.SpanKindProducer:
		if ix.producers[s.coord] == s {
			delete(ix.producers, s.coord)
			delete(ix.producerBySpan, s.key())
		}
	case ptrace.SpanKindConsumer:
		list := ix.consumers[s.coord]
		for i, c := range list {
			if c == s {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(ix.consumers, s.coord)
		} else {
			ix.consumers[s.coord] = list
		}
	}
}
