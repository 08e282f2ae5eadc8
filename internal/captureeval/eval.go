package captureeval

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Names of the files of a capture directory.
const (
	SpansFile     = "spans.jsonl"
	TruthFileName = "truth.json"
	ManifestFile  = "manifest.json"
)

// StitchFunc rewrites a capture's spans before they are measured (the lineage processor, once it
// exists). It receives every span of the capture at once and may modify and return its argument.
type StitchFunc func(ptrace.Traces) (ptrace.Traces, error)

// Options tunes an evaluation.
type Options struct {
	// Stitch, when set, is applied to all spans of the capture before measuring.
	Stitch StitchFunc
	// EventDetails adds one EventDetail per truth event to the report.
	EventDetails bool
	// MaxLineBytes bounds one spans.jsonl line (<= 0: DefaultMaxLineBytes).
	MaxLineBytes int
}

// EvaluateDir evaluates the capture directory dir.
func EvaluateDir(dir string, opts Options) (*Report, error) {
	tf, err := os.Open(filepath.Join(dir, TruthFileName))
	if err != nil {
		return nil, err
	}
	truth, err := LoadTruth(tf)
	_ = tf.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, TruthFileName), err)
	}
	var manifest json.RawMessage
	var manifestProblem string
	switch data, err := os.ReadFile(filepath.Join(dir, ManifestFile)); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case json.Valid(data):
		manifest = json.RawMessage(data)
	default:
		manifestProblem = ManifestFile + " is not valid JSON (left out of the report)"
	}
	sf, err := os.Open(filepath.Join(dir, SpansFile))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	rep, err := Evaluate(sf, truth, opts)
	if err != nil {
		return nil, err
	}
	rep.Manifest = manifest
	if manifestProblem != "" {
		rep.TruthProblems.addf("%s", manifestProblem)
	}
	return rep, nil
}

// Evaluate measures the spans read from spans (spans.jsonl content) against truth.
func Evaluate(spans io.Reader, truth *Truth, opts Options) (*Report, error) {
	ev := newEvaluator(truth)
	in, err := readSpans(spans, opts.MaxLineBytes, &ev.malformed, opts.Stitch, ev.addTraces)
	if err != nil {
		return nil, err
	}
	rep := ev.report(opts.EventDetails)
	rep.Input = in
	rep.Stitched = opts.Stitch != nil
	return rep, nil
}

// spanKey identifies a span.
type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

type spanClass uint8

const (
	classRecordLess spanClass = iota
	classRecord
	classNoise
	classAmbiguous
	classMalformed
)

type spanInfo struct {
	key      spanKey
	parent   pcommon.SpanID
	producer bool
	class    spanClass
	rec      recIdx // >= 0 only for classRecord
	service  string
	links    []spanKey
}

type evaluator struct {
	truth     *Truth
	spans     []spanInfo
	byKey     map[spanKey]int32
	stats     SpanStats
	malformed Problems
	// ancestors answers whether a derived edge's source is a truth ancestor of its target.
	ancestors *ancestorIndex
}

func newEvaluator(t *Truth) *evaluator {
	return &evaluator{truth: t, byKey: make(map[spanKey]int32), ancestors: newAncestorIndex(t)}
}

func (ev *evaluator) addTraces(line int, td ptrace.Traces) {
	where := func(s ptrace.Span) string {
		if line > 0 {
			return fmt.Sprintf("spans line %d, span %s/%s %q", line, s.TraceID(), s.SpanID(), truncate(s.Name(), 60))
		}
		return fmt.Sprintf("span %s/%s %q", s.TraceID(), s.SpanID(), truncate(s.Name(), 60))
	}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		service, hasService, serviceErr := stringAttr(res, ResAttrServiceName)
		if serviceErr == nil && !hasService {
			serviceErr = errors.New(ResAttrServiceName + " missing")
		}
		cluster, _, clusterErr := stringAttr(res, ResAttrClusterName)
		if clusterErr != nil {
			cluster = ""
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				ev.addSpan(spans.At(k), service, serviceErr, cluster, clusterErr, where)
			}
		}
	}
}

func (ev *evaluator) addSpan(s ptrace.Span, service string, serviceErr error, cluster string, clusterErr error, where func(ptrace.Span) string) {
	ev.stats.Total++
	info := spanInfo{
		key:      spanKey{s.TraceID(), s.SpanID()},
		parent:   s.ParentSpanID(),
		producer: s.Kind() == ptrace.SpanKindProducer,
		rec:      -1,
		service:  service,
	}
	if info.key.trace.IsEmpty() || info.key.span.IsEmpty() {
		ev.stats.Malformed++
		ev.malformed.addf("%s: empty trace or span id (span ignored)", where(s))
		return
	}
	if _, dup := ev.byKey[info.key]; dup {
		ev.stats.Duplicate++
		return
	}
	if info.parent == info.key.span {
		info.parent = pcommon.SpanID{}
		info.class = classMalformed
		ev.malformed.addf("%s: span is its own parent", where(s))
	}
	if info.class != classMalformed {
		switch c, ok, err := ParseSpanRecord(s.Attributes()); {
		case err != nil:
			info.class = classMalformed
			ev.malformed.addf("%s: %v", where(s), err)
		case serviceErr != nil:
			info.class = classMalformed
			ev.malformed.addf("%s: resource %v", where(s), serviceErr)
		case !ok:
			info.class = classRecordLess
		default:
			switch rec, found, ambiguous := ev.truth.lookup(c, cluster); {
			case found:
				info.class, info.rec = classRecord, rec
			case ambiguous:
				info.class = classAmbiguous
				if clusterErr != nil {
					ev.malformed.addf("%s: resource %v", where(s), clusterErr)
				}
			default:
				info.class = classNoise
			}
		}
	}
	switch info.class {
	case classRecordLess:
		ev.stats.RecordLess++
	case classRecord:
		ev.stats.WithRecord++
	case classNoise:
		ev.stats.Noise++
	case classAmbiguous:
		ev.stats.Ambiguous++
	case classMalformed:
		ev.stats.Malformed++
	}
	if links := s.Links(); links.Len() > 0 {
		info.links = make([]spanKey, 0, links.Len())
		for l := 0; l < links.Len(); l++ {
			lk := links.At(l)
			// A reverse link (the lineage processor's link mode marks it) points at an effect,
			// not a cause: it states no lineage edge of its own.
			if dir, ok := lk.Attributes().Get(attrLinkDirection); ok && dir.Str() == linkDirectionChild {
				continue
			}
			info.links = append(info.links, spanKey{lk.TraceID(), lk.SpanID()})
		}
	}
	ev.byKey[info.key] = int32(len(ev.spans))
	ev.spans = append(ev.spans, info)
}

// recordAncestor returns the nearest ancestor of span i (through parent span ids, within the
// trace) that is a record span, or -1.
func (ev *evaluator) recordAncestor(i int32) int32 {
	s := &ev.spans[i]
	cur := s.parent
	for steps := 0; !cur.IsEmpty() && steps < len(ev.spans); steps++ {
		j, ok := ev.byKey[spanKey{s.key.trace, cur}]
		if !ok || j == i {
			return -1
		}
		if ev.spans[j].class == classRecord {
			return j
		}
		cur = ev.spans[j].parent
	}
	return -1
}

// observed holds the observed edges and, per record, the record-less spans that stand for its
// consumption.
type observed struct {
	hops    map[hopKey]struct{}
	derived map[edgeKey]struct{}
	links   LinkStats
	// recSpans lists the record spans of each record; linkers the record-less spans linking to
	// them.
	recSpans [][]int32
	linkers  [][]int32
}

func (ev *evaluator) observe() *observed {
	n := len(ev.truth.records)
	o := &observed{
		hops:     make(map[hopKey]struct{}),
		derived:  make(map[edgeKey]struct{}),
		recSpans: make([][]int32, n),
		linkers:  make([][]int32, n),
	}
	addEdge := func(src recIdx, s *spanInfo) {
		if src == s.rec && !s.producer {
			o.hops[hopKey{src, s.service}] = struct{}{}
		} else {
			o.derived[edgeKey{src, s.rec}] = struct{}{}
		}
	}
	for i := range ev.spans {
		s := &ev.spans[i]
		if s.class == classRecord {
			o.recSpans[s.rec] = append(o.recSpans[s.rec], int32(i))
			if a := ev.recordAncestor(int32(i)); a >= 0 {
				addEdge(ev.spans[a].rec, s)
			}
		}
		var linked []recIdx // records this span links to
		for _, lk := range s.links {
			o.links.Total++
			j, ok := ev.byKey[lk]
			if !ok {
				continue
			}
			o.links.Resolved++
			if ev.spans[j].class != classRecord {
				continue
			}
			o.links.ToRecordSpans++
			lrec := ev.spans[j].rec
			switch {
			case s.class == classRecord:
				addEdge(lrec, s)
			case s.class == classRecordLess && !s.producer:
				// A record-less span linking to record spans (a Connect sink batch) stands for
				// the consumption of those records.
				o.hops[hopKey{lrec, s.service}] = struct{}{}
				if !slices.Contains(linked, lrec) {
					linked = append(linked, lrec)
					o.linkers[lrec] = append(o.linkers[lrec], int32(i))
				}
			}
		}
	}
	return o
}
