package lineagestorageextension // import "github.com/eventlineage/lineage/extension/lineagestorageextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

const (
	typeStr   = "lineage_storage"
	stability = component.StabilityLevelDevelopment

	// DefaultBackend is the default Config.Backend.
	DefaultBackend = BackendSQLite
	// DefaultSQLitePath is the default SQLiteConfig.Path (relative to the working directory).
	DefaultSQLitePath = "data/lineage.db"
	// DefaultPostgresMaxConns is the default PostgreSQLConfig.MaxConns.
	DefaultPostgresMaxConns = sqlstore.DefaultPostgresConns
	// DefaultRetentionMaxAge is the default RetentionConfig.MaxAge: a week.
	DefaultRetentionMaxAge = 7 * 24 * time.Hour
	// DefaultRetentionMaxEvents is the default RetentionConfig.MaxEvents.
	DefaultRetentionMaxEvents = 10_000_000
	// DefaultRetentionInterval is the default RetentionConfig.Interval.
	DefaultRetentionInterval = time.Minute
	// DefaultKeyHashAlgorithm is the default KeyHashConfig.Algorithm, the kafka_records receiver's.
	DefaultKeyHashAlgorithm = recordfact.AlgorithmHMACSHA256
)

var componentType = component.MustNewType(typeStr)

// NewFactory returns the factory of the lineage_storage extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(componentType, createDefaultConfig, create, stability)
}

func createDefaultConfig() component.Config {
	return &Config{
		Backend:    DefaultBackend,
		SQLite:     SQLiteConfig{Path: DefaultSQLitePath},
		PostgreSQL: PostgreSQLConfig{MaxConns: DefaultPostgresMaxConns},
		Retention: RetentionConfig{
			MaxAge:    DefaultRetentionMaxAge,
			MaxEvents: DefaultRetentionMaxEvents,
			Interval:  DefaultRetentionInterval,
		},
		KeyHash: KeyHashConfig{Algorithm: DefaultKeyHashAlgorithm},
	}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set)
}
