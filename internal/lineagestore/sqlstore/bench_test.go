package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// The benchmark dataset: units of unitEvents events, each a chain of chainLen records (topic
// chain-0 → chain-1 → ... → chain-19, the shape of a record passing through 19 processing steps)
// with a second input joining it every fanInEvery steps (fan-in, like a table join or a
// windowed aggregate). Every event has 3 touchpoints (produce, consume, state-store put) and one
// input edge except the origins: ~3 touchpoints and ~1 edge per event, like the harness.
const (
	chainLen       = 20
	fanInEvery     = 4
	unitEvents     = chainLen + chainLen/fanInEvery // 25
	benchBatchSize = 1000                           // events per Write, as the exporter batches
	datasetEvents  = 1_000_000
	lineageDepth   = 10
	// datasetVersion names the kept dataset: change it when benchUnits changes, or when a
	// migration leaves the kept dataset unreadable by older code (v2: schema 4; v3: schema 5, random trace ids), so that a
	// checkout of older code keeps its own.
	datasetVersion = "v3"
)

var benchBase = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

// benchUnits returns the batch of units [from, from+n).
func benchUnits(from, n int) *lineagestore.Batch {
	b := &lineagestore.Batch{
		Clusters:    []lineagestore.Cluster{{ID: "kc-bench-dc1", Name: "dc1"}},
		Events:      make([]lineagestore.Event, 0, n*unitEvents),
		Touchpoints: make([]lineagestore.Touchpoint, 0, 3*n*unitEvents),
		Edges:       make([]lineagestore.Edge, 0, n*unitEvents),
	}
	for u := from; u < from+n; u++ {
		t0 := benchBase.Add(time.Duration(u) * 80 * time.Millisecond)
		trace := benchTraceID(u)
		add := func(r lineagestore.RecordID, at time.Time, step int) {
			b.Events = append(b.Events, lineagestore.Event{Record: r, ProducedAt: at, TraceID: trace, Producer: fmt.Sprint("svc-", step%7),
				KeyHash: fmt.Sprintf("%064x", u%5000)})
			span := fmt.Sprintf("%08x%08x", u, step)
			b.Touchpoints = append(b.Touchpoints,
				lineagestore.Touchpoint{Record: r, TraceID: trace, SpanID: span + "p", Service: fmt.Sprint("svc-", step%7), Kind: lineagestore.KindProduce, Start: at, End: at.Add(time.Millisecond)},
				lineagestore.Touchpoint{Record: r, TraceID: trace, SpanID: span + "c", Service: fmt.Sprint("svc-", (step+1)%7), Kind: lineagestore.KindConsume, Start: at.Add(3 * time.Millisecond), End: at.Add(5 * time.Millisecond)},
				lineagestore.Touchpoint{Record: r, TraceID: trace, SpanID: span + "s", Service: fmt.Sprint("svc-", (step+1)%7), Kind: lineagestore.KindStateStore, Start: at.Add(4 * time.Millisecond), StateStore: "store", StoreOperation: "put"})
		}
		var prev lineagestore.RecordID
		for k := 0; k < chainLen; k++ {
			r := benchChainRecord(u, k)
			at := t0.Add(time.Duration(k) * 4 * time.Millisecond)
			add(r, at, k)
			if k > 0 {
				b.Edges = append(b.Edges, lineagestore.Edge{From: prev, To: r, Derivation: lineagestore.DerivationMeasured, TraceID: trace})
			}
			if k%fanInEvery == fanInEvery-1 {
				side := lineagestore.RecordID{Cluster: "kc-bench-dc1", Topic: fmt.Sprint("side-", k), Partition: int32(u % 6), Offset: int64(u / 6)}
				add(side, at.Add(-time.Millisecond), 100+k)
				b.Edges = append(b.Edges, lineagestore.Edge{From: side, To: r, Derivation: lineagestore.DerivationDerived, Rule: "fan_in", Link: true, TraceID: trace})
			}
			prev = r
		}
	}
	return b
}

// benchTraceID is unit u's trace id: random like the agent's (a trace index then takes its
// inserts at random places, as it does in production), unique by its second half.
func benchTraceID(u int) string {
	return fmt.Sprintf("%016x%016x", rand.New(rand.NewPCG(uint64(u), 1)).Uint64(), u+1)
}

func benchChainRecord(unit, k int) lineagestore.RecordID {
	return lineagestore.RecordID{Cluster: "kc-bench-dc1", Topic: fmt.Sprint("chain-", k), Partition: int32(unit % 6), Offset: int64(unit / 6)}
}

type benchBackend struct {
	name string
	// open opens an empty store.
	open func(b *testing.B) *Store
	// dataset opens the store holding the 1M-event dataset, building it the first time.
	dataset func(b *testing.B) *Store
}

func benchBackends(b *testing.B) []benchBackend {
	out := []benchBackend{{
		name: "sqlite",
		open: func(b *testing.B) *Store {
			s, err := OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			require.NoError(b, err)
			return s
		},
		dataset: func(b *testing.B) *Store {
			// Kept between runs: building it takes about a minute.
			dir := os.Getenv("LINEAGE_BENCH_DIR")
			if dir == "" {
				dir = filepath.Join(os.TempDir(), "lineage-store-bench")
			}
			// Opening it migrates it like any store.
			path := filepath.Join(dir, fmt.Sprintf("sqlite-%d-%s.db", datasetEvents, datasetVersion))
			s, err := OpenSQLite(context.Background(), path)
			require.NoError(b, err)
			ensureDataset(b, s)
			return s
		},
	}}
	if dsn := os.Getenv(postgresDSNEnv); dsn != "" {
		out = append(out, benchBackend{
			name: "postgres",
			open: func(b *testing.B) *Store {
				s, err := OpenPostgres(context.Background(), freshSchema(b, dsn), DefaultPostgresConns)
				require.NoError(b, err)
				return s
			},
			dataset: func(b *testing.B) *Store {
				// A schema of its own, kept between runs like the SQLite file.
				schema := fmt.Sprintf("lineage_bench_%d_%s", datasetEvents, datasetVersion)
				admin, err := sql.Open("pgx", dsn)
				require.NoError(b, err)
				_, err = admin.Exec("CREATE SCHEMA IF NOT EXISTS " + schema)
				require.NoError(b, errorsJoin(err, admin.Close()))
				s, err := OpenPostgres(context.Background(), withSearchPath(b, dsn, schema), DefaultPostgresConns)
				require.NoError(b, err)
				ensureDataset(b, s)
				return s
			},
		})
	}
	return out
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// ensureDataset writes the dataset's missing units (a build interrupted midway resumes).
func ensureDataset(b *testing.B, s *Store) {
	ctx := context.Background()
	var n int64
	require.NoError(b, s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM events").Scan(&n))
	units := datasetEvents / unitEvents
	perBatch := benchBatchSize / unitEvents
	done := int(n) / unitEvents / perBatch * perBatch
	if done >= units {
		return
	}
	b.Logf("building the %d-event dataset (%d events present)", datasetEvents, n)
	t0 := time.Now()
	for u := done; u < units; u += perBatch {
		require.NoError(b, s.Write(ctx, benchUnits(u, min(perBatch, units-u))))
	}
	if s.d.name == "postgres" {
		_, err := s.w.ExecContext(ctx, "ANALYZE")
		require.NoError(b, err)
	}
	b.Logf("dataset built in %s", time.Since(t0).Round(time.Second))
}

// BenchmarkWrite: ingestion with the exporter's batch shape (1000 events, ~3 touchpoints and ~1
// edge per event) into a store that grows during the run; reports events/s.
func BenchmarkWrite(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			perBatch := benchBatchSize / unitEvents
			ctx := context.Background()
			b.ResetTimer()
			events := 0
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				bt := benchUnits(i*perBatch, perBatch)
				b.StartTimer()
				if err := s.Write(ctx, bt); err != nil {
					b.Fatal(err)
				}
				events += len(bt.Events)
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// smallBatches splits the units [from, from+n) into the exporter's usual write: one export call
// of the agent (~16 spans: 5 events, their 15 touchpoints and edges).
func smallBatches(from, n int) []*lineagestore.Batch {
	const perBatch = 5
	b := benchUnits(from, n)
	var out []*lineagestore.Batch
	edges := len(b.Edges) * perBatch / len(b.Events)
	for i, k := 0, 0; i < len(b.Events); i, k = i+perBatch, k+1 {
		end := min(i+perBatch, len(b.Events))
		out = append(out, &lineagestore.Batch{
			Clusters:    b.Clusters,
			Events:      b.Events[i:end],
			Touchpoints: b.Touchpoints[3*i : 3*end],
			Edges:       b.Edges[min(k*edges, len(b.Edges)):min((k+1)*edges, len(b.Edges))],
		})
	}
	return out
}

// BenchmarkWriteSmall: ingestion as the exporter does it, small batches (5 events, 15
// touchpoints, ~5 edges) from 10 concurrent queue consumers; reports events/s.
func BenchmarkWriteSmall(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			batches := smallBatches(0, b.N/5+1) // 5 batches per unit
			var next atomic.Int64
			b.SetParallelism(5) // 10 writers on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					i := int(next.Add(1)-1) % len(batches)
					if err := s.Write(ctx, batches[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*5)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkLineage: depth-10 upstream and downstream walks from random chain events of the 1M-event
// dataset; reports p50 and p99 latency.
func BenchmarkLineage(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.dataset(b)
			defer s.Close()
			units := datasetEvents / unitEvents
			for _, dir := range []lineagestore.Direction{lineagestore.Upstream, lineagestore.Downstream} {
				b.Run(string(dir), func(b *testing.B) {
					ctx := context.Background()
					rng := rand.New(rand.NewPCG(7, 8))
					var lat []time.Duration
					nodes := 0
					for b.Loop() {
						u := rng.IntN(units)
						start := benchChainRecord(u, chainLen-1)
						if dir == lineagestore.Downstream {
							start = benchChainRecord(u, 0)
						}
						t0 := time.Now()
						g, err := s.Lineage(ctx, lineagestore.LineageQuery{Start: start, Direction: dir, MaxDepth: lineageDepth, MaxEvents: lineagestore.MaxLineageEvents})
						lat = append(lat, time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
						if !g.Truncated {
							b.Fatalf("a depth-%d walk of a %d-step chain must be cut", lineageDepth, chainLen)
						}
						nodes += len(g.Nodes)
					}
					slices.Sort(lat)
					pct := func(p float64) float64 {
						return float64(lat[min(int(p*float64(len(lat))), len(lat)-1)].Microseconds()) / 1000
					}
					b.ReportMetric(pct(0.50), "p50-ms")
					b.ReportMetric(pct(0.99), "p99-ms")
					b.ReportMetric(float64(nodes)/float64(len(lat)), "nodes/op")
				})
			}
		})
	}
}

// BenchmarkFindEvents: one 50-event page of the 1M-event dataset per query shape the UI uses.
func BenchmarkFindEvents(b *testing.B) {
	part := int32(3)
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.dataset(b)
			defer s.Close()
			for _, c := range []struct {
				name string
				q    lineagestore.EventQuery
			}{
				{"newest", lineagestore.EventQuery{}},
				{"topic", lineagestore.EventQuery{Topic: "chain-7", Partition: &part}},
				{"cluster-name", lineagestore.EventQuery{Cluster: "dc1", Topic: "side-3"}},
				{"key-hash", lineagestore.EventQuery{KeyHash: fmt.Sprintf("%064x", 1234)}},
				{"trace", lineagestore.EventQuery{TraceID: benchTraceID(19999)}},
				{"service-range", lineagestore.EventQuery{Service: "svc-3", From: benchBase.Add(time.Hour / 2), To: benchBase.Add(time.Hour)}},
				{"service", lineagestore.EventQuery{Service: "svc-3"}},
			} {
				b.Run(c.name, func(b *testing.B) {
					q := c.q
					q.Limit = 50
					for b.Loop() {
						p, err := s.FindEvents(context.Background(), q)
						if err != nil {
							b.Fatal(err)
						}
						if len(p.Events) == 0 {
							b.Fatal("no events")
						}
					}
				})
			}
		})
	}
}

// BenchmarkTopology: the flow map and the outliers of 5 minutes of the 1M-event dataset (~94k
// events, ~280k touchpoints).
func BenchmarkTopology(b *testing.B) {
	from, to := benchBase.Add(20*time.Minute), benchBase.Add(25*time.Minute)
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.dataset(b)
			defer s.Close()
			ctx := context.Background()
			b.Run("topology", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Topology(ctx, lineagestore.TopologyQuery{From: from, To: to}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("outliers", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Outliers(ctx, lineagestore.OutlierQuery{From: from, To: to, Factor: 3, Limit: 100}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
