package loadgen

import (
	"context"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Batch is one export request of the generator: spans of one service (JVM), at most MaxBatch
// unless a single capture request is larger.
type Batch struct {
	Service string
	Traces  ptrace.Traces
	Spans   int
}

// Generator replays templates in rotation (replica n uses template n mod len) until Spans spans
// are scheduled (whole replicas). Replica n starts when the replicas before it hold Spans/Rate
// seconds of spans, so the offered rate is Rate in steady state; each request of a replica is
// due at the replica's start plus the request's arrival offset in the capture. Every Tick the
// due requests are grouped per service into batches of at most MaxBatch spans, like the agent's
// batch span processor (512 by default) does under load.
type Generator struct {
	Templates []*Template
	Rate      float64 // spans/s; <= 0: as fast as send accepts (replicas back to back)
	Spans     int
	MaxBatch  int           // default 512
	Tick      time.Duration // default 50ms
}

// Stats of a run.
type Stats struct {
	Spans, Batches, Replicas int
	// Elapsed: from start to the last batch handed to send.
	Elapsed time.Duration
	// MaxLag: the largest delay between a tick's due time and the end of its work; large values
	// mean the generator (or send's backpressure) could not keep the schedule.
	MaxLag time.Duration
}

type activeReplica struct {
	t     *Template
	r     Replica
	start time.Duration
	next  int
}

// Run sends every batch through send (which may block: backpressure) and returns when all
// replicas are sent, ctx is done or send fails.
func (g *Generator) Run(ctx context.Context, send func(Batch) error) (Stats, error) {
	maxBatch, tick := g.MaxBatch, g.Tick
	if maxBatch <= 0 {
		maxBatch = 512
	}
	if tick <= 0 {
		tick = 50 * time.Millisecond
	}
	var stride int64
	for _, t := range g.Templates {
		stride = max(stride, t.MaxOffset+1)
	}
	begin := time.Now()
	var (
		st        Stats
		active    []*activeReplica
		scheduled int // spans of the replicas started so far
		pending   = map[string]*Batch{}
	)
	flush := func(svc string) error {
		b := pending[svc]
		if b == nil || b.Spans == 0 {
			return nil
		}
		delete(pending, svc)
		st.Batches++
		st.Spans += b.Spans
		return send(*b)
	}
	for due := time.Duration(0); ; due += tick {
		if g.Rate > 0 {
			if d := time.Until(begin.Add(due)); d > 0 {
				select {
				case <-ctx.Done():
					return st, ctx.Err()
				case <-time.After(d):
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
		now := due
		if g.Rate <= 0 {
			now = 1<<63 - 1
		}
		for scheduled < g.Spans {
			var start time.Duration
			if g.Rate > 0 {
				start = time.Duration(float64(scheduled) / g.Rate * float64(time.Second))
			}
			if start > now {
				break
			}
			t := g.Templates[st.Replicas%len(g.Templates)]
			n := uint64(st.Replicas)
			active = append(active, &activeReplica{t: t, start: start, r: Replica{
				N: n, OffsetShift: int64(n) * stride,
				Start: pcommon.NewTimestampFromTime(begin.Add(start)),
			}})
			st.Replicas++
			scheduled += t.Spans
		}
		keep := active[:0]
		for _, a := range active {
			for ; a.next < len(a.t.Requests); a.next++ {
				req := a.t.Requests[a.next]
				if g.Rate > 0 && a.start+req.At > now {
					break
				}
				td := a.t.Build(a.next, a.r)
				b := pending[req.Service]
				if b == nil {
					b = &Batch{Service: req.Service, Traces: ptrace.NewTraces()}
					pending[req.Service] = b
				}
				b.Spans += td.SpanCount()
				td.ResourceSpans().MoveAndAppendTo(b.Traces.ResourceSpans())
				if b.Spans >= maxBatch {
					if err := flush(req.Service); err != nil {
						return st, err
					}
				}
			}
			if a.next < len(a.t.Requests) {
				keep = append(keep, a)
			}
		}
		active = keep
		svcs := make([]string, 0, len(pending))
		for s := range pending {
			svcs = append(svcs, s)
		}
		sort.Strings(svcs)
		for _, s := range svcs {
			if err := flush(s); err != nil {
				return st, err
			}
		}
		st.Elapsed = time.Since(begin)
		if g.Rate > 0 {
			st.MaxLag = max(st.MaxLag, st.Elapsed-due)
		}
		if scheduled >= g.Spans && len(active) == 0 {
			return st, nil
		}
	}
}
