package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Outlier reasons.
const (
	reasonThreshold = "threshold"
	reasonUsual     = "usual"
)

// outlierFlow is one flow edge's hops: a bounded sample for its median and its slowest hops.
// Whether a hop is an outlier is monotone in its latency within a flow, so the Limit slowest hops
// of every flow hold the answer; memory stays flows × 2·Limit hops.
type outlierFlow struct {
	lat     samples
	slowest []lineagestore.Outlier
}

func (f *outlierFlow) add(o lineagestore.Outlier, limit int) {
	f.lat.add(o.LatencyMS)
	f.slowest = append(f.slowest, o)
	if len(f.slowest) >= 2*limit {
		sortSlowest(f.slowest)
		f.slowest = f.slowest[:limit]
	}
}

func sortSlowest(os []lineagestore.Outlier) {
	slices.SortFunc(os, func(a, b lineagestore.Outlier) int {
		if c := cmp.Compare(b.LatencyMS, a.LatencyMS); c != 0 {
			return c
		}
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.Record.String(), b.Record.String())
	})
}

func validateOutliers(q lineagestore.OutlierQuery) error {
	switch {
	case q.Limit < 1 || q.Limit > lineagestore.MaxPageSize:
		return fmt.Errorf("limit %d out of range 1..%d", q.Limit, lineagestore.MaxPageSize)
	case q.ThresholdMS < 0 || q.Factor < 0 || q.MinMS < 0:
		return fmt.Errorf("threshold_ms %g, factor %g and min_ms %g must not be negative", q.ThresholdMS, q.Factor, q.MinMS)
	case q.ThresholdMS == 0 && q.Factor == 0:
		return errors.New("set threshold_ms, factor or both")
	}
	return validateRange(q.From, q.To)
}

// Outliers lists the slow hops of the range, slowest first: consume hops (a record's producer
// start to a consumer's start, flow topic → service or connector) of the consumers that started in
// the range, and edges (input's produce to output's produce, flow input topic → output topic)
// whose output was produced in it.
func (s *Store) Outliers(ctx context.Context, q lineagestore.OutlierQuery) ([]lineagestore.Outlier, error) {
	if err := validateOutliers(q); err != nil {
		return nil, fmt.Errorf("outliers: %w", invalid(err))
	}
	names, err := s.clusterNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("outliers: %w", err)
	}
	b := newTopologyBuilder(names)
	flows := map[[2]string]*outlierFlow{}
	add := func(o lineagestore.Outlier) {
		k := [2]string{o.From, o.To}
		f := flows[k]
		if f == nil {
			f = &outlierFlow{}
			flows[k] = f
		}
		f.add(o, q.Limit)
	}

	cond, args := rangeCond("t.start_at", q.From, q.To)
	rows, err := s.r.QueryContext(ctx, s.d.bind(`SELECT t.start_at, t.trace_id, t.service, t.cluster_name, t.connector,
		e.cluster, e.topic, e.part, e.off, e.produced_at
		FROM touchpoints t JOIN events e ON e.id = t.event_id
		WHERE t.kind IN ('consume', 'connect') AND e.produced_at <> 0 AND `+cond), args...)
	if err != nil {
		return nil, fmt.Errorf("outliers: consume hops: %w", err)
	}
	for rows.Next() {
		var o lineagestore.Outlier
		var start, produced int64
		var service, clusterName, connector string
		if err := rows.Scan(&start, &o.TraceID, &service, &clusterName, &connector,
			&o.Record.Cluster, &o.Record.Topic, &o.Record.Partition, &o.Record.Offset, &produced); err != nil {
			rows.Close()
			return nil, fmt.Errorf("outliers: consume hops: %w", err)
		}
		o.From, o.To = b.topic(o.Record.Cluster, o.Record.Topic), b.actor(service, clusterName, connector)
		o.LatencyMS, o.At = msBetween(produced, start), timeOf(start)
		add(o)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("outliers: consume hops: %w", err)
	}

	cond, args = rangeCond("t.sort_at", q.From, q.To)
	rows, err = s.r.QueryContext(ctx, s.d.bind(`SELECT ed.trace_id, f.cluster, f.topic, f.part, f.off, f.produced_at,
		t.cluster, t.topic, t.part, t.off, t.produced_at
		FROM events t JOIN edges ed ON ed.to_id = t.id JOIN events f ON f.id = ed.from_id
		WHERE t.produced_at <> 0 AND f.produced_at <> 0 AND `+cond), args...)
	if err != nil {
		return nil, fmt.Errorf("outliers: edges: %w", err)
	}
	for rows.Next() {
		var o lineagestore.Outlier
		var in lineagestore.RecordID
		var fp, tp int64
		if err := rows.Scan(&o.TraceID, &in.Cluster, &in.Topic, &in.Partition, &in.Offset, &fp,
			&o.Record.Cluster, &o.Record.Topic, &o.Record.Partition, &o.Record.Offset, &tp); err != nil {
			rows.Close()
			return nil, fmt.Errorf("outliers: edges: %w", err)
		}
		o.Input = &in
		o.From, o.To = b.topic(in.Cluster, in.Topic), b.topic(o.Record.Cluster, o.Record.Topic)
		o.LatencyMS, o.At = msBetween(fp, tp), timeOf(tp)
		add(o)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("outliers: edges: %w", err)
	}

	out := []lineagestore.Outlier{}
	for _, f := range flows {
		usual := f.lat.percentiles(0.5)[0]
		for _, o := range f.slowest {
			o.UsualMS = usual
			switch {
			case q.ThresholdMS > 0 && o.LatencyMS > q.ThresholdMS:
				o.Reason = reasonThreshold
			case q.Factor > 0 && o.LatencyMS > q.Factor*usual && o.LatencyMS > q.MinMS:
				o.Reason = reasonUsual
			default:
				continue
			}
			out = append(out, o)
		}
	}
	sortSlowest(out)
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}
