package captureeval

import (
	"fmt"
	"testing"
)

// BenchmarkEvaluateDir measures a capture of 2000 withdrawal events (8000 spans, one batch of 100
// events per line), half of them broken at a cache flush.
func BenchmarkEvaluateDir(b *testing.B) {
	const events = 2000
	tb := newTruth().
		consumer("dc1", "transactions", wp, "streams").
		consumer("dc1", "balance-updates", oc, "consumer")
	var lines []any
	var batch []tspan
	for i := range events {
		tx := tb.origin("dc1", "transactions", int64(i%3), int64(i/3), fmt.Sprintf("tx-%d", i))
		tb.record("dc1", "balance-updates", int64(i%3), int64(i/3), primary("streams", tx))
		trace, outTrace, outParent := fmt.Sprintf("T%d", i), fmt.Sprintf("T%d", i), fmt.Sprintf("c%d", i)
		if i%2 == 1 {
			outTrace, outParent = fmt.Sprintf("F%d", i), ""
		}
		batch = append(batch,
			producer(fmt.Sprintf("p%d", i), trace, "", tp, "transactions", i%3, int64(i/3)),
			consumer(fmt.Sprintf("c%d", i), trace, fmt.Sprintf("p%d", i), wp, "transactions", i%3, int64(i/3)),
			producer(fmt.Sprintf("o%d", i), outTrace, outParent, wp, "balance-updates", i%3, int64(i/3)),
			consumer(fmt.Sprintf("d%d", i), outTrace, fmt.Sprintf("o%d", i), oc, "balance-updates", i%3, int64(i/3)),
		)
		if len(batch) == 400 {
			lines = append(lines, batch)
			batch = nil
		}
	}
	dir := writeCapture(b, tb, lines...)
	for b.Loop() {
		rep := evaluate(b, dir, Options{})
		if got, want := rep.FinalLine(), "events=2000 traces_per_event=1.50 precision=1.000 recall=0.833"; got != want {
			b.Fatalf("final line %q, want %q", got, want)
		}
	}
}
