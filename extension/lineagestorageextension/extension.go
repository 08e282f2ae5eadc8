package lineagestorageextension // import "github.com/eventlineage/lineage/extension/lineagestorageextension"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/eventlineage/lineage/internal/counters"
	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

const (
	scopeName = "github.com/eventlineage/lineage/extension/lineagestorageextension"
	metricPfx = "otelcol_extension_lineage_storage_"
)

// Retrying the PostgreSQL server when it did not accept a connection at Start.
const (
	openRetryMin = time.Second
	openRetryMax = 30 * time.Second
	// openAttemptTimeout bounds one attempt (a DSN without connect_timeout waits for TCP).
	openAttemptTimeout = 30 * time.Second
)

// storageExtension opens the lineage store in Start, applies retention in the background and
// closes the store in Shutdown. Components reach it through lineagestore.FromHost. A PostgreSQL
// server that does not accept a connection at Start does not stop the collector (its traces
// still flow to their other exporters): the store opens in the background as soon as the server
// answers, and until then it answers lineagestore.ErrUnavailable.
type storageExtension struct {
	cfg    *Config
	logger *zap.Logger
	hasher *recordfact.KeyHasher

	retentionDeleted  metric.Int64Counter
	retentionFailures metric.Int64Counter

	handle *handleStore
	cancel context.CancelFunc
	done   chan struct{}
}

var (
	_ extension.Extension    = (*storageExtension)(nil)
	_ lineagestore.Provider  = (*storageExtension)(nil)
	_ lineagestore.KeyHasher = (*recordfact.KeyHasher)(nil)
)

func newExtension(cfg *Config, set extension.Settings) (*storageExtension, error) {
	hasher, err := recordfact.NewKeyHasher(cfg.KeyHash.Algorithm, string(cfg.KeyHash.Secret))
	if err != nil {
		return nil, err
	}
	cs := counters.New(set.MeterProvider.Meter(scopeName), metricPfx)
	deleted := cs.Counter("retention_deleted_events", "Events (with their touchpoints and edges) deleted by retention.", "{event}")
	failures := cs.Counter("retention_failures", "Retention runs that failed (retried at the next interval).", "{run}")
	if err := cs.Err(); err != nil {
		return nil, err
	}
	return &storageExtension{cfg: cfg, logger: set.Logger, hasher: hasher, retentionDeleted: deleted, retentionFailures: failures}, nil
}

// Start opens the store (creating and migrating it when needed) and starts retention. It fails
// on what will not pass by itself (a SQLite file that cannot be created, a database migrated by a
// newer collector); a PostgreSQL server that does not accept a connection is retried in the
// background (reported as a recoverable error to the collector's status, e.g. healthcheckv2).
func (e *storageExtension) Start(ctx context.Context, host component.Host) error {
	store, err := e.open(ctx)
	if err != nil && !errors.Is(err, sqlstore.ErrConnect) {
		return fmt.Errorf("lineage_storage: cannot open the %s store: %w", e.cfg.Backend, err)
	}
	e.handle = &handleStore{}
	rctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	if err == nil {
		e.opened(store)
		go e.run(rctx, host, false)
		return nil
	}
	e.handle.setWaiting(err)
	e.logger.Warn("Lineage store unreachable at start: the collector runs without it and retries in the background; "+
		"lineage exporters keep their data in their sending queues and the query API answers 503 until it opens",
		zap.String("backend", e.cfg.Backend), zap.Error(err))
	componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(err))
	go e.run(rctx, host, true)
	return nil
}

func (e *storageExtension) open(ctx context.Context) (lineagestore.Store, error) {
	if e.cfg.Backend == BackendPostgreSQL {
		return sqlstore.OpenPostgres(ctx, string(e.cfg.PostgreSQL.DSN), e.cfg.PostgreSQL.MaxConns)
	}
	return sqlstore.OpenSQLite(ctx, e.cfg.SQLite.Path)
}

func (e *storageExtension) opened(store lineagestore.Store) {
	e.handle.setOpen(store)
	e.logger.Info("Lineage store open", zap.String("backend", e.cfg.Backend), zap.String("location", e.location()),
		zap.Duration("retention_max_age", e.cfg.Retention.MaxAge), zap.Int64("retention_max_events", e.cfg.Retention.MaxEvents))
}

// location names the store in logs without revealing a DSN's password.
func (e *storageExtension) location() string {
	if e.cfg.Backend == BackendPostgreSQL {
		return "postgresql (dsn not logged)"
	}
	return e.cfg.SQLite.Path
}

// run opens the store first when it is not open yet, then applies the retention, until ctx ends.
func (e *storageExtension) run(ctx context.Context, host component.Host, open bool) {
	defer close(e.done)
	if open && !e.openInBackground(ctx, host) {
		return
	}
	e.retain(ctx)
}

// openInBackground retries opening the store with a doubling delay (openRetryMin up to
// openRetryMax) until it opens (true) or ctx ends (false). Every failure is logged: one that is
// not a connection failure (a newer schema, a failed migration) needs the operator.
func (e *storageExtension) openInBackground(ctx context.Context, host component.Host) bool {
	delay := openRetryMin
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		actx, cancel := context.WithTimeout(ctx, openAttemptTimeout)
		store, err := e.open(actx)
		cancel()
		switch {
		case err == nil:
			e.opened(store)
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
			return true
		case ctx.Err() != nil:
			return false
		case errors.Is(err, sqlstore.ErrConnect):
			e.logger.Warn("Lineage store still unreachable; retrying", zap.Error(err), zap.Duration("next_retry_in", min(2*delay, openRetryMax)))
		default:
			e.logger.Error("Lineage store cannot be opened; retrying", zap.Error(err), zap.Duration("next_retry_in", min(2*delay, openRetryMax)))
		}
		e.handle.setWaiting(err)
		delay = min(2*delay, openRetryMax)
	}
}

// retain applies the retention every interval until ctx ends.
func (e *storageExtension) retain(ctx context.Context) {
	r := lineagestore.Retention{MaxAge: e.cfg.Retention.MaxAge, MaxEvents: e.cfg.Retention.MaxEvents}
	if r.MaxAge == 0 && r.MaxEvents == 0 {
		return
	}
	tick := time.NewTicker(e.cfg.Retention.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := e.handle.ApplyRetention(ctx, r)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			e.retentionFailures.Add(ctx, 1)
			e.logger.Warn("Lineage store retention failed; retried at the next interval", zap.Error(err))
		case n > 0:
			e.retentionDeleted.Add(ctx, n)
			e.logger.Debug("Lineage store retention", zap.Int64("deleted_events", n))
		}
	}
}

// Shutdown stops the background work and closes the store.
func (e *storageExtension) Shutdown(context.Context) error {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
	if e.handle == nil {
		return nil
	}
	err := e.handle.Close()
	e.handle = nil
	return err
}

// LineageStore returns the store (open, or answering lineagestore.ErrUnavailable until it
// opens); nil before Start and after Shutdown.
func (e *storageExtension) LineageStore() lineagestore.Store {
	if e.handle == nil {
		return nil
	}
	return e.handle
}

// KeyHasher returns the configured record key hash.
func (e *storageExtension) KeyHasher() lineagestore.KeyHasher { return e.hasher }
