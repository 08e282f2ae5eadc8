//go:build integration

package lineageexporter

// Against a real PostgreSQL server (e2e/bin/postgres.sh; Debian's postgresql package). Run with
//
//	go test -race -tags integration -run TestStoreOutage ./exporter/lineageexporter/
//
// The test starts a private server on a free port in a temporary directory. To use a running one
// instead, set LINEAGE_TEST_POSTGRES_DSN (and LINEAGE_PG_PORT / LINEAGE_PG_DIR as for the script,
// which the test calls to stop and start that server; LINEAGE_TEST_POSTGRES_SCRIPT overrides the
// script path). The test works in a database of its own, created and dropped on that server.

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/extension/lineagestorageextension"
	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/extract"
	"github.com/eventlineage/lineage/internal/lineagestore/extract/extracttest"
	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

// pgServer runs e2e/bin/postgres.sh against one server.
type pgServer struct {
	script string
	env    []string
}

func (p *pgServer) run(t *testing.T, arg string) string {
	t.Helper()
	cmd := exec.Command(p.script, arg)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err, "postgres.sh %s", arg)
	return strings.TrimSpace(string(out))
}

// postgres returns the DSN of a server and the means to stop and start it.
func postgres(t *testing.T) (string, *pgServer) {
	script := os.Getenv("LINEAGE_TEST_POSTGRES_SCRIPT")
	if script == "" {
		script = filepath.Join(extracttest.Root(), "e2e", "bin", "postgres.sh")
	}
	p := &pgServer{script: script}
	if dsn := os.Getenv("LINEAGE_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn, p
	}
	// A private server: a free port, a directory the postgres user can reach.
	port := freePortBelowEphemeral(t)
	dir, err := os.MkdirTemp("", "lineage-outage-pg-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	p.env = []string{"LINEAGE_PG_PORT=" + port, "LINEAGE_PG_DIR=" + dir}
	dsn := p.run(t, "start")
	t.Cleanup(func() {
		p.run(t, "stop")
		_ = os.RemoveAll(dir)
	})
	return dsn, p
}

// freePortBelowEphemeral returns a free local port below Linux's ephemeral range (32768-60999):
// the server is stopped mid-test, and a port of that range could meanwhile be taken by a client
// socket, such as the collector's own reconnects to it.
func freePortBelowEphemeral(t *testing.T) string {
	for range 100 {
		port := strconv.Itoa(20000 + rand.IntN(12000))
		if l, err := net.Listen("tcp", "127.0.0.1:"+port); err == nil {
			require.NoError(t, l.Close())
			return port
		}
	}
	t.Fatal("no free port in 20000-31999")
	return ""
}

// freshDatabase creates a database of the test's own on the server of dsn and returns its DSN.
func freshDatabase(t *testing.T, dsn string) string {
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	name := fmt.Sprintf("lineage_outage_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	_, err = db.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		assert.NoError(t, err)
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// collector is the part of a collector this test runs: the lineage_storage extension on
// PostgreSQL, a file_storage extension holding the persistent sending queue, and the lineage
// exporters (traces and logs) writing through them.
type collector struct {
	exts   []component.Component // in start order
	traces exporter.Traces
	logs   exporter.Logs
}

var fileStorageID = component.MustNewIDWithName("file_storage", "lineage")

func startCollector(t *testing.T, dsn, queueDir string) *collector {
	ctx := context.Background()
	storage := startStorage(t, func(c *lineagestorageextension.Config) {
		c.Backend = lineagestorageextension.BackendPostgreSQL
		c.PostgreSQL.DSN = configopaque.String(dsn)
	})
	ff := filestorage.NewFactory()
	fcfg := ff.CreateDefaultConfig().(*filestorage.Config)
	fcfg.Directory = queueDir
	fs, err := ff.Create(ctx, extensiontest.NewNopSettings(ff.Type()), fcfg)
	require.NoError(t, err)
	require.NoError(t, fs.Start(ctx, componenttest.NewNopHost()))

	cfg := createDefaultConfig().(*Config)
	cfg.Storage = storageID
	q := cfg.QueueConfig.Get()
	id := fileStorageID
	q.StorageID = &id
	// No span index: the direct write it is compared with has none (the order in which the queue's
	// consumers write, and the index lost at the restart, would make the touchpoints recovered
	// through it differ; TestSpanIndexOnCaptures covers the index).
	cfg.SpanIndexSize = 0
	cfg.RetryConfig.InitialInterval = 50 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 500 * time.Millisecond
	h := newHost(map[component.ID]component.Component{storageID: storage, fileStorageID: fs})
	te, le := startExporters(t, cfg, h, nopSettings())
	return &collector{exts: []component.Component{storage, fs}, traces: te, logs: le}
}

// shutdown stops the exporters, then the extensions, as the collector's service does.
func (c *collector) shutdown(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, c.traces.Shutdown(ctx))
	require.NoError(t, c.logs.Shutdown(ctx))
	for i := len(c.exts) - 1; i >= 0; i-- {
		require.NoError(t, c.exts[i].Shutdown(ctx))
	}
}

// TestStoreOutage: the exporter writes to PostgreSQL through a persistent sending queue while the
// capture is fed one agent export (and one fact batch) at a time. PostgreSQL is stopped mid-run;
// the feed goes on and no consume call fails. The collector is then stopped during the outage
// (the queue stays on disk) and a new one started on the same queue while PostgreSQL is still
// down (the storage extension opens the store once it answers); half the rest is fed,
// PostgreSQL started again, and the other half fed. In the end PostgreSQL holds exactly what the same export calls written
// directly to a SQLite store hold: every event, touchpoint and edge.
func TestStoreOutage(t *testing.T) {
	const name = "multicluster-b"
	ctx := context.Background()
	server, pg := postgres(t)
	dsn := freshDatabase(t, server)
	queueDir := t.TempDir()

	// The feed: the stitched capture split per resource (as agents export), facts per resource.
	var calls []func(*collector) error
	var batches []*lineagestore.Batch
	facts := extracttest.Facts(t, name)
	for i := 0; i < facts.ResourceLogs().Len(); i++ {
		ld := plog.NewLogs()
		facts.ResourceLogs().At(i).CopyTo(ld.ResourceLogs().AppendEmpty())
		b, _ := extract.Facts(ld)
		batches = append(batches, b)
		calls = append(calls, func(c *collector) error { return c.logs.ConsumeLogs(ctx, ld) })
	}
	spans := extracttest.Stitched(t, name)
	hasher, err := recordfact.NewKeyHasher(recordfact.AlgorithmSHA256, "") // as startStorage configures
	require.NoError(t, err)
	for i := 0; i < spans.ResourceSpans().Len(); i++ {
		td := ptrace.NewTraces()
		spans.ResourceSpans().At(i).CopyTo(td.ResourceSpans().AppendEmpty())
		b, _ := extract.Traces(td, hasher)
		batches = append(batches, b)
		calls = append(calls, func(c *collector) error { return c.traces.ConsumeTraces(ctx, td) })
	}
	// Interleave facts and spans so that both signals cross the outage.
	order := interleave(len(calls)-spans.ResourceSpans().Len(), spans.ResourceSpans().Len())

	direct, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "direct.db"))
	require.NoError(t, err)
	defer direct.Close()
	for _, i := range order {
		require.NoError(t, direct.Write(ctx, batches[i]))
	}
	records := recordsOf(batches...)

	col := startCollector(t, dsn, queueDir)
	third := len(order) / 3
	for _, i := range order[:third] {
		require.NoError(t, calls[i](col))
	}
	pg.run(t, "stop")
	for _, i := range order[third : 2*third] {
		require.NoError(t, calls[i](col), "a consume call failed during the outage")
	}
	col.shutdown(t) // the collector stops during the outage; its queue stays on disk
	// It starts again while PostgreSQL is still down: the storage extension retries in the
	// background, the exporter's queue takes the feed.
	col = startCollector(t, dsn, queueDir)
	defer col.shutdown(t)
	rest := order[2*third:]
	for _, i := range rest[:len(rest)/2] {
		require.NoError(t, calls[i](col), "a consume call failed while the store had never been reachable")
	}
	pg.run(t, "start")
	for _, i := range rest[len(rest)/2:] {
		require.NoError(t, calls[i](col))
	}

	want := snapshot(t, direct, records)
	store := storeOf(t, col.exts[0])
	complete := func() bool {
		got, err := readSnapshot(store, records)
		return err == nil && assert.ObjectsAreEqual(want, got)
	}
	if !assert.Eventually(t, complete, 3*time.Minute, 250*time.Millisecond, "the queue did not deliver everything") {
		assert.Equal(t, want, snapshot(t, store, records))
		return
	}
	t.Logf("%d export calls (%d during the outage), %d records with their touchpoints and edges stored exactly", len(order), third, len(records))
}

func interleave(a, b int) []int {
	out := make([]int, 0, a+b)
	for i, j := 0, 0; i < a || j < b; {
		// proportionally: facts usually precede spans by the agent's export delay
		if i < a && (j >= b || i*b <= j*a) {
			out = append(out, i)
			i++
		} else {
			out = append(out, a+j)
			j++
		}
	}
	return out
}
