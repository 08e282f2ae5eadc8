package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"context"
	"hash/fnv"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Rule names of the Kafka Connect and MirrorMaker 2 rules.
const (
	ruleSinkBatch  = "sink_batch"
	ruleMirrorCopy = "mirror_copy"
)

// sinkBatchRule (`sink_batch`): a Kafka Connect sink task's put() span — a root CONSUMER span on a
// task thread that links to the producer spans of the batch's records — continues the trace of
// the batch's first record by (partition, offset): that record's producer span becomes its
// parent; the links to the others stay.
type sinkBatchRule struct{}

func (sinkBatchRule) Name() string { return ruleSinkBatch }

func (sinkBatchRule) Applies(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindConsumer && s.isRoot() && len(s.links) > 0
}

func (sinkBatchRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	var first *spanInfo
	for _, l := range s.links {
		p, ok := recordOfLink(idx, l, s.resCluster)
		if !ok {
			return nil, statusWait, append(wake, spanWake(l))
		}
		if first == nil || p.coord.partition < first.coord.partition || p.coord.partition == first.coord.partition && p.coord.offset < first.coord.offset {
			first = p
		}
	}
	return first, statusFound, nil
}

// mirrorCopyRule (`mirror_copy`): a root PRODUCER span T on a Kafka Connect task thread (a
// MirrorMaker 2 target send, a new trace with the stock agent) copies the record that task read
// last with the same partition, timestamp and key: MirrorMaker 2 keeps all three, and names the
// target topic "<source alias>.<topic>" (default replication policy) or keeps the name (identity
// policy). T's parent is the task's process span of that source record, so the event stays one
// trace across clusters.
type mirrorCopyRule struct{}

func (mirrorCopyRule) Name() string { return ruleMirrorCopy }

func (mirrorCopyRule) Applies(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindProducer && s.isRoot() && s.hasCoord && isTaskThread(s.thread)
}

func (mirrorCopyRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	f, ok := idx.factAt(s.coord)
	if !ok {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	k := tsKey{s.service, s.thread, f.timestamp}
	list := idx.facts.byTS[k]
	for i := sort.Search(len(list), func(i int) bool { return list[i].end > s.start }) - 1; i >= 0; i-- {
		c := list[i]
		if c.coord.partition == s.coord.partition && isMirrorOf(s.coord.topic, c.coord.topic) &&
			idx.facts.filed[c].keyHash == f.keyHash && c.coord.cluster != s.coord.cluster {
			return c, statusFound, nil
		}
	}
	return nil, statusWait, append(wake, tsWake(k))
}

// isMirrorOf reports whether target is MirrorMaker 2's name for source: "<alias>.<source>"
// (default replication policy) or source itself (identity replication policy).
func isMirrorOf(target, source string) bool {
	if target == source {
		return true
	}
	return len(target) > len(source)+1 && target[len(target)-len(source)-1] == '.' && target[len(target)-len(source):] == source
}

// derivedFromSinkBatch marks the per-record spans split off a Connect sink batch.
const derivedFromSinkBatch = "sink_batch"

// splitSinkBatch gives every record of a Connect sink batch its place in its own trace (rewrite
// mode): the batch span stays in its first record's trace (sink_batch), and for each other record
// a span `<batch name>` is synthesized in that record's trace, under its producer span, linking to
// the record's producer span and to the batch span; the batch span's link to that record is
// pointed at the new span (the record stays one hop away). So each event's trace shows the sink
// touchpoint. The links must already carry their final trace ids (retargetLinks).
func (p *lineageProcessor) splitSinkBatch(span ptrace.Span, info *spanInfo) []ptrace.Span {
	if p.cfg.Mode != ModeRewrite || len(info.links) == 0 || stringAttr(span.Attributes(), attrRule) != ruleSinkBatch {
		return nil
	}
	var out []ptrace.Span
	links := span.Links()
	now := p.clock.Now()
	for i := 0; i < links.Len(); i++ {
		l := links.At(i)
		if _, ours := l.Attributes().Get(attrRule); ours {
			continue
		}
		// the link may name an upstream context the record carries: point it at the record
		if r, ok := recordOfLink(p.index, spanKey{l.TraceID(), l.SpanID()}, info.resCluster); ok && r.spanID != l.SpanID() {
			l.Attributes().PutStr(attrOriginalLinkSpan, l.SpanID().String())
			l.SetTraceID(p.currentTrace(r, now))
			l.SetSpanID(r.spanID)
		}
		if l.SpanID() == span.ParentSpanID() {
			continue // the record whose trace the batch span continues
		}
		st := ptrace.NewSpan()
		st.SetTraceID(l.TraceID())
		st.SetSpanID(sinkRecordSpanID(span.SpanID(), l.SpanID()))
		st.SetParentSpanID(l.SpanID())
		st.SetName(span.Name())
		st.SetKind(ptrace.SpanKindConsumer)
		st.SetStartTimestamp(span.StartTimestamp())
		st.SetEndTimestamp(span.EndTimestamp())
		a := st.Attributes()
		a.PutStr(attrDerivedFrom, derivedFromSinkBatch)
		a.PutStr(attrRule, ruleSinkBatch)
		if info.thread != "" {
			a.PutStr(attrThreadName, info.thread)
		}
		rl := st.Links().AppendEmpty()
		rl.SetTraceID(l.TraceID())
		rl.SetSpanID(l.SpanID())
		rl.Attributes().PutStr(attrRule, ruleSinkBatch)
		bl := st.Links().AppendEmpty()
		bl.SetTraceID(span.TraceID())
		bl.SetSpanID(span.SpanID())
		bl.Attributes().PutStr(attrRule, ruleSinkBatch)
		if _, ok := l.Attributes().Get(attrOriginalLinkSpan); !ok {
			l.Attributes().PutStr(attrOriginalLinkSpan, l.SpanID().String())
		}
		l.SetSpanID(st.SpanID())
		l.Attributes().PutStr(attrRule, ruleSinkBatch)
		out = append(out, st)
	}
	p.stats.synthesized += int64(len(out))
	p.tel.synthesized.Add(context.Background(), int64(len(out)))
	return out
}

// currentTrace returns the trace a span is in now: where it was moved, or its trace's merges.
func (p *lineageProcessor) currentTrace(s *spanInfo, now time.Time) pcommon.TraceID {
	if pe := p.held[s.key()]; pe != nil {
		return p.final(pe.span.TraceID(), now)
	}
	if t, ok := p.spanRemap.get(s.key(), now); ok {
		return p.final(t, now)
	}
	return p.final(s.traceID, now)
}

// sinkRecordSpanID derives the id of a sink batch's per-record span from the batch span and the
// record's producer span.
func sinkRecordSpanID(batch, record pcommon.SpanID) pcommon.SpanID {
	h := fnv.New64a()
	_, _ = h.Write(batch[:])
	_, _ = h.Write(record[:])
	_, _ = h.Write([]byte("sink-record"))
	var id pcommon.SpanID
	copy(id[:], h.Sum(nil))
	if id.IsEmpty() {
		id[0] = 1
	}
	return id
}
