package lineageprocessor

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/loadgen"
)

// benchLoad is the schedule of cmd/lineage-bench (internal/loadgen.Generator) on a virtual time
// line: replicas of the captures, each a distinct journey, start so that the offered rate is
// rate spans/s; a replica's requests are due at its start plus their arrival offset in the
// capture; every 50 ms the due requests are grouped per JVM into requests of at most 512 spans.
// The processor's clock follows the virtual time and its ticker runs at its own interval of virtual
// time, so decision_wait works as in the collector, without waiting for it.
type benchLoad struct {
	templates []*loadgen.Template
	rate      float64
	spans     int
}

const (
	benchInterval = 50 * time.Millisecond
	benchMaxBatch = 512
)

// benchSpans is the number of spans replayed per benchmark iteration: LINEAGE_BENCH_SPANS, or
// 100000 (the collector bench replays 1M; the per-span cost settles after a few decision waits).
func benchSpans(tb testing.TB) int {
	if s := os.Getenv("LINEAGE_BENCH_SPANS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(tb, err)
		return n
	}
	return 100000
}

func newBenchLoad(tb testing.TB, spans int) *benchLoad {
	l := &benchLoad{rate: 30000, spans: spans}
	for _, c := range []string{"withdrawal-a", "withdrawal-b", "withdrawal-c"} {
		path := filepath.Join(capturesDir, c, "spans.jsonl")
		if _, err := os.Stat(path); os.IsNotExist(err) {
			tb.Skipf("capture %s not present", c)
		}
		t, err := loadgen.LoadTemplate(path)
		require.NoError(tb, err)
		l.templates = append(l.templates, t)
	}
	return l
}

type benchReplica struct {
	t     *loadgen.Template
	r     loadgen.Replica
	start time.Duration
	next  int
}

// run calls each once per virtual tick with the tick's time and its requests (grouped per JVM,
// in service order), until every replica is sent. It returns the number of spans sent.
func (l *benchLoad) run(begin time.Time, each func(now time.Time, batches []ptrace.Traces)) int {
	var stride int64
	for _, t := range l.templates {
		stride = max(stride, t.MaxOffset+1)
	}
	var (
		active    []*benchReplica
		scheduled int
		replicas  int
		sent      int
	)
	for due := time.Duration(0); ; due += benchInterval {
		for scheduled < l.spans {
			start := time.Duration(float64(scheduled) / l.rate * float64(time.Second))
			if start > due {
				break
			}
			t := l.templates[replicas%len(l.templates)]
			n := uint64(replicas)
			active = append(active, &benchReplica{t: t, start: start, r: loadgen.Replica{
				N: n, OffsetShift: int64(n) * stride, Start: pcommon.NewTimestampFromTime(begin.Add(start)),
			}})
			replicas++
			scheduled += t.Spans
		}
		pending := map[string]ptrace.Traces{}
		var batches []ptrace.Traces
		keep := active[:0]
		for _, a := range active {
			for ; a.next < len(a.t.Requests); a.next++ {
				req := a.t.Requests[a.next]
				if a.start+req.At > due {
					break
				}
				td := a.t.Build(a.next, a.r)
				p, ok := pending[req.Service]
				if !ok {
					p = ptrace.NewTraces()
					pending[req.Service] = p
				}
				td.ResourceSpans().MoveAndAppendTo(p.ResourceSpans())
				if p.SpanCount() >= benchMaxBatch {
					batches = append(batches, p)
					delete(pending, req.Service)
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
			batches = append(batches, pending[s])
		}
		for _, td := range batches {
			sent += td.SpanCount()
		}
		each(begin.Add(due), batches)
		if scheduled >= l.spans && len(active) == 0 {
			return sent
		}
	}
}

type benchStep struct {
	now     time.Time
	batches []ptrace.Traces
}

// build returns every tick of the load with its requests, built in advance so that the
// benchmark times only the processor (stopping the timer per tick costs a stop-the-world).
func (l *benchLoad) build(begin time.Time) (ticks []benchStep, spans int) {
	spans = l.run(begin, func(now time.Time, batches []ptrace.Traces) {
		ticks = append(ticks, benchStep{now, batches})
	})
	return ticks, spans
}

// replayLoad feeds the ticks through a processor with the default configuration (mutate may
// change it) on the virtual time line, then lets decision_wait expire and shuts down. Consumed
// requests are dropped from ticks as they go.
func replayLoad(tb testing.TB, ticks []benchStep, clk *fakeClock, next consumer.Traces, mutate func(*Config)) (peakHeld int) {
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(tb, cfg.Validate())
	p, err := newLineageProcessor(processortestSettings(), cfg, next, clk)
	require.NoError(tb, err)
	ctx := context.Background()
	lastTick := clk.Now()
	for i := range ticks {
		now := ticks[i].now
		clk.Advance(now.Sub(clk.Now()))
		if now.Sub(lastTick) >= p.tickInterval() {
			p.tick(ctx)
			lastTick = now
		}
		for _, td := range ticks[i].batches {
			require.NoError(tb, p.ConsumeTraces(ctx, td))
		}
		ticks[i] = benchStep{}
		peakHeld = max(peakHeld, p.heldSpans)
	}
	clk.Advance(cfg.DecisionWait + time.Second)
	p.tick(ctx)
	require.NoError(tb, p.Shutdown(ctx))
	return peakHeld
}

// BenchmarkProcessCapture replays LINEAGE_BENCH_SPANS (default 100000) spans of the withdrawal
// captures, scaled up as cmd/lineage-bench does at its default 30000 spans/s, through the
// processor. ns/span, B/op and allocs/op are the processor's own cost (no gRPC, no protobuf);
// "proto" is the protobuf decode + encode of the same requests, about what a receiver and an
// exporter spend on every span, for scale.
func BenchmarkProcessCapture(b *testing.B) {
	l := newBenchLoad(b, benchSpans(b))
	report := func(b *testing.B, spans int, cpu time.Duration) {
		n := float64(spans) * float64(b.N)
		b.ReportMetric(n/b.Elapsed().Seconds(), "spans/s")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
		// process CPU, the garbage collector's work on the other cores included: what the
		// collector bench's "spans/s per core" counts
		b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/span")
		b.ReportMetric(float64(spans), "spans/op")
	}
	for _, mode := range []Mode{ModeRewrite, ModeLink} {
		b.Run("lineage-"+string(mode), func(b *testing.B) {
			b.ReportAllocs()
			var spans, held int
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				clk := newFakeClock()
				var ticks []benchStep
				ticks, spans = l.build(clk.Now())
				runtime.GC()
				b.StartTimer()
				c0 := processCPU(b)
				held = replayLoad(b, ticks, clk, consumertest.NewNop(), func(c *Config) { c.Mode = mode })
				cpu += processCPU(b) - c0
			}
			report(b, spans, cpu)
			b.ReportMetric(float64(held), "peak_held")
		})
	}
	b.Run("proto", func(b *testing.B) {
		b.ReportAllocs()
		var spans int
		var cpu time.Duration
		var m ptrace.ProtoMarshaler
		var u ptrace.ProtoUnmarshaler
		for b.Loop() {
			b.StopTimer()
			var ticks []benchStep
			ticks, spans = l.build(time.Unix(1_795_676_000, 0))
			var bufs [][]byte
			for _, t := range ticks {
				for _, td := range t.batches {
					buf, err := m.MarshalTraces(td) // the sender's work
					require.NoError(b, err)
					bufs = append(bufs, buf)
				}
			}
			ticks = nil
			runtime.GC()
			b.StartTimer()
			c0 := processCPU(b)
			for _, buf := range bufs {
				out, err := u.UnmarshalTraces(buf)
				require.NoError(b, err)
				_, err = m.MarshalTraces(out)
				require.NoError(b, err)
			}
			cpu += processCPU(b) - c0
		}
		report(b, spans, cpu)
	})
}

// processCPU is the user + system CPU time of the process so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
