package captureeval

import (
	"bytes"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// setFuzzValue stores one of several value types under key (kind picks the type; some kinds
// leave the attribute out).
func setFuzzValue(m pcommon.Map, key string, kind uint8, s string, i int64, d float64) {
	switch kind % 6 {
	case 0:
		m.PutStr(key, s)
	case 1:
		m.PutInt(key, i)
	case 2:
		m.PutDouble(key, d)
	case 3:
		m.PutBool(key, i%2 == 0)
	case 4:
		m.PutEmptyBytes(key).FromRaw([]byte(s))
	}
}

func FuzzParseSpanRecord(f *testing.F) {
	f.Add("transactions", uint8(0), "0", int64(0), 0.0, uint8(1), "", int64(5), 0.0, uint8(1))
	f.Add("transactions", uint8(1), "", int64(3), 0.0, uint8(1), "", int64(5), 0.0, uint8(1|8))
	f.Add("t", uint8(0), "-1", int64(0), 0.0, uint8(0), "9223372036854775808", int64(0), 0.0, uint8(1))
	f.Add("t", uint8(2), "", int64(0), 1.5, uint8(2), "", int64(0), 1e300, uint8(1|2|32))
	f.Add("", uint8(5), "", int64(0), 0.0, uint8(1), "", int64(-1), 0.0, uint8(0))
	f.Fuzz(func(t *testing.T, topic string, pKind uint8, pStr string, pInt int64, pDbl float64,
		oKind uint8, oStr string, oInt int64, oDbl float64, which uint8) {
		m := pcommon.NewMap()
		if which&1 != 0 {
			m.PutStr(AttrTopic, topic)
		}
		setFuzzValue(m, partitionAttrs[int(which>>1)%len(partitionAttrs)], pKind, pStr, pInt, pDbl)
		setFuzzValue(m, offsetAttrs[(which>>3)&1], oKind, oStr, oInt, oDbl)
		if which&32 != 0 { // the other spelling of the offset too
			setFuzzValue(m, offsetAttrs[1-(which>>3)&1], oKind+pKind, oStr, oInt+int64(pKind%2), oDbl)
		}
		c, ok, err := ParseSpanRecord(m)
		c2, ok2, err2 := ParseSpanRecord(m)
		if c != c2 || ok != ok2 || (err == nil) != (err2 == nil) {
			t.Fatal("not deterministic")
		}
		switch {
		case err != nil:
			if ok || c != (Coord{}) {
				t.Fatalf("error %v with a record %+v", err, c)
			}
		case ok:
			if c.Topic == "" || c.Topic != topic || c.Partition < 0 || c.Offset < 0 {
				t.Fatalf("bad record %+v", c)
			}
			if oKind%6 == 1 && which&32 == 0 && c.Offset != oInt {
				t.Fatalf("offset %d, want %d", c.Offset, oInt)
			}
			if pKind%6 == 1 && c.Partition != int32(pInt) {
				t.Fatalf("partition %d, want %d", c.Partition, pInt)
			}
		default:
			if c != (Coord{}) {
				t.Fatalf("record-less with %+v", c)
			}
		}
	})
}

var finalLineRE = regexp.MustCompile(`^events=\d+ traces_per_event=\d+\.\d\d precision=[01]\.\d\d\d recall=[01]\.\d\d\d$`)

// checkInvariants holds for any report, whatever the input.
func checkInvariants(t *testing.T, rep *Report) {
	t.Helper()
	s := rep.Spans
	if s.Total != s.WithRecord+s.Noise+s.Ambiguous+s.RecordLess+s.Malformed+s.Duplicate {
		t.Fatalf("span classes do not add up: %+v", s)
	}
	e := rep.Edges
	if e.Correct > e.Observed || e.ObservedTruth > e.Truth || e.Precision < 0 || e.Precision > 1 || e.Recall < 0 || e.Recall > 1 {
		t.Fatalf("edge stats out of range: %+v", e)
	}
	var sum TypeStats
	for typ := EdgeType(0); typ < numEdgeTypes; typ++ {
		ts := e.ByType.get(typ)
		sum.Observed += ts.Observed
		sum.Correct += ts.Correct
		sum.Truth += ts.Truth
		sum.ObservedTruth += ts.ObservedTruth
	}
	if sum.Observed != e.Observed || sum.Correct != e.Correct || sum.Truth != e.Truth || sum.ObservedTruth != e.ObservedTruth {
		t.Fatalf("by_type does not add up: %+v vs %+v", sum, e)
	}
	if rep.EventsWithSpans+rep.EventsWithoutSpans != rep.Events || rep.OrphanSpans > s.Total || rep.OrphanTraces > rep.OrphanSpans {
		t.Fatalf("event or orphan counts inconsistent: %+v", rep)
	}
	if rep.EventsWithSpans > 0 && (rep.TracesPerEvent.Mean < 1 || float64(rep.TracesPerEvent.Max) < rep.TracesPerEvent.Mean-1e-9) {
		t.Fatalf("traces_per_event inconsistent: %+v", rep.TracesPerEvent)
	}
	if rep.Input.MalformedLines > rep.Input.Lines {
		t.Fatalf("input inconsistent: %+v", rep.Input)
	}
	if !finalLineRE.MatchString(rep.FinalLine()) {
		t.Fatalf("final line %q", rep.FinalLine())
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(e.Precision) || math.IsNaN(rep.TracesPerEvent.Mean) {
		t.Fatal("NaN")
	}
}

func fuzzTruth(f *testing.F) *Truth {
	data, err := os.ReadFile("testdata/connected/truth.json")
	if err != nil {
		f.Fatal(err)
	}
	tr, err := ParseTruth(data)
	if err != nil {
		f.Fatal(err)
	}
	return tr
}

func FuzzReadTraces(f *testing.F) {
	truth := fuzzTruth(f)
	spans, err := os.ReadFile("testdata/connected/spans.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(spans)
	for _, l := range bytes.Split(spans, []byte("\n")) {
		f.Add(l)
	}
	f.Add(tracesLine(f, producer("p", "A", "", tp, "transactions", 0, 5).withLinks(tlink{trace: "A", span: "p"}),
		tspan{name: "s", trace: "S", service: kc1, kind: ptrace.SpanKindConsumer, attrs: map[string]any{AttrTopic: "x"}, links: []tlink{{trace: "A", span: "p"}}}))
	f.Add([]byte("null\n[1]\n{}\r\n\n{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"\"}]}]}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var problems Problems
		calls := 0
		stats, err := ReadTraces(bytes.NewReader(data), 1<<12, &problems, func(int, ptrace.Traces) { calls++ })
		if err != nil {
			t.Fatalf("read error on an in-memory reader: %v", err)
		}
		if lines := bytes.Count(data, []byte("\n")) + 1; stats.Lines > lines || calls+stats.MalformedLines != stats.Lines {
			t.Fatalf("stats %+v, %d decoded, %d physical lines", stats, calls, lines)
		}
		if problems.Count != stats.MalformedLines {
			t.Fatalf("%d problems for %d malformed lines", problems.Count, stats.MalformedLines)
		}
		rep, err := Evaluate(bytes.NewReader(data), truth, Options{EventDetails: true, MaxLineBytes: 1 << 12})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, rep)
	})
}

func FuzzParseTruth(f *testing.F) {
	for _, name := range []string{"testdata/connected/truth.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"schema_version":1,"consumers":[{"cluster":"dc1","topic":"transactions","service":"withdrawal-processor","kind":"mirror"}],` +
		`"records":[{"id":"a","cluster":"dc1","topic":"transactions","partition":0,"offset":5,"parents":[{"id":"b","type":"cluster","primary":true}]},` +
		`{"id":"b","cluster":"dc1","topic":"withdrawals-approved","partition":2,"offset":0,"parents":[{"id":"a","type":"streams"},{"id":"zz","type":"x"}]}],` +
		`"events":[{"event_id":"e","record":"a"},{"event_id":"e","record":"q"}]}`))
	f.Add([]byte(`{"records":[{"cluster":"dc1","topic":"transactions","partition":0,"offset":5},{"cluster":"dc2","topic":"transactions","partition":0,"offset":5}]}`))
	spans, err := os.ReadFile("testdata/connected/spans.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTruth(data)
		if err != nil {
			if tr != nil {
				t.Fatal("truth with an error")
			}
			return
		}
		if len(tr.Problems.Samples) > maxProblemSamples || len(tr.Problems.Samples) > tr.Problems.Count {
			t.Fatalf("problems %+v", tr.Problems)
		}
		for _, s := range tr.Problems.Samples {
			if !strings.HasPrefix(s, "truth: ") {
				t.Fatalf("problem %q", s)
			}
		}
		rep, err := Evaluate(bytes.NewReader(spans), tr, Options{EventDetails: true})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, rep)
		if rep.Truth.Records != len(tr.records) || len(rep.EventDetails) != rep.Events {
			t.Fatalf("truth stats %+v", rep.Truth)
		}
	})
}
