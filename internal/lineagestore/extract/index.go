package extract // import "github.com/eventlineage/lineage/internal/lineagestore/extract"

import "sync"

// DefaultSpanIndexSize is a SpanIndex size for a collector: the spans of the last few export
// calls at tens of thousands of spans per second, at 150-200 bytes a span (31 MB measured).
const DefaultSpanIndexSize = 200_000

// SpanIndex remembers, for the spans of recent export calls, the record each one belongs to (its
// own, or its nearest ancestor's) and the nearest lineage.rule below it. A span whose parent or
// linked span came in an earlier call is then anchored and its edge written at once, instead of
// being left without a touchpoint (a state-store span whose process span was exported before the
// flush that synthesized it, a sink batch's per-record span) or with a pending edge.
//
// It is bounded: it holds between size/2 and size spans, the most recent ones (two generations;
// when the current one is full the previous one is dropped). Safe for concurrent use. A span
// that is no longer in the index falls back to what Traces does without one.
type SpanIndex struct {
	mu        sync.Mutex
	half      int
	cur, prev map[spanKey]upward
}

// NewSpanIndex returns an index holding up to size spans (at least 2).
func NewSpanIndex(size int) *SpanIndex {
	half := max(size/2, 1)
	return &SpanIndex{half: half, cur: make(map[spanKey]upward)}
}

type indexEntry struct {
	key spanKey
	up  upward
}

func (ix *SpanIndex) get(k spanKey) (upward, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if up, ok := ix.cur[k]; ok {
		return up, true
	}
	up, ok := ix.prev[k]
	return up, ok
}

func (ix *SpanIndex) add(entries []indexEntry) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, e := range entries {
		if len(ix.cur) >= ix.half {
			ix.prev, ix.cur = ix.cur, make(map[spanKey]upward, len(ix.cur))
		}
		ix.cur[e.key] = e.up
	}
}

// Len is the number of spans held.
func (ix *SpanIndex) Len() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.cur) + len(ix.prev)
}
