// Package sqlstore is the lineage store over database/sql: one implementation of
// lineagestore.Store with a small dialect for its two backends, SQLite embedded (modernc.org/sqlite,
// pure Go) and PostgreSQL (pgx). The schema, the merge rules and every query are shared; see
// README.md for the data model and the rules.
package sqlstore // import "github.com/eventlineage/lineage/internal/lineagestore/sqlstore"

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// SQLite connection settings.
const (
	// sqliteBusyTimeout: how long a statement waits for a lock held by another connection or
	// process (a retention chunk, a checkpoint) before it fails with SQLITE_BUSY.
	sqliteBusyTimeout = 10 * time.Second
	// sqliteCacheKiB: page cache per connection.
	sqliteCacheKiB = 64 << 10
	// sqliteCheckpointEvery: how often a background connection copies the WAL's frames into the
	// database file (PASSIVE: it never waits for the writer nor readers). Off the writer's path,
	// the checkpoint runs on the other core; without it the writer spends ~20 % of ingestion in
	// checkpoints (measured: 7.0k → 8.6k events/s with no checkpoint at all).
	sqliteCheckpointEvery = time.Second
	// sqliteWriterCheckpointPages: the writer still checkpoints when the WAL reaches this many
	// pages (200 MiB at 4 KiB). The WAL restarts from its beginning only after a checkpoint
	// that copied all of it, which under constant writes is this one; by then the background
	// checkpoints have copied nearly every frame, so it is short. It also bounds the WAL should
	// the background checkpoints fail.
	sqliteWriterCheckpointPages = 50000
	// sqliteWALLimitBytes: the WAL file is cut back to this size when it restarts.
	sqliteWALLimitBytes = 64 << 20
)

// DefaultPostgresConns is the connection pool size OpenPostgres uses for maxConns <= 0.
const DefaultPostgresConns = 8

// Store is the lineage store over database/sql. It is safe for concurrent use.
type Store struct {
	d dialect
	// w serializes writes: SQLite has one writer, so the writer pool holds one connection and
	// writers queue in Go instead of spinning on SQLITE_BUSY. For PostgreSQL w == r.
	w *sql.DB
	r *sql.DB
	// c runs SQLite's background checkpoints (nil for PostgreSQL).
	c *sql.DB
	// now is the clock of written_at and of age retention.
	now func() time.Time
	// stmts holds the writer's prepared inserts (stmtcache.go).
	stmts stmtCache

	// Group commit (group.go): Write hands batches to the writer goroutines over writes.
	writes  chan *writeRequest
	quit    chan struct{}
	runCtx  context.Context // the merged transactions' base context, cancelled by Close
	stop    context.CancelFunc
	writers sync.WaitGroup

	// Close runs once: the storage extension's Shutdown and a caller may both close the store.
	closeOnce sync.Once
	closeErr  error
}

var _ lineagestore.Store = (*Store)(nil)

// OpenSQLite opens (creating the file and its directory when missing) the SQLite database at path
// and migrates it. WAL journal: readers never block the writer nor each other.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: path is empty")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory of %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL in WAL mode: a commit survives a process crash; only an OS crash or power loss may
	// lose the last transactions, which the exporter's retry cannot tell from a failed write.
	q.Add("_pragma", "synchronous(NORMAL)")
	// No foreign keys: a write names only events it upserted itself, and checking that again
	// would cost every touchpoint and edge another lookup.
	q.Add("_pragma", "foreign_keys(OFF)")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", sqliteCacheKiB))
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "mmap_size(1073741824)")
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", sqliteWriterCheckpointPages))
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", sqliteWALLimitBytes))
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	checkpointDSN := base + "?" + q.Encode()

	w, err := sql.Open("sqlite", base+"?"+q.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{d: sqliteDialect, w: w, now: time.Now}
	if err := migrate(ctx, w, s.d); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	q.Add("_pragma", "query_only(ON)")
	r, err := sql.Open("sqlite", base+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	readers := max(runtime.GOMAXPROCS(0), 2)
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	c, err := sql.Open("sqlite", checkpointDSN)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	s.c = c
	s.startWriters(1) // SQLite has one writer
	s.writers.Add(1)
	go s.checkpointer()
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database dsn (a postgres:// URL or key=value string, as
// pgx reads it) with at most maxConns connections (DefaultPostgresConns for <= 0) and migrates it.
func OpenPostgres(ctx context.Context, dsn string, maxConns int) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("postgres: dsn is empty")
	}
	if err := CheckPostgresDSN(dsn); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if maxConns <= 0 {
		maxConns = DefaultPostgresConns
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w: %w", ErrConnect, err)
	}
	s := &Store{d: postgresDialect, w: db, r: db, now: time.Now}
	if err := migrate(ctx, db, s.d); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Concurrent writers, each merging what waits; half the pool leaves connections to readers.
	s.startWriters(max(maxConns/2, 1))
	return s, nil
}

// CheckPostgresDSN reports whether pgx can parse dsn. The error does not quote the DSN, which
// may hold a password (pgx's own message masks it only on a best-effort basis).
func CheckPostgresDSN(dsn string) error {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return errors.New("the DSN is not a PostgreSQL connection string pgx can parse (a postgres:// URL or key=value pairs; not shown here, it may hold a password)")
	}
	return nil
}

// checkpointer copies SQLite's WAL into the database file every sqliteCheckpointEvery until
// Close. A failed checkpoint is left to the next one and to the writer's own (at
// sqliteWriterCheckpointPages), which bounds the WAL either way.
func (s *Store) checkpointer() {
	defer s.writers.Done()
	t := time.NewTicker(sqliteCheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			_, _ = s.c.ExecContext(s.runCtx, "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Close releases every connection.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopWriters()
		err := errors.Join(s.stmts.close(), s.w.Close())
		if s.r != nil && s.r != s.w {
			err = errors.Join(err, s.r.Close())
		}
		if s.c != nil {
			err = errors.Join(err, s.c.Close())
		}
		s.closeErr = err
	})
	return s.closeErr
}

// nanos is t as the store keeps it: Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeOf is the inverse of nanos (UTC).
func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
