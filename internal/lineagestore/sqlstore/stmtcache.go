package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache keeps the writer's prepared multi-row statements: SQLite parses a 500-row VALUES list
// of 14 columns in about as much time as it takes to insert a tenth of its rows, and PostgreSQL
// spends a round trip on every prepare. A statement is prepared on the writer pool and bound to
// each transaction's connection, where database/sql reuses the connection's own preparation. A
// statement not cached yet is prepared on the transaction alone and cached after it ended: the
// pool's only SQLite connection is the transaction's until then. The set is bounded by
// insertRows' chunk shapes: a few tables × chunkSizes.
type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	missing map[string]bool // used by a transaction, to prepare once it ended
}

// stmt returns query prepared for tx; the caller closes it.
func (c *stmtCache) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.stmts[query]
	if !ok {
		if c.missing == nil {
			c.missing = map[string]bool{}
		}
		c.missing[query] = true
	}
	c.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// prepareMissing prepares on db the statements transactions used uncached; called outside any
// transaction of db. A statement that fails to prepare is left to the next transaction.
func (c *stmtCache) prepareMissing(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for query := range c.missing {
		st, err := db.PrepareContext(ctx, query)
		if err != nil {
			continue
		}
		if c.stmts == nil {
			c.stmts = map[string]*sql.Stmt{}
		}
		c.stmts[query] = st
		delete(c.missing, query)
	}
}

// close closes every statement; the cache is empty afterwards.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for _, st := range c.stmts {
		err = errors.Join(err, st.Close())
	}
	c.stmts, c.missing = nil, nil
	return err
}

// chunkSizes splits n rows into statements of at most per rows: full chunks of per, then the rest
// by powers of two (437 → 256, 128, 32, 16, 4, 1), so that any n needs only statements of
// log2(per) + 1 shapes, which stay prepared.
func chunkSizes(n, per int) []int {
	var out []int
	for ; n >= per; n -= per {
		out = append(out, per)
	}
	for p := 1 << 30; n > 0; p >>= 1 {
		if n >= p {
			out = append(out, p)
			n -= p
		}
	}
	return out
}
