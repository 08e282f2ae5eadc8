package sqlstore

import (
	"strconv"
	"strings"
)

// dialect is what differs between the backends; every query is written once with '?' placeholders
// and the statements of both backends share one SQL text otherwise.
type dialect struct {
	name string
	// numbered: PostgreSQL wants $1, $2, ... instead of '?'.
	numbered bool
	// eventIDColumn is the events table's primary key: SQLite's rowid alias (INTEGER PRIMARY KEY)
	// keeps the table and its key in one b-tree.
	eventIDColumn string
	// clustered ends a CREATE TABLE whose primary key should hold the rows: SQLite's WITHOUT
	// ROWID saves the table's own b-tree (PostgreSQL tables are heaps either way).
	clustered string
	// advisoryLock: serialize migrations of concurrent collectors on one PostgreSQL database.
	advisoryLock bool
	// maxParams bounds the bind parameters of one statement (SQLite: 32766, PostgreSQL: 65535).
	maxParams int
}

var (
	sqliteDialect = dialect{
		name:          "sqlite",
		eventIDColumn: "id INTEGER PRIMARY KEY",
		clustered:     " WITHOUT ROWID",
		maxParams:     32000,
	}
	postgresDialect = dialect{
		name:          "postgres",
		numbered:      true,
		eventIDColumn: "id BIGINT PRIMARY KEY",
		advisoryLock:  true,
		maxParams:     60000,
	}
)

// bind rewrites the '?' placeholders of q for the dialect. The store's SQL never holds a '?' inside
// a literal, so a plain scan is exact.
func (d dialect) bind(q string) string {
	if !d.numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + len(q)/4)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// placeholders returns "(?,?,?),(?,?,?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// questionMarks returns "?,?,?" for n placeholders.
func questionMarks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// idParams returns the placeholders and arguments of an IN list of ids: values are always bound,
// never formatted into SQL. Callers chunk their lists (inChunk, retentionChunk) far below both
// backends' parameter limits (SQLite 32766, PostgreSQL 65535).
func idParams(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return questionMarks(len(ids)), args
}
