package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Group commit. The exporter writes small batches (one agent export call, ~16 spans) from several
// queue consumers at once; one transaction each spends most of its time on what every
// transaction costs (SQLite: the commit's WAL write of every page it dirtied, tree roots and
// index pages again and again; PostgreSQL: round trips and the commit's WAL flush). So Write hands
// its batch to a writer goroutine, and a writer that finds other batches waiting writes them all
// in one transaction. Each caller still gets its own answer and its batch's all-or-nothing: when
// the merged transaction fails, the writer writes its batches again one transaction each, so one
// failing batch fails alone.
const (
	// maxGroupItems bounds a merged transaction (Batch.Len summed): the exporter's big batches
	// are not merged much, small ones up to here.
	maxGroupItems = 20000
	// maxGroupBatches bounds the callers one transaction answers.
	maxGroupBatches = 256
)

// errClosed is Write's error after Close.
var errClosed = errors.New("write: lineage store is closed")

// writeRequest is one Write call waiting for a writer.
type writeRequest struct {
	ctx  context.Context
	b    *lineagestore.Batch
	p    *preparedBatch // b prepared
	done chan error     // buffered: the writer never waits for the caller
}

// startWriters starts n writer goroutines; Close stops them.
func (s *Store) startWriters(n int) {
	s.writes = make(chan *writeRequest) // unbuffered: a request is taken only by a running writer
	s.quit = make(chan struct{})
	s.runCtx, s.stop = context.WithCancel(context.Background())
	for range n {
		s.writers.Add(1)
		go s.writer()
	}
}

// stopWriters ends the writers after their current transaction (cancelled).
func (s *Store) stopWriters() {
	if s.quit == nil {
		return
	}
	close(s.quit)
	s.stop()
	s.writers.Wait()
}

// submit hands b to a writer and waits for its answer. Once a writer took the batch, the caller
// waits for the transaction to end (at most one transaction); a context done before that gives
// ctx.Err() and the batch is not written.
func (s *Store) submit(ctx context.Context, b *lineagestore.Batch, p *preparedBatch) error {
	r := &writeRequest{ctx: ctx, b: b, p: p, done: make(chan error, 1)}
	select {
	case s.writes <- r:
	case <-ctx.Done():
		return fmt.Errorf("write: %w", ctx.Err())
	case <-s.quit:
		return errClosed
	}
	return <-r.done
}

func (s *Store) writer() {
	defer s.writers.Done()
	for {
		var first *writeRequest
		select {
		case first = <-s.writes:
		case <-s.quit:
			return
		}
		group := []*writeRequest{first}
		items := first.b.Len()
	drain:
		for items < maxGroupItems && len(group) < maxGroupBatches {
			select {
			case r := <-s.writes:
				group = append(group, r)
				items += r.b.Len()
			default:
				break drain
			}
		}
		s.writeGroup(group)
	}
}

// writeGroup writes the group's batches in one transaction, or one transaction each when that
// fails, and answers every caller.
func (s *Store) writeGroup(group []*writeRequest) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- fmt.Errorf("write: %w", err)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 1 {
		live[0].done <- s.writeOne(live[0].ctx, live[0].p)
		return
	}
	if len(live) == 0 {
		return
	}
	// The merged batch is the batches in arrival order: prepareBatch merges them by the same
	// rules as writing them one after the other would (and cannot refuse it: each part passed).
	ctx, cancel := groupContext(s.runCtx, live)
	defer cancel()
	if p, err := prepareBatch(mergeBatches(live)); err == nil {
		if err := s.writeOne(ctx, p); err == nil {
			for _, r := range live {
				r.done <- nil
			}
			return
		}
	}
	for _, r := range live {
		r.done <- s.writeOne(r.ctx, r.p)
	}
}

// groupContext is the merged transaction's context: one caller giving up must not fail the
// others, so it ends at the latest of the callers' deadlines (none when one caller has none), or
// when the store closes.
func groupContext(base context.Context, rs []*writeRequest) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, r := range rs {
		d, ok := r.ctx.Deadline()
		if !ok {
			return context.WithCancel(base)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(base, latest)
}

func mergeBatches(rs []*writeRequest) *lineagestore.Batch {
	var m lineagestore.Batch
	for _, r := range rs {
		m.Clusters = append(m.Clusters, r.b.Clusters...)
		m.Events = append(m.Events, r.b.Events...)
		m.Touchpoints = append(m.Touchpoints, r.b.Touchpoints...)
		m.Edges = append(m.Edges, r.b.Edges...)
		m.PendingEdges = append(m.PendingEdges, r.b.PendingEdges...)
	}
	return &m
}
