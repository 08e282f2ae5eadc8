package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// retentionChunk is the events one retention transaction deletes: small enough that the writer is
// free again within milliseconds, so exporters' writes interleave with a big delete.
const retentionChunk = 2000

// ApplyRetention deletes the events r no longer allows, oldest written first (in id order: ids
// are given in written order), with their
// touchpoints, the edges into and out of them and the pending edges into them, chunk by chunk;
// pending edges older than MaxAge go too. It returns the number of events deleted.
func (s *Store) ApplyRetention(ctx context.Context, r lineagestore.Retention) (int64, error) {
	if r.MaxAge < 0 || r.MaxEvents < 0 {
		return 0, fmt.Errorf("retention: %w", invalid(fmt.Errorf("max age %s and max events %d must not be negative", r.MaxAge, r.MaxEvents)))
	}
	var deleted int64
	if r.MaxAge > 0 {
		cutoff := nanos(s.now().Add(-r.MaxAge))
		for {
			n, err := s.deleteOldest(ctx, cutoff, retentionChunk)
			deleted += n
			if err != nil {
				return deleted, fmt.Errorf("retention by age: %w", err)
			}
			if n < retentionChunk {
				break
			}
		}
		if _, err := s.w.ExecContext(ctx, s.d.bind("DELETE FROM pending_edges WHERE written_at < ?"), cutoff); err != nil {
			return deleted, fmt.Errorf("retention by age: pending edges: %w", err)
		}
	}
	if r.MaxEvents > 0 {
		var total int64
		if err := s.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM events").Scan(&total); err != nil {
			return deleted, fmt.Errorf("retention by count: %w", err)
		}
		for excess := total - r.MaxEvents; excess > 0; {
			n, err := s.deleteOldest(ctx, 0, int(min(excess, retentionChunk)))
			deleted += n
			if err != nil {
				return deleted, fmt.Errorf("retention by count: %w", err)
			}
			if n == 0 {
				break
			}
			excess -= n
		}
	}
	return deleted, nil
}

// deleteOldest deletes up to limit of the oldest written events, only those written before
// writtenBefore when it is not 0, with everything that hangs on them, in one transaction. The
// oldest are the lowest ids; their written_at is checked in id order and the walk stops at the
// first too young: where concurrent PostgreSQL writers committed ids slightly out of clock order,
// an event may outlive its age by that transaction's duration, never the other way.
func (s *Store) deleteOldest(ctx context.Context, writtenBefore int64, limit int) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	rows, err := tx.QueryContext(ctx, s.d.bind("SELECT id, written_at FROM events ORDER BY id LIMIT ?"), limit)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id, written int64
		if err := rows.Scan(&id, &written); err != nil {
			rows.Close()
			return 0, err
		}
		if writtenBefore != 0 && written >= writtenBefore {
			break
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	in, args := idParams(ids)
	for _, stmt := range []string{
		"DELETE FROM touchpoints WHERE event_id IN (" + in + ")",
		"DELETE FROM edges WHERE from_id IN (" + in + ")",
		"DELETE FROM edges WHERE to_id IN (" + in + ")",
		"DELETE FROM pending_edges WHERE to_id IN (" + in + ")",
		"DELETE FROM events WHERE id IN (" + in + ")",
	} {
		if _, err := tx.ExecContext(ctx, s.d.bind(stmt), args...); err != nil {
			return 0, fmt.Errorf("%s: %w", firstWords(stmt), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return int64(len(ids)), nil
}

func firstWords(stmt string) string {
	if len(stmt) > 40 {
		return stmt[:40]
	}
	return stmt
}
