package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"context"
	"hash/fnv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Attributes of the synthesized state-store operation spans.
const (
	attrStateStoreName = "lineage.state_store.name"
	attrStateStoreOp   = "lineage.state_store.operation"
	attrDerivedFrom    = "lineage.derived_from"
	derivedFromChange  = "changelog_write"
	stateStorePut      = "put"
	stateStoreDelete   = "delete"
)

// isChangelogWrite: a producer span of a Kafka Streams thread to a changelog topic.
func isChangelogWrite(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindProducer && s.hasCoord && isStreamThread(s.thread) && isChangelog(s.coord.topic)
}

// appIDFromThread reads the application.id from a Kafka Streams thread name,
// `<application.id>-<uuid>-StreamThread-<n>` ("" when the name has another shape).
func appIDFromThread(thread string) string {
	i := strings.Index(thread, streamThreadPart)
	if i < 0 {
		return ""
	}
	prefix := thread[:i]
	const uuidLen = 36
	if len(prefix) <= uuidLen+1 || prefix[len(prefix)-uuidLen-1] != '-' {
		return ""
	}
	return prefix[:len(prefix)-uuidLen-1]
}

// synthSpanID derives the id of the state-store span of a changelog write from the write's ids.
func synthSpanID(t pcommon.TraceID, s pcommon.SpanID) pcommon.SpanID {
	h := fnv.New64a()
	_, _ = h.Write(t[:])
	_, _ = h.Write(s[:])
	_, _ = h.Write([]byte("state-store"))
	var id pcommon.SpanID
	copy(id[:], h.Sum(nil))
	if id.IsEmpty() {
		id[0] = 1
	}
	return id
}

// synthesizeStateStore builds the `<store> state-store put|delete` span of a changelog write
// span that has a parent (the process span that updated the store; in link mode, linkParent when
// the parent was recovered as a link). In rewrite mode the write becomes the new span's child; in
// link mode ids stay untouched and the write gets a link to the new span. ok is false when the
// write has no parent.
func (p *lineageProcessor) synthesizeStateStore(span ptrace.Span, info *spanInfo, linkParent *spanInfo) (ptrace.Span, bool) {
	if !isChangelogWrite(info) {
		return ptrace.Span{}, false
	}
	traceID, parentID := span.TraceID(), span.ParentSpanID()
	if p.cfg.Mode == ModeLink && parentID.IsEmpty() && linkParent != nil {
		traceID, parentID = linkParent.traceID, linkParent.spanID
	}
	if parentID.IsEmpty() {
		return ptrace.Span{}, false
	}
	appID := p.index.appID(info.service)
	if appID == "" {
		appID = appIDFromThread(info.thread)
	}
	store := storeName(info.coord.topic, appID)
	op := stateStorePut
	if info.tombstone {
		op = stateStoreDelete
	}
	rule := ruleStreamsChangelog
	if r := stringAttr(span.Attributes(), attrRule); r != "" {
		rule = r
	}
	st := ptrace.NewSpan()
	st.SetTraceID(traceID)
	st.SetSpanID(synthSpanID(info.traceID, info.spanID)) // original ids: stable whatever the mode
	st.SetParentSpanID(parentID)
	st.SetName(store + " state-store " + op)
	st.SetKind(ptrace.SpanKindInternal)
	st.SetStartTimestamp(span.StartTimestamp())
	st.SetEndTimestamp(span.EndTimestamp())
	a := st.Attributes()
	a.PutStr(attrStateStoreName, store)
	a.PutStr(attrStateStoreOp, op)
	a.PutStr(attrDerivedFrom, derivedFromChange)
	a.PutStr(attrRule, rule)
	if info.thread != "" {
		a.PutStr(attrThreadName, info.thread)
	}
	if p.cfg.Mode == ModeRewrite {
		if _, ok := span.Attributes().Get(attrOriginalParentSpan); !ok {
			span.Attributes().PutStr(attrOriginalParentSpan, span.ParentSpanID().String())
		}
		if _, ok := span.Attributes().Get(attrRule); !ok {
			span.Attributes().PutStr(attrRule, ruleStreamsChangelog)
		}
		span.SetParentSpanID(st.SpanID())
	} else {
		l := span.Links().AppendEmpty()
		l.SetTraceID(st.TraceID())
		l.SetSpanID(st.SpanID())
		l.Attributes().PutStr(attrRule, ruleStreamsChangelog)
		if _, ok := span.Attributes().Get(attrRule); !ok {
			span.Attributes().PutStr(attrRule, ruleStreamsChangelog)
		}
	}
	p.stats.synthesized++
	p.tel.synthesized.Add(context.Background(), 1)
	return st, true
}

// appendSynthScope appends the processor's own scope with the given spans to rs.
func appendSynthScope(rs ptrace.ResourceSpans, spans []ptrace.Span) {
	if len(spans) == 0 {
		return
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(scopeName)
	for _, s := range spans {
		s.MoveTo(ss.Spans().AppendEmpty())
	}
}
