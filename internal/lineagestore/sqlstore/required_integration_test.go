//go:build integration

package sqlstore

// postgresRequired: with the integration tag a missing PostgreSQL DSN fails its tests.
const postgresRequired = true
