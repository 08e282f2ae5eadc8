package lineagestorageextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	def := createDefaultConfig().(*Config)
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(componentType), wantErr: []string{
			`key_hash::secret: required with algorithm "hmac-sha256" (the kafka_records receiver's secret; or set key_hash::algorithm: "sha256" as the receiver does)`,
		}},
		{id: component.NewIDWithName(componentType, "sqlite"), want: &Config{
			Backend: BackendSQLite, SQLite: SQLiteConfig{Path: "/var/lib/lineage/lineage.db"}, PostgreSQL: def.PostgreSQL,
			Retention: RetentionConfig{MaxAge: 24 * time.Hour, MaxEvents: 1000, Interval: 30 * time.Second},
			KeyHash:   KeyHashConfig{Algorithm: "hmac-sha256", Secret: "s3cret"},
		}},
		{id: component.NewIDWithName(componentType, "postgresql"), want: &Config{
			Backend: BackendPostgreSQL, SQLite: def.SQLite,
			PostgreSQL: PostgreSQLConfig{DSN: "postgres://lineage:pw@db:5432/lineage?sslmode=disable", MaxConns: 4},
			Retention:  RetentionConfig{Interval: time.Minute},
			KeyHash:    KeyHashConfig{Algorithm: "sha256"},
		}},
		{id: component.NewIDWithName(componentType, "bad_backend"), wantErr: []string{`backend: must be "sqlite" or "postgresql", got "mysql"`}},
		{id: component.NewIDWithName(componentType, "bad_sqlite"), wantErr: []string{
			`sqlite::path: required with backend "sqlite"`,
			`key_hash::algorithm: must be "hmac-sha256" or "sha256", got "md5"`,
		}},
		{id: component.NewIDWithName(componentType, "bad_postgresql"), wantErr: []string{
			`postgresql::dsn: required with backend "postgresql"`,
			"postgresql::max_conns: must be positive, got 0",
			"retention::max_age: must not be negative (0: no bound), got -1h0m0s",
			"retention::max_events: must not be negative (0: no bound), got -5",
			"retention::interval: must be positive, got 0s",
			"key_hash::secret: required",
		}},
		{id: component.NewIDWithName(componentType, "bad_dsn"), wantErr: []string{
			"postgresql::dsn: the DSN is not a PostgreSQL connection string pgx can parse",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.want, cfg)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				assert.ErrorContains(t, err, w)
			}
			assert.NotContains(t, err.Error(), "s3cret", "a password in an error message")
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "data/lineage.db", cfg.SQLite.Path)
	assert.Equal(t, 168*time.Hour, cfg.Retention.MaxAge)
	assert.Equal(t, int64(10_000_000), cfg.Retention.MaxEvents)
	assert.Equal(t, time.Minute, cfg.Retention.Interval)
	assert.Equal(t, "hmac-sha256", cfg.KeyHash.Algorithm)
	// The receiver's default algorithm needs its secret; everything else validates.
	assert.EqualError(t, cfg.Validate(), `key_hash::secret: required with algorithm "hmac-sha256" (the kafka_records receiver's secret; or set key_hash::algorithm: "sha256" as the receiver does)`)
	cfg.KeyHash.Secret = "x"
	assert.NoError(t, cfg.Validate())
}
