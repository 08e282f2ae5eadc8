// Package storetest is the one integration suite every lineagestore.Store backend passes: Run
// exercises each method and its edge cases against a real store the caller opens.
package storetest // import "github.com/eventlineage/lineage/internal/lineagestore/storetest"

import (
	"fmt"
	"time"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// The harness' names (docs/capture-format.md): two clusters known by id, named dc1 and dc2.
const (
	dc1ID = "kc-dc1-Yq3Z4bDfRm2rJ1u9Xx7cAw"
	dc2ID = "kc-dc2-P0h6zWq1TnK8sVb3LmE4Rg"
	dc1   = "dc1"
	dc2   = "dc2"

	producerSvc   = "transaction-producer"
	processorSvc  = "withdrawal-processor"
	consumerSvc   = "outcome-consumer"
	connectDC2Svc = "kafka-connect-dc2"
	connectDC1Svc = "kafka-connect-dc1"
	mm2Connector  = "mm2-dc1-to-dc2"
	sinkConnector = "approved-file-sink"
	balancesStore = "balances"
	ruleStreams   = "streams_task_input"
)

// base is the fixture's time zero; every time is base + milliseconds.
var base = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func at(ms float64) time.Time { return base.Add(time.Duration(ms * float64(time.Millisecond))) }

func rec(cluster, topic string, partition int32, offset int64) lineagestore.RecordID {
	return lineagestore.RecordID{Cluster: cluster, Topic: topic, Partition: partition, Offset: offset}
}

// ids hands out distinct trace and span ids.
type ids struct{ n int }

func (g *ids) trace() string { g.n++; return fmt.Sprintf("%032x", 0xa000+g.n) }
func (g *ids) span() string  { g.n++; return fmt.Sprintf("%016x", 0xb000+g.n) }

// journey is one withdrawal through the harness: transaction-producer sends a transaction to
// dc1/transactions, withdrawal-processor reads it, updates its balances store (changelog record)
// and emits balance-updates; MirrorMaker 2 copies the transaction to dc2 as dc1.transactions.
type journey struct {
	tx, balance, changelog, mirrored lineagestore.RecordID
	trace                            string
	produceSpan, consumeSpan         string
	batch                            lineagestore.Batch
}

// newJourney builds journey i starting at ms, the processor consuming consumeMS later.
func newJourney(g *ids, i int64, ms, consumeMS float64) journey {
	j := journey{
		tx:        rec(dc1ID, "transactions", int32(i%3), i/3),
		balance:   rec(dc1ID, "balance-updates", int32(i%3), i/3),
		changelog: rec(dc1ID, "withdrawal-processor-balances-changelog", int32(i%3), i/3),
		mirrored:  rec(dc2ID, "dc1.transactions", int32(i%3), i/3),
		trace:     g.trace(),
	}
	j.produceSpan, j.consumeSpan = g.span(), g.span()
	procProduce, storeSpan, changelogSpan, mm2Consume, mm2Produce := g.span(), g.span(), g.span(), g.span(), g.span()
	cStart := ms + consumeMS
	j.batch = lineagestore.Batch{
		Clusters: []lineagestore.Cluster{{ID: dc1ID, Name: dc1}, {ID: dc2ID, Name: dc2}},
		Events: []lineagestore.Event{
			{Record: j.tx, KeyHash: fmt.Sprintf("%064x", 0x1000+i%5), ProducedAt: at(ms), Timestamp: at(ms), TraceID: j.trace, Producer: producerSvc},
			{Record: j.balance, KeyHash: fmt.Sprintf("%064x", 0x1000+i%5), ProducedAt: at(cStart + 2), TraceID: j.trace, Producer: processorSvc},
			{Record: j.changelog, ProducedAt: at(cStart + 3), TraceID: j.trace, Producer: processorSvc},
			{Record: j.mirrored, ProducedAt: at(ms + 40), TraceID: j.trace, Producer: connectDC2Svc},
		},
		Touchpoints: []lineagestore.Touchpoint{
			{Record: j.tx, TraceID: j.trace, SpanID: j.produceSpan, Service: producerSvc, Operation: "transactions publish",
				Kind: lineagestore.KindProduce, Start: at(ms), End: at(ms + 1), ClusterName: dc1},
			{Record: j.tx, TraceID: j.trace, SpanID: j.consumeSpan, ParentSpanID: j.produceSpan, Service: processorSvc,
				Operation: "transactions process", Kind: lineagestore.KindConsume, Start: at(cStart), End: at(cStart + 4), ClusterName: dc1},
			{Record: j.tx, TraceID: j.trace, SpanID: storeSpan, ParentSpanID: j.consumeSpan, Service: processorSvc,
				Operation: "balances put", Kind: lineagestore.KindStateStore, Start: at(cStart + 1), End: at(cStart + 1),
				ClusterName: dc1, StateStore: balancesStore, StoreOperation: "put", Rule: "state_store"},
			{Record: j.balance, TraceID: j.trace, SpanID: procProduce, ParentSpanID: j.consumeSpan, Service: processorSvc,
				Operation: "balance-updates publish", Kind: lineagestore.KindProduce, Start: at(cStart + 2), End: at(cStart + 3), ClusterName: dc1},
			{Record: j.changelog, TraceID: j.trace, SpanID: changelogSpan, ParentSpanID: storeSpan, Service: processorSvc,
				Operation: "withdrawal-processor-balances-changelog publish", Kind: lineagestore.KindProduce,
				Start: at(cStart + 3), End: at(cStart + 3), ClusterName: dc1},
			{Record: j.tx, TraceID: j.trace, SpanID: mm2Consume, ParentSpanID: j.produceSpan, Service: connectDC2Svc,
				Operation: "transactions process", Kind: lineagestore.KindConsume, Start: at(ms + 30), End: at(ms + 31),
				ClusterName: dc2, Connector: mm2Connector},
			{Record: j.mirrored, TraceID: j.trace, SpanID: mm2Produce, ParentSpanID: mm2Consume, Service: connectDC2Svc,
				Operation: "dc1.transactions publish", Kind: lineagestore.KindProduce, Start: at(ms + 40), End: at(ms + 41),
				ClusterName: dc2, Connector: mm2Connector},
		},
		Edges: []lineagestore.Edge{
			{From: j.tx, To: j.balance, Derivation: lineagestore.DerivationMeasured, TraceID: j.trace},
			{From: j.tx, To: j.changelog, Derivation: lineagestore.DerivationDerived, Rule: "state_store", TraceID: j.trace},
			{From: j.tx, To: j.mirrored, Derivation: lineagestore.DerivationMeasured, TraceID: j.trace},
		},
	}
	return j
}

// chain writes n records c/topic-0 ← topic-1 ← ... each produced stepMS after the previous, linked
// by measured edges; it returns the records in order (chain[0] is the origin).
func chain(name string, n int, startMS, stepMS float64) ([]lineagestore.RecordID, lineagestore.Batch) {
	var b lineagestore.Batch
	var out []lineagestore.RecordID
	for i := 0; i < n; i++ {
		r := rec(dc1ID, fmt.Sprintf("%s-%d", name, i), 0, int64(i))
		out = append(out, r)
		b.Events = append(b.Events, lineagestore.Event{Record: r, ProducedAt: at(startMS + float64(i)*stepMS), Producer: name})
		if i > 0 {
			b.Edges = append(b.Edges, lineagestore.Edge{From: out[i-1], To: r, Derivation: lineagestore.DerivationMeasured})
		}
	}
	return out, b
}
