package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// postgresDSNEnv names the PostgreSQL server the tests and benchmarks use (e2e/bin/postgres.sh
// start prints one).
const postgresDSNEnv = "LINEAGE_TEST_POSTGRES_DSN"

// postgresDSN returns the server's DSN; without it the test skips, or fails where the build
// requires PostgreSQL (tag integration).
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(postgresDSNEnv)
	if dsn == "" {
		if postgresRequired {
			tb.Fatalf("%s is not set: the integration build runs the store suite against PostgreSQL (start one with e2e/bin/postgres.sh start)", postgresDSNEnv)
		}
		tb.Skipf("%s is not set (e2e/bin/postgres.sh start prints one)", postgresDSNEnv)
	}
	return dsn
}

// freshSchema creates a schema of its own for one test run on the server and returns a DSN whose
// connections use it; the schema is dropped at cleanup, so runs never see each other.
func freshSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "lineage_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", dsn)
	require.NoError(tb, err)
	defer admin.Close()
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(tb, err, "create schema on %s", dsn)
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			tb.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Error(err)
		}
	})
	return withSearchPath(tb, dsn, schema)
}

func withSearchPath(tb testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		require.NoError(tb, err)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func openPostgres(t *testing.T) *Store {
	dsn := freshSchema(t, postgresDSN(t))
	s, err := OpenPostgres(context.Background(), dsn, 4)
	require.NoError(t, err)
	return s
}

func TestPostgresRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	dsn := freshSchema(t, postgresDSN(t))
	s, err := OpenPostgres(ctx, dsn, 2)
	require.NoError(t, err)
	_, err = s.w.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)", SchemaVersion+1)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = OpenPostgres(ctx, dsn, 2)
	require.ErrorIs(t, err, ErrSchemaTooNew)
}

func TestPostgresConcurrentOpen(t *testing.T) {
	// Collectors starting together on one empty database: the advisory lock lets one migrate, the
	// others find the schema current.
	ctx := context.Background()
	dsn := freshSchema(t, postgresDSN(t))
	errs := make(chan error, 4)
	stores := make(chan *Store, 4)
	for i := 0; i < 4; i++ {
		go func() {
			s, err := OpenPostgres(ctx, dsn, 2)
			errs <- err
			stores <- s
		}()
	}
	for i := 0; i < 4; i++ {
		require.NoError(t, <-errs)
		s := <-stores
		require.NoError(t, s.Close())
	}
}
