package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/storetest"
)

func openSQLite(t *testing.T) *Store {
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "nested", "dir", "lineage.db"))
	require.NoError(t, err)
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lineagestore.Store { return openSQLite(t) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lineagestore.Store { return openPostgres(t) })
}

func TestBadPageTokenIsTyped(t *testing.T) {
	s := openSQLite(t)
	defer s.Close()
	_, err := s.FindEvents(context.Background(), lineagestore.EventQuery{Limit: 1, PageToken: "not a token"})
	require.ErrorIs(t, err, lineagestore.ErrBadPageToken)
}

func TestSQLiteReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lineage.db")
	s, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	r := lineagestore.RecordID{Cluster: "c", Topic: "t", Partition: 0, Offset: 1}
	require.NoError(t, s.Write(ctx, &lineagestore.Batch{Events: []lineagestore.Event{{Record: r, Producer: "p"}}}))
	require.NoError(t, s.Close())
	s, err = OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	d, err := s.Event(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, "p", d.Event.Producer)
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lineage.db")
	s, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	_, err = s.w.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", SchemaVersion+1)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = OpenSQLite(ctx, path)
	require.ErrorIs(t, err, ErrSchemaTooNew)
	assert.Contains(t, err.Error(), "upgrade the collector")
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := OpenSQLite(ctx, "")
	require.Error(t, err)
	_, err = OpenSQLite(ctx, filepath.Join("/proc", "nope", "lineage.db"))
	require.Error(t, err)
	_, err = OpenPostgres(ctx, "", 1)
	require.Error(t, err)
	_, err = OpenPostgres(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", 1)
	require.ErrorIs(t, err, ErrConnect, "a server that does not answer may come")
	_, err = OpenPostgres(ctx, "postgres://nobody@127.0.0.1:notaport/none", 1)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrConnect, "a malformed DSN will not get better")
}

func TestMigrationVersionRecorded(t *testing.T) {
	s := openSQLite(t)
	defer s.Close()
	var v int
	require.NoError(t, s.r.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&v))
	assert.Equal(t, SchemaVersion, v)
	// Migrating again is a no-op.
	require.NoError(t, migrate(context.Background(), s.w, s.d))
	var n int
	require.NoError(t, s.r.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n))
	assert.Equal(t, SchemaVersion, n)
	_, err := s.r.Exec("DELETE FROM events")
	require.Error(t, err, "the read pool is read-only")
	assert.False(t, errors.Is(err, sql.ErrNoRows))
}

func TestInvalidInputIsTyped(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	defer s.Close()
	r := lineagestore.RecordID{Cluster: "c", Topic: "t"}
	for name, err := range map[string]error{
		"write":     s.Write(ctx, &lineagestore.Batch{Events: []lineagestore.Event{{Record: lineagestore.RecordID{Topic: "t"}}}}),
		"find":      second(s.FindEvents(ctx, lineagestore.EventQuery{Limit: 0})),
		"token":     second(s.FindEvents(ctx, lineagestore.EventQuery{Limit: 1, PageToken: "x"})),
		"event":     second(s.Event(ctx, lineagestore.RecordID{Cluster: "c"})),
		"lineage":   second(s.Lineage(ctx, lineagestore.LineageQuery{Start: r, Direction: "up", MaxDepth: 1, MaxEvents: 1})),
		"topology":  second(s.Topology(ctx, lineagestore.TopologyQuery{From: time.Unix(10, 0), To: time.Unix(5, 0)})),
		"outliers":  second(s.Outliers(ctx, lineagestore.OutlierQuery{Limit: 1})),
		"retention": second(s.ApplyRetention(ctx, lineagestore.Retention{MaxAge: -time.Second})),
	} {
		require.ErrorIs(t, err, lineagestore.ErrInvalid, name)
	}
	_, err := s.Event(ctx, r)
	require.ErrorIs(t, err, lineagestore.ErrNotFound)
	require.NotErrorIs(t, err, lineagestore.ErrInvalid)
}

func second[T any](_ T, err error) error { return err }

func TestSQLiteUpgradesOlderSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lineage.db")
	// A database left by a collector that knew only the first migration.
	require.NoError(t, sqliteAtVersion(t, path, 1).Close())

	s, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	var v, idx int
	require.NoError(t, s.r.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&v))
	assert.Equal(t, SchemaVersion, v)
	require.NoError(t, s.r.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('events_topic', 'touchpoints_flow')").Scan(&idx))
	assert.Equal(t, 2, idx, "migrations 2 and 3")
	require.NoError(t, s.r.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('touchpoints_service', 'touchpoints_start')").Scan(&idx))
	assert.Zero(t, idx, "indexes dropped by migrations 2 and 3")
	require.NoError(t, s.r.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('events_key', 'events_written')").Scan(&idx))
	assert.Zero(t, idx, "indexes dropped by migration 5")
	var unique int
	require.NoError(t, s.r.QueryRow(`SELECT "unique" FROM pragma_index_list('events') WHERE name = 'events_record'`).Scan(&unique))
	assert.Equal(t, 1, unique, "migration 5: the record's coordinates are the events' unique key")
	require.NoError(t, s.r.QueryRow("SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'key'").Scan(&idx))
	assert.Zero(t, idx, "column dropped by migration 5")
}

// TestSQLiteMigrationRenumbersEvents: rows written under schema 3 (events keyed by
// RecordID.Key) keep their touchpoints, edges and pending edges through migration 4's
// renumbering, and later writes link to them.
func TestSQLiteMigrationRenumbersEvents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lineage.db")
	db := sqliteAtVersion(t, path, 3)
	var err error
	a := lineagestore.RecordID{Cluster: "c", Topic: "in", Offset: 1}
	b := lineagestore.RecordID{Cluster: "c", Topic: "out", Offset: 2}
	for i, r := range []lineagestore.RecordID{a, b} {
		_, err = db.Exec("INSERT INTO events (id, cluster, topic, part, off, written_at) VALUES (?, ?, ?, 0, ?, ?)",
			schema3Key(r), r.Cluster, r.Topic, r.Offset, i+1)
		require.NoError(t, err)
	}
	_, err = db.Exec("INSERT INTO touchpoints (trace_id, span_id, event_id, kind) VALUES ('t', 'sa', ?, 'produce')", schema3Key(a))
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO edges (from_id, to_id, derivation) VALUES (?, ?, 'measured')", schema3Key(a), schema3Key(b))
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO pending_edges (trace_id, span_id, to_id, derivation, written_at) VALUES ('t', 'sx', ?, 'derived', 1)", schema3Key(b))
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	var ids []int64
	rows, err := s.r.Query("SELECT id FROM events ORDER BY written_at")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []int64{1, 2}, ids, "renumbered in written order")

	// A later batch brings the pending edge's span: its event x becomes a second input of b.
	x := lineagestore.RecordID{Cluster: "c", Topic: "side", Offset: 3}
	require.NoError(t, s.Write(ctx, &lineagestore.Batch{Touchpoints: []lineagestore.Touchpoint{
		{Record: x, TraceID: "t", SpanID: "sx", Kind: lineagestore.KindConsume}}}))
	d, err := s.Event(ctx, b)
	require.NoError(t, err)
	var from []lineagestore.RecordID
	for _, e := range d.Inputs {
		from = append(from, e.From)
	}
	assert.ElementsMatch(t, []lineagestore.RecordID{a, x}, from)
	d, err = s.Event(ctx, a)
	require.NoError(t, err)
	require.Len(t, d.Touchpoints, 1)
	assert.Equal(t, "sa", d.Touchpoints[0].SpanID)
	assert.Equal(t, int64(3), mustEventID(t, s, x), "a new event takes the next id")
}

// sqliteAtVersion creates the SQLite database at path as a collector that knew only the first
// version migrations left it, and returns it open.
func sqliteAtVersion(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")
	require.NoError(t, err)
	for v := range version {
		for _, stmt := range migrations[v](sqliteDialect) {
			_, err = db.Exec(stmt)
			require.NoError(t, err)
		}
		_, err = db.Exec("INSERT INTO schema_migrations VALUES (?, 0)", v+1)
		require.NoError(t, err)
	}
	return db
}

// schema3Key is how schemas 1-3 keyed an event: the first 8 bytes of SHA-256 over the record's
// String(), sign bit cleared.
func schema3Key(r lineagestore.RecordID) int64 {
	sum := sha256.Sum256([]byte(r.String()))
	return int64(binary.BigEndian.Uint64(sum[:8]) &^ (1 << 63))
}

func mustEventID(t *testing.T, s *Store, r lineagestore.RecordID) int64 {
	t.Helper()
	var id int64
	require.NoError(t, s.r.QueryRow("SELECT id FROM events WHERE topic = ? AND part = ? AND off = ? AND cluster = ?",
		r.Topic, r.Partition, r.Offset, r.Cluster).Scan(&id))
	return id
}

// TestGroupCommitFailsBadBatchAlone: batches merged into one transaction where the database
// refuses one of them (a trigger here): the others are written, the refused one fails alone and
// leaves nothing behind.
func TestGroupCommitFailsBadBatchAlone(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	defer s.Close()
	_, err := s.w.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.topic = 'refused'
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`)
	require.NoError(t, err)
	var group []*writeRequest
	for i := range 5 {
		topic := "fine"
		if i == 2 {
			topic = "refused"
		}
		r := lineagestore.RecordID{Cluster: "c", Topic: topic, Offset: int64(i)}
		b := &lineagestore.Batch{
			Events: []lineagestore.Event{{Record: r, Producer: "p"}},
			Touchpoints: []lineagestore.Touchpoint{{Record: r, TraceID: "t", SpanID: fmt.Sprint("s", i), Service: "p",
				Kind: lineagestore.KindProduce}},
		}
		p, err := prepareBatch(b)
		require.NoError(t, err)
		group = append(group, &writeRequest{ctx: ctx, done: make(chan error, 1), b: b, p: p})
	}
	s.writeGroup(group)
	for i, r := range group {
		err := <-r.done
		if i == 2 {
			require.ErrorContains(t, err, "refused by the test")
			var n int
			require.NoError(t, s.r.QueryRow("SELECT COUNT(*) FROM touchpoints WHERE span_id = 's2'").Scan(&n))
			assert.Zero(t, n, "all or nothing")
			continue
		}
		require.NoError(t, err, "batch %d", i)
		_, err = s.Event(ctx, r.b.Events[0].Record)
		require.NoError(t, err)
	}
}

func TestGroupContextEndsAtLatestDeadline(t *testing.T) {
	base := context.Background()
	early, cancel1 := context.WithTimeout(base, time.Minute)
	defer cancel1()
	late, cancel2 := context.WithTimeout(base, time.Hour)
	defer cancel2()
	ctx, cancel := groupContext(base, []*writeRequest{{ctx: early}, {ctx: late}})
	d, ok := ctx.Deadline()
	cancel()
	require.True(t, ok)
	want, _ := late.Deadline()
	assert.Equal(t, want, d)
	ctx, cancel = groupContext(base, []*writeRequest{{ctx: early}, {ctx: base}})
	defer cancel()
	_, ok = ctx.Deadline()
	assert.False(t, ok, "a caller without deadline: none")
}

// TestSQLiteBackgroundCheckpoint: the writer leaves checkpoints to a background connection (its
// own come only at sqliteWriterCheckpointPages); written data reaches the database file.
func TestSQLiteBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lineage.db")
	s, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Size()
	}
	before := size()
	var b lineagestore.Batch
	for i := range 2000 {
		b.Events = append(b.Events, lineagestore.Event{Record: lineagestore.RecordID{Cluster: "c", Topic: "t", Offset: int64(i)}, Producer: "p"})
	}
	require.NoError(t, s.Write(ctx, &b))
	require.Eventually(t, func() bool { return size() > before }, 30*time.Second, 50*time.Millisecond,
		"the events never reached the database file: no checkpoint ran")
}
