// Package counters creates a component's internal counters by hand (the collector's mdatagen is
// not used here): one name prefix per component, the creation errors collected for its factory.
package counters // import "github.com/eventlineage/lineage/internal/counters"

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// Set creates Int64 counters named prefix+name on one meter.
type Set struct {
	meter  metric.Meter
	prefix string
	err    error
}

// New returns a Set of meter whose counter names start with prefix.
func New(meter metric.Meter, prefix string) *Set {
	return &Set{meter: meter, prefix: prefix}
}

// Counter creates the counter prefix+name; an error is kept for Err and a usable no-op counter
// comes back, so a component builds all its counters before it checks.
func (s *Set) Counter(name, description, unit string) metric.Int64Counter {
	c, err := s.meter.Int64Counter(s.prefix+name, metric.WithDescription(description), metric.WithUnit(unit))
	s.err = errors.Join(s.err, err)
	return c
}

// Err joins the errors of every Counter call so far.
func (s *Set) Err() error { return s.err }
