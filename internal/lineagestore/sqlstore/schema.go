package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrSchemaTooNew is returned by Open when the database was migrated by a newer version of the
// collector than this one: its schema may hold what this code would misread or destroy.
var ErrSchemaTooNew = errors.New("lineage store schema is newer than this collector knows")

// migrationLockID is the PostgreSQL advisory lock key guarding migrations ("lineage" in ASCII).
const migrationLockID = 0x6c696e65616765

// migrations are applied in order; migration i brings the schema to version i+1. Never edit a
// released migration: append a new one.
//
// Every index costs each write a b-tree insert, and ingestion is what an index costs most: events
// carry no index on trace id nor producer, FindEvents finds those through the touchpoints (the
// producer span is a touchpoint of its trace and its service).
//
// Index keys lead with a time column where the lookup allows, (service, start_at): writes then append near the end of the index instead of dirtying a random page per
// row, which is what bounds ingestion (every dirty page is written to the WAL at commit).
//
// Times are int64 Unix nanoseconds, 0 when unknown, on both backends (one encoding, exact, index
// friendly). Booleans are 0/1 integers for the same reason. sort_at is produced_at when known, else
// the record timestamp: the time FindEvents orders and bounds by.
var migrations = []func(d dialect) []string{
	func(d dialect) []string {
		return []string{
			`CREATE TABLE clusters (
				id   TEXT PRIMARY KEY,
				name TEXT NOT NULL
			)`,
			`CREATE INDEX clusters_name ON clusters (name)`,
			`CREATE TABLE events (
				` + d.eventIDColumn + `,
				cluster     TEXT    NOT NULL,
				topic       TEXT    NOT NULL,
				part        INTEGER NOT NULL,
				off         BIGINT  NOT NULL,
				key_hash    TEXT    NOT NULL DEFAULT '',
				ts          BIGINT  NOT NULL DEFAULT 0,
				produced_at BIGINT  NOT NULL DEFAULT 0,
				sort_at     BIGINT  NOT NULL DEFAULT 0,
				trace_id    TEXT    NOT NULL DEFAULT '',
				producer    TEXT    NOT NULL DEFAULT '',
				tombstone   INTEGER NOT NULL DEFAULT 0,
				written_at  BIGINT  NOT NULL
			)`,
			`CREATE INDEX events_sort ON events (sort_at, id)`,
			`CREATE INDEX events_record ON events (topic, part, off)`,
			`CREATE INDEX events_key_hash ON events (key_hash) WHERE key_hash <> ''`,
			`CREATE INDEX events_written ON events (written_at, id)`,
			`CREATE TABLE touchpoints (
				trace_id        TEXT    NOT NULL,
				span_id         TEXT    NOT NULL,
				event_id        BIGINT  NOT NULL,
				parent_span_id  TEXT    NOT NULL DEFAULT '',
				service         TEXT    NOT NULL DEFAULT '',
				operation       TEXT    NOT NULL DEFAULT '',
				kind            TEXT    NOT NULL,
				start_at        BIGINT  NOT NULL DEFAULT 0,
				end_at          BIGINT  NOT NULL DEFAULT 0,
				cluster_name    TEXT    NOT NULL DEFAULT '',
				connector       TEXT    NOT NULL DEFAULT '',
				state_store     TEXT    NOT NULL DEFAULT '',
				store_operation TEXT    NOT NULL DEFAULT '',
				rule            TEXT    NOT NULL DEFAULT '',
				PRIMARY KEY (event_id, trace_id, span_id)
			)` + d.clustered,
			`CREATE INDEX touchpoints_span ON touchpoints (trace_id, span_id)`,
			`CREATE INDEX touchpoints_start ON touchpoints (start_at)`,
			`CREATE INDEX touchpoints_service ON touchpoints (service, start_at)`,
			`CREATE TABLE edges (
				from_id    BIGINT  NOT NULL,
				to_id      BIGINT  NOT NULL,
				rule       TEXT    NOT NULL DEFAULT '',
				derivation TEXT    NOT NULL,
				link       INTEGER NOT NULL DEFAULT 0,
				trace_id   TEXT    NOT NULL DEFAULT '',
				PRIMARY KEY (from_id, to_id)
			)` + d.clustered,
			`CREATE INDEX edges_to ON edges (to_id, from_id)`,
			`CREATE TABLE pending_edges (
				trace_id      TEXT    NOT NULL,
				span_id       TEXT    NOT NULL,
				to_id         BIGINT  NOT NULL,
				rule          TEXT    NOT NULL DEFAULT '',
				derivation    TEXT    NOT NULL,
				link          INTEGER NOT NULL DEFAULT 0,
				edge_trace_id TEXT    NOT NULL DEFAULT '',
				written_at    BIGINT  NOT NULL,
				PRIMARY KEY (trace_id, span_id, to_id)
			)`,
			`CREATE INDEX pending_edges_to ON pending_edges (to_id)`,
			`CREATE INDEX pending_edges_written ON pending_edges (written_at)`,
		}
	},
	// 2: a topic's events newest first (FindEvents by topic or cluster and topic) without sorting
	// the whole topic. FindEvents by service walks the events newest first and probes each one's
	// touchpoints by key: a page of a busy service comes at once, whereas SQLite, offered
	// touchpoints_service, scanned all of the service's touchpoints for every event (seconds at
	// 10⁶ events); the index only cost writes.
	func(dialect) []string {
		return []string{
			`CREATE INDEX events_topic ON events (topic, sort_at, id)`,
			`DROP INDEX touchpoints_service`,
		}
	},
	// 3: Topology and Outliers read every touchpoint of a time range; through touchpoints_start
	// each row cost SQLite a lookup of the row by its key (2.6 s for 5 minutes at 10⁶ events).
	// This index covers both queries' touchpoint columns, so the range is one sequential read of
	// it. Its key leads with the start time like the index it replaces: writes append near its end.
	// PostgreSQL keeps touchpoints_start: it answers these queries with a parallel hash join
	// (0.72 s either way, measured), so the wider index would only cost its writes.
	func(d dialect) []string {
		if d.name != sqliteDialect.name {
			return nil
		}
		return []string{
			`CREATE INDEX touchpoints_flow ON touchpoints (start_at, kind, service, cluster_name, connector, state_store, trace_id, event_id)`,
			`DROP INDEX touchpoints_start`,
		}
	},
	// 4: events get a store-internal sequential id; the record's key (RecordID.Key, a random
	// 63-bit hash) moves to its own unique column, the only index a new event inserts into at a
	// random place. Touchpoints, edges and pending edges name events by the sequential id, so
	// their keys and indexes append near their end: a 1000-event batch dirtied ~5 random pages
	// per event, each written whole to the WAL at commit (ingestion ~8k → ~14-16k events/s on
	// SQLite, docs/performance.md). Existing ids are renumbered in written order; negated first
	// so that no renumbered key meets an old one on the way.
	func(d dialect) []string {
		renumber := func(table, col string) string {
			return `UPDATE ` + table + ` SET ` + col + ` = -(SELECT n.new FROM event_renumber n WHERE n.old = ` + table + `.` + col + `)`
		}
		stmts := []string{
			`ALTER TABLE events ADD COLUMN key BIGINT NOT NULL DEFAULT 0`,
			`UPDATE events SET key = id`,
			`CREATE TABLE event_renumber (old BIGINT PRIMARY KEY, new BIGINT NOT NULL)`,
			`INSERT INTO event_renumber (old, new) SELECT id, ROW_NUMBER() OVER (ORDER BY written_at, id) FROM events`,
			renumber("events", "id"),
			`UPDATE events SET id = -id`,
			renumber("touchpoints", "event_id"),
			`UPDATE touchpoints SET event_id = -event_id`,
			renumber("edges", "from_id"),
			renumber("edges", "to_id"),
			`UPDATE edges SET from_id = -from_id, to_id = -to_id`,
			renumber("pending_edges", "to_id"),
			`UPDATE pending_edges SET to_id = -to_id`,
			`DROP TABLE event_renumber`,
			`CREATE UNIQUE INDEX events_key ON events (key)`,
		}
		if d.name != sqliteDialect.name {
			// SQLite numbers a rowid alias itself (the largest plus one).
			stmts = append(stmts,
				`CREATE SEQUENCE events_id_seq OWNED BY events.id`,
				`SELECT setval('events_id_seq', (SELECT COALESCE(MAX(id), 0) + 1 FROM events), false)`,
				`ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_id_seq')`)
		}
		return stmts
	},
	// 5: an event's only random-place index entry moves to one that appends: the record's
	// coordinates (topic, partition, offset, cluster) become the unique key in place of the
	// hashed key, so a new event's entry lands after its partition's last offset, and the hashed
	// key's index (a random page per event, written whole to the WAL at commit) goes with its
	// column. events_written goes too: ids are given in written order, so retention walks the
	// ids (retention.go). With a statement cache (stmtcache.go): ingestion on SQLite with random
	// trace ids 16.2-17.6k → 20.8-23.6k events/s (docs/performance.md).
	func(dialect) []string {
		return []string{
			`DROP INDEX events_key`,
			`DROP INDEX events_record`,
			`DROP INDEX events_written`,
			`CREATE UNIQUE INDEX events_record ON events (topic, part, off, cluster)`,
			`ALTER TABLE events DROP COLUMN key`,
		}
	},
}

// SchemaVersion is the schema version this code writes and reads.
var SchemaVersion = len(migrations)

// migrate brings the database to SchemaVersion in one transaction, or refuses a newer one.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if d.advisoryLock {
		// Held until the transaction ends: a second collector opening the same database waits
		// here and then finds the schema current.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockID)); err != nil {
			return fmt.Errorf("migrate: advisory lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > SchemaVersion {
		return fmt.Errorf("%w: database is at version %d, this collector knows up to %d (upgrade the collector)", ErrSchemaTooNew, current, SchemaVersion)
	}
	for v := current; v < SchemaVersion; v++ {
		for _, stmt := range migrations[v](d) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate to version %d: %s: %w", v+1, firstLine(stmt), err)
			}
		}
		if _, err := tx.ExecContext(ctx, d.bind("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), v+1, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migrate to version %d: record version: %w", v+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
