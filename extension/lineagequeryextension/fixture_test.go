package lineagequeryextension

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

// The fixture is one burst of the harness' withdrawal scenario on cluster dc1: an account, two
// withdrawals of it (one approved, one rejected after a slow poll) and a deposit, through
// withdrawal-processor (Kafka Streams: table join with accounts, balances store) to
// outcome-consumer.
const (
	fixtureClusterID   = "Q2x1c3Rlci1kYzEtMDAwMQ"
	fixtureClusterName = "dc1"
	fixtureSecret      = "fixture-secret"
)

var fixtureT0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func rec(topic string, partition int32, offset int64) lineagestore.RecordID {
	return lineagestore.RecordID{Cluster: fixtureClusterID, Topic: topic, Partition: partition, Offset: offset}
}

var (
	recAccount    = rec("accounts", 1, 0)
	recTx1        = rec("transactions", 0, 1)
	recTx2        = rec("transactions", 0, 2)
	recTx3        = rec("transactions", 2, 7)
	recApproved   = rec("withdrawals-approved", 0, 0)
	recRejected   = rec("withdrawals-rejected", 1, 0)
	recBalance    = rec("balance-updates", 2, 3)
	recChangelog  = rec("withdrawal-processor-balances-changelog", 2, 3)
	recAccountsCL = rec("withdrawal-processor-accounts-store-changelog", 1, 0)
)

// Trace ids: one per producer root of the burst (the processor stitched the Streams outputs into
// the input's trace).
const (
	traceAccount = "5b8efff798038103d269b633813fc60c"
	traceTx1     = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceTx2     = "0af7651916cd43dd8448eb211c80319c"
	traceTx3     = "b7ad6b7169203331b7ad6b7169203331"
)

func fixtureHasher(t testing.TB) *recordfact.KeyHasher {
	h, err := recordfact.NewKeyHasher(recordfact.AlgorithmHMACSHA256, fixtureSecret)
	require.NoError(t, err)
	return h
}

func at(ms int) time.Time { return fixtureT0.Add(time.Duration(ms) * time.Millisecond) }

// fixtureBatch is what the lineage exporter would write for the burst.
func fixtureBatch(h lineagestore.KeyHasher) *lineagestore.Batch {
	key := func(k string) string { return h.HashKey([]byte(k)) }
	ev := func(r lineagestore.RecordID, k string, ms int, trace, producer string) lineagestore.Event {
		return lineagestore.Event{Record: r, ClusterName: fixtureClusterName, KeyHash: key(k), Timestamp: at(ms),
			ProducedAt: at(ms), TraceID: trace, Producer: producer}
	}
	tp := func(r lineagestore.RecordID, trace, span, parent, service, op, kind string, startMS, durMS int) lineagestore.Touchpoint {
		return lineagestore.Touchpoint{Record: r, TraceID: trace, SpanID: span, ParentSpanID: parent, Service: service,
			Operation: op, Kind: kind, Start: at(startMS), End: at(startMS + durMS), ClusterName: fixtureClusterName}
	}
	const (
		producer  = "transaction-producer"
		processor = "withdrawal-processor"
		consumer  = "outcome-consumer"
	)
	changelogPut := tp(recChangelog, traceTx1, "00f067aa0ba902b7", "53995c3f42cd8ad8", processor, "withdrawal-processor-balances-changelog publish", lineagestore.KindProduce, 1_052, 1)
	storePut := tp(recChangelog, traceTx1, "a2fb4a1d1a96d312", "53995c3f42cd8ad8", processor, "balances put", lineagestore.KindStateStore, 1_051, 1)
	storePut.StateStore, storePut.StoreOperation = "balances", "put"
	joined := tp(recApproved, traceTx1, "6e0c63257de34c92", "53995c3f42cd8ad8", processor, "withdrawals-approved publish", lineagestore.KindProduce, 1_050, 2)
	joined.Rule = "streams_forward"
	return &lineagestore.Batch{
		Clusters: []lineagestore.Cluster{{ID: fixtureClusterID, Name: fixtureClusterName}},
		Events: []lineagestore.Event{
			ev(recAccount, "acct-1", 0, traceAccount, producer),
			ev(recAccountsCL, "acct-1", 40, traceAccount, processor),
			ev(recTx1, "acct-1", 1_000, traceTx1, producer),
			ev(recApproved, "acct-1", 1_050, traceTx1, processor),
			ev(recBalance, "acct-1", 1_053, traceTx1, processor),
			ev(recChangelog, "acct-1", 1_052, traceTx1, processor),
			ev(recTx2, "acct-1", 2_000, traceTx2, producer),
			ev(recRejected, "acct-1", 6_120, traceTx2, processor),
			ev(recTx3, "acct-2", 3_000, traceTx3, producer),
		},
		Touchpoints: []lineagestore.Touchpoint{
			tp(recAccount, traceAccount, "b9c7c989f97918e1", "", producer, "accounts publish", lineagestore.KindProduce, 0, 3),
			tp(recAccount, traceAccount, "0b9f2e4d5a6c7b8a", "b9c7c989f97918e1", processor, "accounts process", lineagestore.KindConsume, 30, 12),
			tp(recAccountsCL, traceAccount, "1a2b3c4d5e6f7a8b", "0b9f2e4d5a6c7b8a", processor, "withdrawal-processor-accounts-store-changelog publish", lineagestore.KindProduce, 40, 1),
			tp(recTx1, traceTx1, "e457b5a2e4d86bd1", "", producer, "transactions publish", lineagestore.KindProduce, 1_000, 4),
			tp(recTx1, traceTx1, "53995c3f42cd8ad8", "e457b5a2e4d86bd1", processor, "transactions process", lineagestore.KindConsume, 1_045, 9),
			joined,
			storePut,
			changelogPut,
			tp(recBalance, traceTx1, "c1d2e3f4a5b6c7d8", "53995c3f42cd8ad8", processor, "balance-updates publish", lineagestore.KindProduce, 1_053, 1),
			tp(recApproved, traceTx1, "9a8b7c6d5e4f3a2b", "6e0c63257de34c92", consumer, "withdrawals-approved process", lineagestore.KindConsume, 1_200, 5),
			tp(recTx2, traceTx2, "f1e2d3c4b5a69788", "", producer, "transactions publish", lineagestore.KindProduce, 2_000, 3),
			tp(recTx2, traceTx2, "7a6b5c4d3e2f1a0b", "f1e2d3c4b5a69788", processor, "transactions process", lineagestore.KindConsume, 6_100, 25),
			tp(recRejected, traceTx2, "2b3c4d5e6f7a8b9c", "7a6b5c4d3e2f1a0b", processor, "withdrawals-rejected publish", lineagestore.KindProduce, 6_120, 2),
			tp(recTx3, traceTx3, "3c4d5e6f7a8b9c0d", "", producer, "transactions publish", lineagestore.KindProduce, 3_000, 2),
		},
		Edges: []lineagestore.Edge{
			{From: recAccount, To: recAccountsCL, Derivation: lineagestore.DerivationMeasured, TraceID: traceAccount},
			{From: recTx1, To: recApproved, Derivation: lineagestore.DerivationMeasured, TraceID: traceTx1},
			{From: recAccount, To: recApproved, Rule: "table_join", Derivation: lineagestore.DerivationConfiguration, Link: true, TraceID: traceTx1},
			{From: recTx1, To: recBalance, Derivation: lineagestore.DerivationMeasured, TraceID: traceTx1},
			{From: recTx1, To: recChangelog, Derivation: lineagestore.DerivationMeasured, TraceID: traceTx1},
			{From: recTx2, To: recRejected, Derivation: lineagestore.DerivationMeasured, TraceID: traceTx2},
		},
	}
}

// fixtureProvider is the store and key hasher pair a lineage_storage extension offers.
type fixtureProvider struct {
	store  lineagestore.Store
	hasher lineagestore.KeyHasher
}

func (p *fixtureProvider) LineageStore() lineagestore.Store  { return p.store }
func (p *fixtureProvider) KeyHasher() lineagestore.KeyHasher { return p.hasher }

// openFixtureStore opens a real SQLite store in a temporary directory and writes the fixture.
func openFixtureStore(t testing.TB) *fixtureProvider {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "lineage.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	h := fixtureHasher(t)
	require.NoError(t, s.Write(ctx, fixtureBatch(h)))
	return &fixtureProvider{store: s, hasher: h}
}
