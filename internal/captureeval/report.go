package captureeval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Report is the result of one evaluation. Its JSON form (WriteJSON) is lineage-eval's output;
// the field order is the key order.
type Report struct {
	Scenario           string         `json:"scenario"`
	Config             string         `json:"config"`
	Stitched           bool           `json:"stitched"`
	Events             int            `json:"events"`
	EventsWithSpans    int            `json:"events_with_spans"`
	EventsWithoutSpans int            `json:"events_without_spans"`
	TracesPerEvent     TracesPerEvent `json:"traces_per_event"`
	Edges              EdgeStats      `json:"edges"`
	OrphanSpans        int            `json:"orphan_spans"`
	OrphanTraces       int            `json:"orphan_traces"`
	Spans              SpanStats      `json:"spans"`
	Links              LinkStats      `json:"links"`
	Input              InputStats     `json:"input"`
	Truth              TruthStats     `json:"truth"`
	// Manifest is manifest.json as found (null when absent).
	Manifest     json.RawMessage `json:"manifest"`
	EventDetails []EventDetail   `json:"event_details,omitempty"`

	// MalformedProblems describes malformed lines and spans; TruthProblems inconsistencies of
	// truth.json (and manifest.json). Neither is part of the JSON output.
	MalformedProblems Problems `json:"-"`
	TruthProblems     Problems `json:"-"`

	// Unrounded values for the final line.
	tpeMean, precision, recall float64
}

// TracesPerEvent is the distribution of distinct trace ids per event journey, over the events
// with at least one journey span.
type TracesPerEvent struct {
	Mean      float64           `json:"mean"`
	Max       int               `json:"max"`
	Histogram []HistogramBucket `json:"histogram"`
}

// HistogramBucket counts the events whose journey spans carry Traces distinct trace ids.
type HistogramBucket struct {
	Traces int `json:"traces"`
	Events int `json:"events"`
}

// EdgeStats compares observed edges with truth edges.
type EdgeStats struct {
	// Observed counts distinct observed edges, Correct those the truth supports.
	Observed int `json:"observed"`
	Correct  int `json:"correct"`
	// Truth counts truth edges, ObservedTruth those observed.
	Truth         int         `json:"truth"`
	ObservedTruth int         `json:"observed_truth"`
	Precision     float64     `json:"precision"`
	Recall        float64     `json:"recall"`
	ByType        EdgesByType `json:"by_type"`
	// Missed groups the truth edges not observed by where they run, most frequent first: what
	// the stitching still cannot see. Wrong groups the observed edges the truth does not support.
	Missed []EdgeGroup `json:"missed"`
	Wrong  []EdgeGroup `json:"wrong"`
}

// EdgeGroup counts edges of one type between the same places: a hop from a topic to the service
// consuming it, or a derivation from one topic to another.
type EdgeGroup struct {
	Type  string `json:"type"`
	From  string `json:"from"`
	To    string `json:"to"`
	Count int    `json:"count"`
}

// EdgesByType is the per-edge-type breakdown.
type EdgesByType struct {
	ProducerConsumer TypeStats `json:"producer_consumer"`
	Streams          TypeStats `json:"streams"`
	StateStore       TypeStats `json:"state_store"`
	Connect          TypeStats `json:"connect"`
	Cluster          TypeStats `json:"cluster"`
	Other            TypeStats `json:"other"`
}

func (b *EdgesByType) get(t EdgeType) *TypeStats {
	switch t {
	case EdgeProducerConsumer:
		return &b.ProducerConsumer
	case EdgeStreams:
		return &b.Streams
	case EdgeStateStore:
		return &b.StateStore
	case EdgeConnect:
		return &b.Connect
	case EdgeCluster:
		return &b.Cluster
	}
	return &b.Other
}

// TypeStats is EdgeStats for one edge type.
type TypeStats struct {
	Truth         int     `json:"truth"`
	Observed      int     `json:"observed"`
	Correct       int     `json:"correct"`
	ObservedTruth int     `json:"observed_truth"`
	Recall        float64 `json:"recall"`
	Precision     float64 `json:"precision"`
}

// SpanStats classifies every span read (after stitching, when stitching). The classes are
// disjoint: Total = WithRecord + Noise + Ambiguous + RecordLess + Malformed + Duplicate.
type SpanStats struct {
	Total int `json:"total"`
	// WithRecord: the span names a truth record.
	WithRecord int `json:"with_record"`
	// Noise: the span names a record the truth does not hold (Connect internal topics, MM2
	// heartbeats, ...).
	Noise int `json:"noise"`
	// Ambiguous: several clusters hold the span's (topic, partition, offset) and the span's
	// resource kafka.cluster.name names none of them.
	Ambiguous int `json:"ambiguous"`
	// RecordLess: no record attributes (poll/receive spans, Connect sink batches, failed sends).
	RecordLess int `json:"record_less"`
	// Malformed: empty ids, self-parented, or record attributes of the wrong type or incomplete.
	Malformed int `json:"malformed"`
	// Duplicate: a (trace id, span id) seen before (the first one counts).
	Duplicate int `json:"duplicate"`
}

// LinkStats counts span links.
type LinkStats struct {
	Total int `json:"total"`
	// Resolved: the linked span is in the capture.
	Resolved int `json:"resolved"`
	// ToRecordSpans: the linked span names a truth record.
	ToRecordSpans int `json:"to_record_spans"`
}

// TruthStats summarizes truth.json.
type TruthStats struct {
	Records     int `json:"records"`
	Consumers   int `json:"consumers"`
	Events      int `json:"events"`
	Hops        int `json:"hops"`
	ParentEdges int `json:"parent_edges"`
	Problems    int `json:"problems"`
}

// EventDetail describes one event's journey (only with Options.EventDetails).
type EventDetail struct {
	EventID        string `json:"event_id"`
	Record         string `json:"record"`
	JourneyRecords int    `json:"journey_records"`
	Spans          int    `json:"spans"`
	Traces         int    `json:"traces"`
	// MainTrace is the trace of the origin record's producer span ("" when missing).
	MainTrace string `json:"main_trace"`
	// OffMainSpans counts journey spans outside this event's main trace.
	OffMainSpans int `json:"off_main_spans"`
	// TruthEdges counts the truth edges into the journey's records (their consumer hops and
	// parent edges); ObservedTruthEdges those observed.
	TruthEdges         int `json:"truth_edges"`
	ObservedTruthEdges int `json:"observed_truth_edges"`
}

// FinalLine is the last line of lineage-eval's output.
func (r *Report) FinalLine() string {
	return fmt.Sprintf("events=%d traces_per_event=%.2f precision=%.3f recall=%.3f", r.Events, r.tpeMean, r.precision, r.recall)
}

// WriteJSON writes the report as indented JSON followed by a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func ratio(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// round6 keeps the JSON output stable and readable.
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func (ev *evaluator) report(details bool) *Report {
	t := ev.truth
	o := ev.observe()
	rep := &Report{
		Scenario:          t.Scenario,
		Config:            t.Config,
		Events:            len(t.events),
		Spans:             ev.stats,
		Links:             o.links,
		MalformedProblems: ev.malformed,
		TruthProblems:     Problems{Count: t.Problems.Count, Samples: slices.Clone(t.Problems.Samples)},
		Truth: TruthStats{
			Records:     len(t.records),
			Consumers:   t.consumers,
			Events:      len(t.events),
			Hops:        len(t.hops),
			ParentEdges: len(t.parentEdges),
			Problems:    t.Problems.Count,
		},
	}
	for _, r := range t.records {
		rep.Truth.ParentEdges += len(r.unresolvedParents)
	}
	ev.scoreEdges(o, rep)
	ev.journeys(o, rep, details)
	return rep
}

func (ev *evaluator) scoreEdges(o *observed, rep *Report) {
	t := ev.truth
	e := &rep.Edges
	place := func(r *truthRecord) string { return r.cluster + "/" + r.coord.Topic }
	wrong := make(map[EdgeGroup]int)
	for k := range o.hops {
		typ, correct := t.classifyHop(k)
		e.Observed++
		e.ByType.get(typ).Observed++
		if correct {
			e.Correct++
			e.ByType.get(typ).Correct++
		} else {
			wrong[EdgeGroup{Type: typ.String(), From: place(&t.records[k.rec]), To: k.service}]++
		}
	}
	for k := range o.derived {
		typ, _ := t.classifyDerived(k)
		e.Observed++
		e.ByType.get(typ).Observed++
		if ev.ancestors.isAncestor(k.src, k.dst) {
			e.Correct++
			e.ByType.get(typ).Correct++
		} else {
			wrong[EdgeGroup{Type: typ.String(), From: place(&t.records[k.src]), To: place(&t.records[k.dst])}]++
		}
	}
	missed := make(map[EdgeGroup]int)
	truthEdge := func(typ EdgeType, seen bool, from, to string) {
		e.Truth++
		e.ByType.get(typ).Truth++
		if seen {
			e.ObservedTruth++
			e.ByType.get(typ).ObservedTruth++
		} else {
			missed[EdgeGroup{Type: typ.String(), From: from, To: to}]++
		}
	}
	for i := range t.records {
		r := &t.records[i]
		for _, h := range r.hops {
			if h.optional {
				continue
			}
			_, seen := o.hops[hopKey{recIdx(i), h.service}]
			truthEdge(h.typ, seen, place(r), h.service)
		}
		for _, p := range r.parents {
			_, seen := o.derived[edgeKey{p.rec, recIdx(i)}]
			truthEdge(p.typ, seen, place(&t.records[p.rec]), place(r))
		}
		for _, typ := range r.unresolvedParents {
			truthEdge(typ, false, "(not in truth)", place(r))
		}
	}
	e.Missed, e.Wrong = sortedGroups(missed), sortedGroups(wrong)
	rep.precision = ratio(e.Correct, e.Observed)
	rep.recall = ratio(e.ObservedTruth, e.Truth)
	e.Precision, e.Recall = round6(rep.precision), round6(rep.recall)
	for typ := EdgeType(0); typ < numEdgeTypes; typ++ {
		s := e.ByType.get(typ)
		s.Precision = round6(ratio(s.Correct, s.Observed))
		s.Recall = round6(ratio(s.ObservedTruth, s.Truth))
	}
}

// journeys computes traces per event, orphan spans and the per-event details.
func (ev *evaluator) journeys(o *observed, rep *Report, details bool) {
	t := ev.truth
	var (
		recEpoch  = make([]int32, len(t.records)) // journey membership, stamped with event+1
		spanEpoch = make([]int32, len(ev.spans))
		inJourney = make([]bool, len(ev.spans))
		inMain    = make([]bool, len(ev.spans))
		hist      = map[int]int{}
		sum       int
		queue     []recIdx
		jspans    []int32
		traces    = map[pcommon.TraceID]struct{}{}
	)
	for ei, e := range t.events {
		stamp := int32(ei + 1)
		var d EventDetail
		d.EventID = e.id
		if e.origin >= 0 {
			d.Record = t.records[e.origin].id
		}
		// Journey records: the origin and everything reachable through primary parent edges.
		queue, jspans = queue[:0], jspans[:0]
		if e.origin >= 0 {
			queue = append(queue, e.origin)
			recEpoch[e.origin] = stamp
		}
		for qi := 0; qi < len(queue); qi++ {
			r := queue[qi]
			for _, c := range t.records[r].primaryChildren {
				if recEpoch[c] != stamp {
					recEpoch[c] = stamp
					queue = append(queue, c)
				}
			}
			for _, lists := range [2][]int32{o.recSpans[r], o.linkers[r]} {
				for _, si := range lists {
					if spanEpoch[si] != stamp {
						spanEpoch[si] = stamp
						jspans = append(jspans, si)
					}
				}
			}
		}
		d.JourneyRecords = len(queue)
		d.Spans = len(jspans)
		// Main traces: those of the origin record's producer spans.
		var main []pcommon.TraceID
		if e.origin >= 0 {
			for _, si := range o.recSpans[e.origin] {
				if s := &ev.spans[si]; s.producer && !containsTrace(main, s.key.trace) {
					main = append(main, s.key.trace)
				}
			}
		}
		if len(main) > 0 {
			d.MainTrace = main[0].String()
		}
		clear(traces)
		for _, si := range jspans {
			tr := ev.spans[si].key.trace
			traces[tr] = struct{}{}
			inJourney[si] = true
			if containsTrace(main, tr) {
				inMain[si] = true
			} else {
				d.OffMainSpans++
			}
		}
		d.Traces = len(traces)
		if d.Spans == 0 {
			rep.EventsWithoutSpans++
		} else {
			rep.EventsWithSpans++
			sum += d.Traces
			hist[d.Traces]++
			rep.TracesPerEvent.Max = max(rep.TracesPerEvent.Max, d.Traces)
		}
		if details {
			for _, r := range queue {
				tr := &t.records[r]
				for _, h := range tr.hops {
					if h.optional {
						continue
					}
					d.TruthEdges++
					if _, ok := o.hops[hopKey{r, h.service}]; ok {
						d.ObservedTruthEdges++
					}
				}
				for _, p := range tr.parents {
					d.TruthEdges++
					if _, ok := o.derived[edgeKey{p.rec, r}]; ok {
						d.ObservedTruthEdges++
					}
				}
				d.TruthEdges += len(tr.unresolvedParents)
			}
			rep.EventDetails = append(rep.EventDetails, d)
		}
	}
	rep.tpeMean = ratio(sum, rep.EventsWithSpans)
	rep.TracesPerEvent.Mean = round6(rep.tpeMean)
	rep.TracesPerEvent.Histogram = make([]HistogramBucket, 0, len(hist))
	for n, c := range hist {
		rep.TracesPerEvent.Histogram = append(rep.TracesPerEvent.Histogram, HistogramBucket{Traces: n, Events: c})
	}
	sort.Slice(rep.TracesPerEvent.Histogram, func(i, j int) bool {
		return rep.TracesPerEvent.Histogram[i].Traces < rep.TracesPerEvent.Histogram[j].Traces
	})
	orphanTraces := map[pcommon.TraceID]struct{}{}
	for i := range ev.spans {
		if inJourney[i] && !inMain[i] {
			rep.OrphanSpans++
			orphanTraces[ev.spans[i].key.trace] = struct{}{}
		}
	}
	rep.OrphanTraces = len(orphanTraces)
}

// containsTrace is a linear search: an origin record has few producer spans.
func containsTrace(ts []pcommon.TraceID, t pcommon.TraceID) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// sortedGroups returns the groups with their counts, most frequent first.
func sortedGroups(m map[EdgeGroup]int) []EdgeGroup {
	out := make([]EdgeGroup, 0, len(m))
	for g, n := range m {
		g.Count = n
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Type+a.From+a.To < b.Type+b.From+b.To
	})
	return out
}
