package sqlstore

import (
	"math"
	"math/rand/v2"
	"slices"
)

// maxSamples bounds the latency samples kept per topology or outlier flow edge: beyond it a
// reservoir sample (Vitter's algorithm R) of maxSamples stands for all of them, so percentiles are
// exact up to maxSamples hops per edge and estimates above, in bounded memory. Count and max stay
// exact.
const maxSamples = 10000

// samples is the latency distribution of one flow edge.
type samples struct {
	n    int64 // measurable hops seen
	max  float64
	kept []float64
	rng  *rand.Rand
}

func (s *samples) add(ms float64) {
	s.n++
	if s.n == 1 || ms > s.max {
		s.max = ms
	}
	if len(s.kept) < maxSamples {
		s.kept = append(s.kept, ms)
		return
	}
	if s.rng == nil {
		// A fixed seed: the same rows give the same percentiles.
		s.rng = rand.New(rand.NewPCG(1, 2))
	}
	if j := s.rng.Int64N(s.n); j < maxSamples {
		s.kept[j] = ms
	}
}

// percentiles returns the nearest-rank percentiles ps (0 < p <= 1) of the kept samples; nil when
// none was seen.
func (s *samples) percentiles(ps ...float64) []float64 {
	if len(s.kept) == 0 {
		return nil
	}
	slices.Sort(s.kept)
	out := make([]float64, len(ps))
	for i, p := range ps {
		rank := int(math.Ceil(p*float64(len(s.kept)))) - 1
		out[i] = s.kept[min(max(rank, 0), len(s.kept)-1)]
	}
	return out
}
