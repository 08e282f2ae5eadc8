package lineagestorageextension // import "github.com/eventlineage/lineage/extension/lineagestorageextension"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"

	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

// Backends.
const (
	// BackendSQLite is an embedded SQLite database file: nothing to run next to the collector.
	BackendSQLite = "sqlite"
	// BackendPostgreSQL is a PostgreSQL server: for volumes beyond one file, shared storage, or
	// several collectors writing one store.
	BackendPostgreSQL = "postgresql"
)

// Config configures the lineage_storage extension: the lineage store that the lineage exporter
// writes and the lineage_query extension reads, and the record key hash both use.
type Config struct {
	// Backend is "sqlite" (default) or "postgresql".
	Backend string `mapstructure:"backend"`

	// SQLite configures the sqlite backend.
	SQLite SQLiteConfig `mapstructure:"sqlite"`

	// PostgreSQL configures the postgresql backend.
	PostgreSQL PostgreSQLConfig `mapstructure:"postgresql"`

	// Retention bounds what the store keeps.
	Retention RetentionConfig `mapstructure:"retention"`

	// KeyHash is the record key hash, with the kafka_records receiver's semantics: the exporter
	// hashes the keys it reads on producer spans with it, the query API the keys typed into a
	// search. Use the receiver's algorithm and secret, or keys will not meet their records' facts.
	KeyHash KeyHashConfig `mapstructure:"key_hash"`
}

// SQLiteConfig configures the sqlite backend.
type SQLiteConfig struct {
	// Path is the database file, created with its directory when missing.
	Path string `mapstructure:"path"`
}

// PostgreSQLConfig configures the postgresql backend.
type PostgreSQLConfig struct {
	// DSN is the connection string, a postgres:// URL or key=value pairs as libpq reads them
	// (it may hold a password: take it from the environment, ${env:LINEAGE_PG_DSN}).
	DSN configopaque.String `mapstructure:"dsn"`
	// MaxConns bounds the connection pool.
	MaxConns int `mapstructure:"max_conns"`
}

// RetentionConfig bounds the store; a background task applies it every Interval.
type RetentionConfig struct {
	// MaxAge drops events first written longer ago, with their touchpoints and edges (0: no bound).
	MaxAge time.Duration `mapstructure:"max_age"`
	// MaxEvents drops the oldest events beyond this many (0: no bound).
	MaxEvents int64 `mapstructure:"max_events"`
	// Interval is how often retention runs.
	Interval time.Duration `mapstructure:"interval"`
}

// KeyHashConfig configures the record key hash, as under the kafka_records receiver's key_hash.
type KeyHashConfig struct {
	// Algorithm is "hmac-sha256" (default; needs Secret) or "sha256".
	Algorithm string `mapstructure:"algorithm"`
	// Secret is the HMAC key: the kafka_records receiver's secret.
	Secret configopaque.String `mapstructure:"secret"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	switch c.Backend {
	case BackendSQLite:
		if c.SQLite.Path == "" {
			errs = append(errs, errors.New("sqlite::path: required with backend \"sqlite\""))
		}
	case BackendPostgreSQL:
		if c.PostgreSQL.DSN == "" {
			errs = append(errs, errors.New("postgresql::dsn: required with backend \"postgresql\""))
		} else if err := sqlstore.CheckPostgresDSN(string(c.PostgreSQL.DSN)); err != nil {
			errs = append(errs, fmt.Errorf("postgresql::dsn: %w", err))
		}
		if c.PostgreSQL.MaxConns < 1 {
			errs = append(errs, fmt.Errorf("postgresql::max_conns: must be positive, got %d", c.PostgreSQL.MaxConns))
		}
	default:
		errs = append(errs, fmt.Errorf("backend: must be %q or %q, got %q", BackendSQLite, BackendPostgreSQL, c.Backend))
	}
	if c.Retention.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("retention::max_age: must not be negative (0: no bound), got %s", c.Retention.MaxAge))
	}
	if c.Retention.MaxEvents < 0 {
		errs = append(errs, fmt.Errorf("retention::max_events: must not be negative (0: no bound), got %d", c.Retention.MaxEvents))
	}
	if c.Retention.Interval <= 0 {
		errs = append(errs, fmt.Errorf("retention::interval: must be positive, got %s", c.Retention.Interval))
	}
	switch c.KeyHash.Algorithm {
	case recordfact.AlgorithmHMACSHA256:
		if c.KeyHash.Secret == "" {
			errs = append(errs, fmt.Errorf("key_hash::secret: required with algorithm %q (the kafka_records receiver's secret; or set key_hash::algorithm: %q as the receiver does)",
				recordfact.AlgorithmHMACSHA256, recordfact.AlgorithmSHA256))
		}
	case recordfact.AlgorithmSHA256:
	default:
		errs = append(errs, fmt.Errorf("key_hash::algorithm: must be %q or %q, got %q", recordfact.AlgorithmHMACSHA256, recordfact.AlgorithmSHA256, c.KeyHash.Algorithm))
	}
	return errors.Join(errs...)
}
