package lineageprocessor

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestDbgWin(t *testing.T) {
	dir := os.Getenv("DBG_DIR")
	var ut ptrace.JSONUnmarshaler
	all := ptrace.NewTraces()
	readJSONLines(t, "../../../.."+dir, "spans.jsonl", func(b []byte) {
		td, _ := ut.UnmarshalTraces(b)
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	})
	var u plog.JSONUnmarshaler
	facts := plog.NewLogs()
	readJSONLines(t, "../../../.."+dir, "facts.jsonl", func(b []byte) {
		ld, _ := u.UnmarshalLogs(b)
		ld.ResourceLogs().MoveAndAppendTo(facts.ResourceLogs())
	})
	out, _ := Stitch(nil, all, facts)
	byID := map[pcommon.SpanID]ptrace.Span{}
	forEachSpan(out, func(_ pcommon.Resource, s ptrace.Span) { byID[s.SpanID()] = s })
	rec := func(s ptrace.Span) string {
		a, _ := s.Attributes().Get("messaging.destination.partition.id")
		o, ok := s.Attributes().Get("messaging.kafka.message.offset")
		if !ok {
			o, _ = s.Attributes().Get("messaging.kafka.offset")
		}
		d, _ := s.Attributes().Get("messaging.destination.name")
		return fmt.Sprintf("%s/%s/%d", d.Str(), a.AsString(), o.Int())
	}
	forEachSpan(out, func(_ pcommon.Resource, s ptrace.Span) {
		if d, _ := s.Attributes().Get("messaging.destination.name"); d.Str() == os.Getenv("DBG_TOPIC") && s.Kind() == ptrace.SpanKindProducer {
			p, pok := byID[s.ParentSpanID()]
			if pok && strings.Contains(p.Name(), "state-store") {
				p, pok = byID[p.ParentSpanID()]
			}
			var links []string
			for i := 0; i < s.Links().Len(); i++ {
				if l, ok := byID[s.Links().At(i).SpanID()]; ok {
					links = append(links, rec(l))
				}
			}
			pr := "-"
			if pok {
				pr = rec(p)
			}
			fmt.Printf("X %s parent=%s rule=%s links=%v\n", rec(s), pr, strAttr(s, "lineage.rule"), links)
		}
	})
}
