package loadgen

import (
	"encoding/binary"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// maxTemplateIDs bounds the distinct span ids of one capture (ids are (replica, index) pairs).
const maxTemplateIDs = 1 << 20

// Replica describes one copy of a template.
type Replica struct {
	// N is the replica's number, unique over the run (not per template): it makes ids, offsets
	// and keys unique.
	N uint64
	// OffsetShift is added to every record offset (N × a stride larger than any offset).
	OffsetShift int64
	// Start is where the capture's first span start lands; every timestamp moves with it.
	Start pcommon.Timestamp
}

// Build returns request i of the template rewritten for replica r: trace and span ids (parents
// and links included) replaced by ids unique to (r.N, the capture's id), offsets shifted by
// r.OffsetShift, keys suffixed with "~N", timestamps moved to r.Start.
func (t *Template) Build(i int, r Replica) ptrace.Traces {
	td := ptrace.NewTraces()
	t.Requests[i].Traces.CopyTo(td)
	shift := int64(r.Start) - int64(t.t0)
	suffix := "~" + strconv.FormatUint(r.N, 10)
	forEachSpan(td, func(s ptrace.Span) {
		s.SetTraceID(t.newTraceID(s.TraceID(), r.N))
		s.SetSpanID(t.newSpanID(s.SpanID(), r.N))
		s.SetParentSpanID(t.newSpanID(s.ParentSpanID(), r.N))
		s.SetStartTimestamp(pcommon.Timestamp(int64(s.StartTimestamp()) + shift))
		s.SetEndTimestamp(pcommon.Timestamp(int64(s.EndTimestamp()) + shift))
		for j := 0; j < s.Events().Len(); j++ {
			e := s.Events().At(j)
			e.SetTimestamp(pcommon.Timestamp(int64(e.Timestamp()) + shift))
		}
		rewriteAttrs(s.Attributes(), r.OffsetShift, suffix)
		for j := 0; j < s.Links().Len(); j++ {
			l := s.Links().At(j)
			l.SetTraceID(t.newTraceID(l.TraceID(), r.N))
			l.SetSpanID(t.newSpanID(l.SpanID(), r.N))
			rewriteAttrs(l.Attributes(), r.OffsetShift, suffix)
		}
	})
	return td
}

func rewriteAttrs(attrs pcommon.Map, shift int64, suffix string) {
	for _, k := range []string{attrOffset, attrOffsetNew} {
		if v, ok := attrs.Get(k); ok && v.Type() == pcommon.ValueTypeInt {
			v.SetInt(v.Int() + shift)
		}
	}
	if v, ok := attrs.Get(attrKey); ok && v.Type() == pcommon.ValueTypeStr {
		v.SetStr(v.Str() + suffix)
	}
}

// newTraceID: (mix(n+1), mix(index+1)); mix is a bijection, so distinct (n, index) pairs give
// distinct ids, and neither half is zero.
func (t *Template) newTraceID(id pcommon.TraceID, n uint64) pcommon.TraceID {
	idx, ok := t.traceIdx[id]
	if !ok {
		return id // empty
	}
	var out pcommon.TraceID
	binary.BigEndian.PutUint64(out[:8], mix64(n+1))
	binary.BigEndian.PutUint64(out[8:], mix64(idx+1))
	return out
}

// newSpanID: mix((n+1) << 20 | index): distinct for distinct (n, index) pairs, never zero.
func (t *Template) newSpanID(id pcommon.SpanID, n uint64) pcommon.SpanID {
	idx, ok := t.spanIdx[id]
	if !ok {
		return id // empty
	}
	var out pcommon.SpanID
	binary.BigEndian.PutUint64(out[:], mix64((n+1)<<20|idx))
	return out
}

// mix64 is the splitmix64 finalizer: a bijection on uint64 that makes ids look random.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
