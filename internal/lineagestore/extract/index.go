package extract // import "github.com/eventlineage/lineage/internal/lineagestore/extract"

import (
	"sync"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// DefaultSpanIndexSize is a SpanIndex size for a collector: the spans of the last few export
// calls at tens of thousands of spans per second, at 150-200 bytes a span (31 MB measured).
const DefaultSpanIndexSize = 200_000

// SpanIndex remembers, for the spans of recent export calls, the record each one belongs to (its
// own, or its nearest ancestor's) and the nearest lineage.rule below it. A span whose parent or
// linked span came in an earlier call is then anchored and its edge written at once, instead of
// being left without a touchpoint (a state-store span whose process span was exported before the
// flush that synthesized it, a sink batch's per-record span) or with a pending edge. The other way
// round, a span that came BEFORE its ancestor waits in the index: its touchpoint is written with
// the call that brings the ancestor.
//
// It is bounded: it holds between size/2 and size spans and as many waiting ones, the most recent
// (two generations each; when the current one is full the previous one is dropped). Safe for
// concurrent use. A span no longer in the index falls back to what Traces does without one.
type SpanIndex struct {
	mu        sync.Mutex
	half      int
	cur, prev map[spanKey]upward
	// waiting spans by the span their walk up ended at
	waitCur, waitPrev map[spanKey][]waitingSpan
	waitLen           int
}

// waitingSpan is an unanchored span of an earlier call, with its touchpoint (record to fill in).
type waitingSpan struct {
	key, missing spanKey
	rule         string
	config       bool
	tp           lineagestore.Touchpoint
}

// NewSpanIndex returns an index holding up to size spans (at least 2).
func NewSpanIndex(size int) *SpanIndex {
	return &SpanIndex{half: max(size/2, 1), cur: make(map[spanKey]upward), waitCur: make(map[spanKey][]waitingSpan)}
}

type indexEntry struct {
	key spanKey
	up  upward
}

func (ix *SpanIndex) get(k spanKey) (upward, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.lookup(k)
}

func (ix *SpanIndex) lookup(k spanKey) (upward, bool) {
	if up, ok := ix.cur[k]; ok {
		return up, true
	}
	up, ok := ix.prev[k]
	return up, ok
}

// add remembers a call's anchored spans and its unanchored ones, and returns the touchpoints of
// waiting spans (of earlier calls, and of this one) that the anchored spans anchor now.
func (ix *SpanIndex) add(entries []indexEntry, waiting []waitingSpan) []lineagestore.Touchpoint {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, w := range waiting {
		if ix.waitLen >= ix.half {
			ix.waitPrev, ix.waitCur, ix.waitLen = ix.waitCur, make(map[spanKey][]waitingSpan), 0
		}
		ix.waitCur[w.missing] = append(ix.waitCur[w.missing], w)
		ix.waitLen++
	}
	var late []lineagestore.Touchpoint
	for len(entries) > 0 {
		e := entries[0]
		entries = entries[1:]
		ix.put(e)
		for _, ws := range [2]map[spanKey][]waitingSpan{ix.waitCur, ix.waitPrev} {
			for _, w := range ws[e.key] {
				up := upward{anchored: true, rec: e.up.rec, rule: e.up.rule, config: e.up.config}
				if w.rule != "" {
					up.rule, up.config = w.rule, w.config
				}
				w.tp.Record = e.up.rec
				late = append(late, w.tp)
				// it anchors in turn what waits for it
				entries = append(entries, indexEntry{key: w.key, up: up})
			}
			// The waiting spans stay (until their generation goes): when the write of this
			// call fails, its retry extracts them again.
		}
	}
	return late
}

func (ix *SpanIndex) put(e indexEntry) {
	if len(ix.cur) >= ix.half {
		ix.prev, ix.cur = ix.cur, make(map[spanKey]upward, len(ix.cur))
	}
	ix.cur[e.key] = e.up
}

// Len is the number of spans held (waiting ones aside).
func (ix *SpanIndex) Len() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.cur) + len(ix.prev)
}
