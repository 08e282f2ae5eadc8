package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import "time"

// expiringMap is a map whose entries expire after a TTL and whose size is bounded: the oldest
// entries are forgotten first. Not safe for concurrent use. Times passed to set must not go
// backwards (the queue is then in expiry order); get checks the expiry itself in any case.
type expiringMap[K comparable, V any] struct {
	ttl   time.Duration
	clock epoch
	max   int
	m     map[K]expiringValue[V]
	queue []expiringKey[K]
	head  int
	seq   uint64
}

// expiringValue stores its expiry as an epoch offset rather than a time.Time: no location
// pointer, so that maps of pointer-free keys and values are never scanned by the garbage
// collector, and 16 bytes less per entry.
type expiringValue[V any] struct {
	v       V
	expires int64
	seq     uint64
}

// epoch turns times into nanoseconds since the first time it is given. Differences of times keep
// time.Time's semantics (the monotonic clock when both times have it), so expiries stored as
// offsets compare exactly like the times they stand for.
type epoch struct {
	base time.Time
	set  bool
}

func (e *epoch) since(t time.Time) int64 {
	if !e.set {
		e.base, e.set = t, true
	}
	return int64(t.Sub(e.base))
}

type expiringKey[K comparable] struct {
	k   K
	seq uint64
}

func newExpiringMap[K comparable, V any](ttl time.Duration, maxEntries int) *expiringMap[K, V] {
	return &expiringMap[K, V]{ttl: ttl, max: maxEntries, m: map[K]expiringValue[V]{}}
}

func (e *expiringMap[K, V]) get(k K, now time.Time) (V, bool) {
	ev, ok := e.m[k]
	if !ok || e.clock.since(now) >= ev.expires {
		var zero V
		return zero, false
	}
	return ev.v, true
}

func (e *expiringMap[K, V]) set(k K, v V, now time.Time) {
	e.seq++
	e.m[k] = expiringValue[V]{v: v, expires: e.clock.since(now) + int64(e.ttl), seq: e.seq}
	e.queue = append(e.queue, expiringKey[K]{k: k, seq: e.seq})
	for len(e.m) > e.max {
		e.popFront()
	}
}

func (e *expiringMap[K, V]) len() int { return len(e.m) }

func (e *expiringMap[K, V]) expire(now time.Time) {
	t := e.clock.since(now)
	for e.head < len(e.queue) {
		it := e.queue[e.head]
		ev, ok := e.m[it.k]
		if ok && ev.seq == it.seq && t < ev.expires {
			return
		}
		e.popFront()
	}
}

func (e *expiringMap[K, V]) popFront() {
	it := e.queue[e.head]
	var zero expiringKey[K]
	e.queue[e.head] = zero
	e.head++
	if ev, ok := e.m[it.k]; ok && ev.seq == it.seq {
		delete(e.m, it.k)
	}
	if e.head > 1024 && e.head*2 > len(e.queue) {
		e.queue = append([]expiringKey[K](nil), e.queue[e.head:]...)
		e.head = 0
	}
}
