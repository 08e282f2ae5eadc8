package lineageprocessor

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/recordfact"
)

// A Connect sink task's put() of two records (approved/0/7 and approved/0/3, in that link order):
// a root CONSUMER span linking to both producer spans continues the trace of the batch's first
// record by offset; its links stay. An empty put() (no links) is left alone.
func TestSinkBatchContinuesTheFirstRecordsTrace(t *testing.T) {
	const task = "task-thread-approved-file-sink-0"
	p7 := prod(wp, 1, 1, 0, streamThread, "approved", 7)
	p3 := prod(wp, 2, 2, 0, streamThread, "approved", 3)
	put := ts{service: "kafka-connect-dc1", trace: 5, span: 50, kind: ptrace.SpanKindConsumer, thread: task}
	empty := ts{service: "kafka-connect-dc1", trace: 6, span: 60, kind: ptrace.SpanKindConsumer, thread: task}
	batch := tracesOf(put)
	links := batch.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Links()
	for _, l := range []struct{ trace, span byte }{{1, 1}, {2, 2}} {
		nl := links.AppendEmpty()
		nl.SetTraceID(tid(l.trace))
		nl.SetSpanID(sid(l.span))
	}
	h := newHarness(t, nil)
	h.feed(batch) // before the producer spans: it waits for them
	h.feed(tracesOf(empty))
	h.feed(tracesOf(p7))
	h.feed(tracesOf(p3))
	h.shutdown()
	out := h.out()
	require.Len(t, out, 4)
	s := out[sid(50)]
	assert.Equal(t, ruleSinkBatch, strAttr(s, attrRule))
	assert.Equal(t, sid(2), s.ParentSpanID(), "approved/0/3 comes first")
	assert.Equal(t, tid(2), s.TraceID())
	assert.True(t, out[sid(60)].ParentSpanID().IsEmpty())

	// approved/0/7's trace gets its own span of the batch, under its producer, and the batch span's
	// link to that record points at it.
	synth := h.synthOut()
	require.Len(t, synth, 1)
	var own ptrace.Span
	for _, sp := range synth {
		own = sp
	}
	assert.Equal(t, tid(1), own.TraceID())
	assert.Equal(t, sid(1), own.ParentSpanID())
	assert.Equal(t, derivedFromSinkBatch, strAttr(own, attrDerivedFrom))
	assertLink(t, own, tid(1), sid(1), ruleSinkBatch)
	assertLink(t, own, tid(2), sid(50), ruleSinkBatch)
	require.Equal(t, 2, s.Links().Len())
	assertLink(t, s, tid(2), sid(2), "") // the record it continues: the agent's link, unchanged
	assertLink(t, s, tid(1), own.SpanID(), ruleSinkBatch)
}

// MirrorMaker 2 (dc1 -> dc2, default replication policy): the task's process span of the source
// record (transactions/0/5 on dc1) and, later on the same task thread, the target send to
// dc1.transactions on dc2 — a new root with the stock agent. Same partition, timestamp and key:
// the send belongs under the process span. A copy of another record (other timestamp) does not.
func TestMirrorCopyAcrossClusters(t *testing.T) {
	const task = "task-thread-mm2-dc1-to-dc2-0"
	x := prod("transaction-producer", 1, 1, 0, "main", "transactions", 5)
	read := cons("kafka-connect-dc2", 1, 2, 1, task, "transactions", 5)
	read6 := cons("kafka-connect-dc2", 3, 30, 31, task, "transactions", 6)
	send := prod("kafka-connect-dc2", 5, 50, 0, task, "dc1.transactions", 9)
	td := func(s ts, startMs int64, cluster string) ptrace.Traces {
		d := sp{ts: s, startMs: startMs}.traces()
		d.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr(attrClusterID, cluster)
		return d
	}
	ld := factsOf(rf{topic: "transactions", offset: 5, key: "h-acct-1", tsMs: 10}, rf{topic: "transactions", offset: 6, key: "h-acct-1", tsMs: 11})
	dc2 := factsOf(rf{topic: "dc1.transactions", offset: 9, key: "h-acct-1", tsMs: 10})
	dc2.ResourceLogs().At(0).Resource().Attributes().PutStr(recordfact.AttrClusterID, "cluster-2")
	h := newHarness(t, nil)
	h.feedLogs(ld)
	h.feedLogs(dc2)
	h.feed(td(x, 100, "cluster-1"))
	h.feed(td(read, 200, "cluster-1"))
	h.feed(td(read6, 300, "cluster-1"))
	h.feed(td(send, 400, "cluster-2"))
	h.shutdown()
	out := h.out()[sid(50)]
	assert.Equal(t, ruleMirrorCopy, strAttr(out, attrRule))
	assert.Equal(t, sid(2), out.ParentSpanID())
	assert.Equal(t, tid(1), out.TraceID())
	assert.True(t, isMirrorOf("dc1.transactions", "transactions"))
	assert.True(t, isMirrorOf("transactions", "transactions"))
	assert.False(t, isMirrorOf("xtransactions", "transactions"))
}

// With Connect REST endpoints configured, the spans of a connector's task threads carry its
// transform chain, marked as read from the configuration.
func TestConnectorTransformsOnTaskThreadSpans(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"crm-accounts-source":{"info":{"name":"crm-accounts-source","type":"source","config":{` +
			`"connector.class":"lineage.demo.connect.CrmAccountsSourceConnector","transforms":"key,mask",` +
			`"transforms.key.type":"org.apache.kafka.connect.transforms.ValueToKey",` +
			`"transforms.mask.type":"org.apache.kafka.connect.transforms.MaskField$Value"}}}}`))
	}))
	defer srv.Close()
	h := newHarness(t, func(c *Config) { c.Connect.URLs = []string{srv.URL} })
	h.p.connect.Refresh(t.Context())
	h.feed(tracesOf(prod("kafka-connect-dc1", 1, 1, 0, "task-thread-crm-accounts-source-0", "accounts", 0)))
	h.feed(tracesOf(prod("transaction-producer", 2, 2, 0, "main", "transactions", 0)))
	h.shutdown()
	out := h.out()
	s := out[sid(1)]
	assert.Equal(t, "crm-accounts-source", strAttr(s, attrConnector))
	assert.Equal(t, "lineage.demo.connect.CrmAccountsSourceConnector", strAttr(s, attrConnectorClass))
	v, ok := s.Attributes().Get(attrTransforms)
	require.True(t, ok)
	assert.Equal(t, []any{"key=org.apache.kafka.connect.transforms.ValueToKey", "mask=org.apache.kafka.connect.transforms.MaskField$Value"}, v.Slice().AsRaw())
	assert.Equal(t, derivedFromConfig, strAttr(s, attrTransformsFrom))
	_, ok = out[sid(2)].Attributes().Get(attrConnector)
	assert.False(t, ok)
}

// Producer propagation disabled on Streams and Connect: the record the sink read (dc1's copy of
// an approval, written by MirrorMaker 2's send T) carries the ORIGINAL producer's traceparent X,
// so the agent links the sink batch to X. The record fact with header X in the worker's cluster,
// produced by another span than X, is the record read: the batch goes under T and its link is
// pointed at T.
func TestSinkBatchLinkToAnUpstreamContext(t *testing.T) {
	const task = "task-thread-approved-file-sink-0"
	x := prod("transaction-producer", 1, 1, 0, "main", "transactions", 5)
	tcopy := prod("kafka-connect-dc1", 3, 30, 0, "task-thread-mm2-dc2-to-dc1-0", "dc2.withdrawals-approved", 9)
	put := ts{service: "kafka-connect-dc1", trace: 5, span: 50, kind: ptrace.SpanKindConsumer, thread: task}
	batch := tracesOf(put)
	nl := batch.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Links().AppendEmpty()
	nl.SetTraceID(tid(1))
	nl.SetSpanID(sid(1))
	h := newHarness(t, nil)
	h.feedLogs(factsOf(rf{topic: "transactions", offset: 5, key: "h-acct-1", tsMs: 10, header: &spanKey{tid(1), sid(1)}},
		rf{topic: "dc2.withdrawals-approved", offset: 9, key: "h-acct-1", tsMs: 10, header: &spanKey{tid(1), sid(1)}}))
	h.feed(tracesOf(x))
	h.feed(tracesOf(tcopy))
	h.feed(batch)
	h.shutdown()
	s := h.out()[sid(50)]
	assert.Equal(t, ruleSinkBatch, strAttr(s, attrRule))
	assert.Equal(t, sid(30), s.ParentSpanID())
	require.Equal(t, 1, s.Links().Len())
	assert.Equal(t, sid(30), s.Links().At(0).SpanID())
	v, _ := s.Links().At(0).Attributes().Get(attrOriginalLinkSpan)
	assert.Equal(t, sid(1).String(), v.Str())
}
