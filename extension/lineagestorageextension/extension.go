package lineagestorageextension // import "github.com/eventlineage/lineage/extension/lineagestorageextension"

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
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

// storageExtension opens the lineage store in Start, applies retention in the background and
// closes the store in Shutdown. Components reach it through lineagestore.FromHost.
type storageExtension struct {
	cfg    *Config
	logger *zap.Logger
	hasher *recordfact.KeyHasher

	retentionDeleted  metric.Int64Counter
	retentionFailures metric.Int64Counter

	store  lineagestore.Store
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

// Start opens the store (creating and migrating it when needed) and starts retention.
func (e *storageExtension) Start(ctx context.Context, _ component.Host) error {
	store, err := e.open(ctx)
	if err != nil {
		return fmt.Errorf("lineage_storage: cannot open the %s store: %w", e.cfg.Backend, err)
	}
	e.store = store
	rctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go e.retain(rctx)
	e.logger.Info("Lineage store open", zap.String("backend", e.cfg.Backend), zap.String("location", e.location()),
		zap.Duration("retention_max_age", e.cfg.Retention.MaxAge), zap.Int64("retention_max_events", e.cfg.Retention.MaxEvents))
	return nil
}

func (e *storageExtension) open(ctx context.Context) (lineagestore.Store, error) {
	if e.cfg.Backend == BackendPostgreSQL {
		return sqlstore.OpenPostgres(ctx, string(e.cfg.PostgreSQL.DSN), e.cfg.PostgreSQL.MaxConns)
	}
	return sqlstore.OpenSQLite(ctx, e.cfg.SQLite.Path)
}

// location names the store in logs without revealing a DSN's password.
func (e *storageExtension) location() string {
	if e.cfg.Backend == BackendPostgreSQL {
		return "postgresql (dsn not logged)"
	}
	return e.cfg.SQLite.Path
}

// retain applies the retention every interval until ctx ends.
func (e *storageExtension) retain(ctx context.Context) {
	defer close(e.done)
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
		n, err := e.store.ApplyRetention(ctx, r)
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

// Shutdown stops retention and closes the store.
func (e *storageExtension) Shutdown(context.Context) error {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
	if e.store == nil {
		return nil
	}
	err := e.store.Close()
	e.store = nil
	return err
}

// LineageStore returns the store; nil before Start and after Shutdown.
func (e *storageExtension) LineageStore() lineagestore.Store { return e.store }

// KeyHasher returns the configured record key hash.
func (e *storageExtension) KeyHasher() lineagestore.KeyHasher { return e.hasher }
