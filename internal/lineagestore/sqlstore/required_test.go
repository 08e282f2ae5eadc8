//go:build !integration

package sqlstore

// postgresRequired: without the integration tag a missing PostgreSQL DSN skips its tests.
const postgresRequired = false
