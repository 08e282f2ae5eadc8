package captureeval

import "fmt"

// maxProblemSamples bounds how many problem descriptions are kept; the count keeps going.
const maxProblemSamples = 10

// Problems counts problems of one kind and keeps the first few descriptions.
type Problems struct {
	Count   int
	Samples []string
}

func (p *Problems) addf(format string, args ...any) {
	p.Count++
	if len(p.Samples) < maxProblemSamples {
		p.Samples = append(p.Samples, fmt.Sprintf(format, args...))
	}
}
