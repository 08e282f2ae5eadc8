package lineagestorageextension

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

func sqliteConfig(t *testing.T) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.SQLite.Path = filepath.Join(t.TempDir(), "sub", "lineage.db")
	cfg.KeyHash = KeyHashConfig{Algorithm: "hmac-sha256", Secret: "s3cret"}
	require.NoError(t, cfg.Validate())
	return cfg
}

func start(t *testing.T, cfg *Config) (component.Component, lineagestore.Provider) {
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(componentType), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return ext, ext.(lineagestore.Provider)
}

// The extension opens a real SQLite store (creating its directory), offers it and the key hash
// through the Provider interface that lineagestore.FromHost finds, and closes it on Shutdown.
func TestSQLiteLifecycle(t *testing.T) {
	cfg := sqliteConfig(t)
	ext, p := start(t, cfg)
	require.FileExists(t, cfg.SQLite.Path)

	host := hostWith(map[component.ID]component.Component{component.NewID(componentType): ext})
	found, err := lineagestore.FromHost(host, component.NewID(componentType))
	require.NoError(t, err)
	assert.Same(t, p, found)
	// The receiver's hash: `printf acct-01 | openssl dgst -sha256 -hmac s3cret`.
	assert.Equal(t, "72967e76d697bc01ae420c562ba5ed4d2ab9dc94c6c8e6629d0f141471fb2cc4", p.KeyHasher().HashKey([]byte("acct-01")))

	ctx := context.Background()
	rec := lineagestore.RecordID{Cluster: "C1", Topic: "t", Partition: 0, Offset: 1}
	require.NoError(t, p.LineageStore().Write(ctx, &lineagestore.Batch{Events: []lineagestore.Event{{Record: rec, Producer: "p"}}}))
	require.NoError(t, ext.Shutdown(ctx))
	assert.Nil(t, p.LineageStore())
	require.NoError(t, ext.Shutdown(ctx), "a second Shutdown is harmless")

	// Reopened: the data is still there.
	ext, p = start(t, cfg)
	d, err := p.LineageStore().Event(ctx, rec)
	require.NoError(t, err)
	assert.Equal(t, "p", d.Event.Producer)
	require.NoError(t, ext.Shutdown(ctx))
}

func TestStartFailsClearly(t *testing.T) {
	cfg := sqliteConfig(t)
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	cfg.SQLite.Path = filepath.Join(blocker, "lineage.db") // a directory that is a file
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(componentType), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lineage_storage: cannot open the sqlite store: ")
	require.NoError(t, ext.Shutdown(context.Background()))

	cfg = sqliteConfig(t)
	cfg.Backend = BackendPostgreSQL
	cfg.PostgreSQL.DSN = "postgres://nobody:s3cret@127.0.0.1:notaport/none" // Validate refuses it too
	ext, err = NewFactory().Create(context.Background(), extensiontest.NewNopSettings(componentType), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lineage_storage: cannot open the postgresql store: ")
	assert.NotContains(t, err.Error(), "s3cret", "the DSN is not echoed")
	require.NoError(t, ext.Shutdown(context.Background()))
}

// A PostgreSQL server that does not answer at Start does not stop the collector: Start succeeds,
// the status says recoverable error, the store answers ErrUnavailable (the exporter retries, the
// API answers 503) and Shutdown ends the retries. The store opening once the server answers is
// tested against a real server by the exporter's outage test.
func TestPostgresUnreachableAtStart(t *testing.T) {
	cfg := sqliteConfig(t)
	cfg.Backend = BackendPostgreSQL
	cfg.PostgreSQL.DSN = "postgres://nobody:s3cret@127.0.0.1:1/none?connect_timeout=1"
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(componentType), cfg)
	require.NoError(t, err)
	h := &statusHost{Host: componenttest.NewNopHost()}
	require.NoError(t, ext.Start(context.Background(), h))
	require.Len(t, h.events, 1)
	assert.Equal(t, componentstatus.StatusRecoverableError, h.events[0].Status())

	store := ext.(lineagestore.Provider).LineageStore()
	require.NotNil(t, store)
	ctx := context.Background()
	err = store.Write(ctx, &lineagestore.Batch{Events: []lineagestore.Event{{Record: lineagestore.RecordID{Cluster: "c", Topic: "t"}}}})
	require.ErrorIs(t, err, lineagestore.ErrUnavailable)
	assert.NotErrorIs(t, err, lineagestore.ErrInvalid, "retryable")
	assert.NotContains(t, err.Error(), "s3cret")
	_, err = store.FindEvents(ctx, lineagestore.EventQuery{Limit: 1})
	require.ErrorIs(t, err, lineagestore.ErrUnavailable)
	require.NoError(t, ext.Shutdown(ctx))
	assert.Nil(t, ext.(lineagestore.Provider).LineageStore())
}

// statusHost records the status events reported to it.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

// Retention runs in the background every interval: beyond max_events the oldest events go.
func TestRetention(t *testing.T) {
	cfg := sqliteConfig(t)
	cfg.Retention = RetentionConfig{MaxEvents: 2, Interval: 10 * time.Millisecond}
	ext, p := start(t, cfg)
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
	ctx := context.Background()
	for o := int64(0); o < 5; o++ {
		rec := lineagestore.RecordID{Cluster: "C1", Topic: "t", Partition: 0, Offset: o}
		require.NoError(t, p.LineageStore().Write(ctx, &lineagestore.Batch{Events: []lineagestore.Event{{Record: rec}}}))
	}
	require.Eventually(t, func() bool {
		page, err := p.LineageStore().FindEvents(ctx, lineagestore.EventQuery{Topic: "t", Limit: 10})
		return err == nil && len(page.Events) == 2
	}, 10*time.Second, 10*time.Millisecond)
}

type host struct {
	component.Host
	exts map[component.ID]component.Component
}

func hostWith(exts map[component.ID]component.Component) component.Host {
	return host{Host: componenttest.NewNopHost(), exts: exts}
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }
