package lineagestorageextension

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// handleStore is the store the extension hands out from Start on: the open store, or, while the
// PostgreSQL server has not accepted a connection yet, errors wrapping lineagestore.ErrUnavailable
// (the exporter retries with its data in the sending queue, the query API answers 503). Components
// keep it from their Start, so it stays the same object when the store opens behind it.
type handleStore struct {
	open    atomic.Pointer[openStore]
	waiting atomic.Pointer[waitReason]
}

type openStore struct{ lineagestore.Store }

type waitReason struct{ err error }

var _ lineagestore.Store = (*handleStore)(nil)

// setOpen makes s the store behind the handle.
func (h *handleStore) setOpen(s lineagestore.Store) { h.open.Store(&openStore{s}) }

// setWaiting records why the store is not open yet.
func (h *handleStore) setWaiting(err error) { h.waiting.Store(&waitReason{err}) }

func (h *handleStore) store() (lineagestore.Store, error) {
	if o := h.open.Load(); o != nil {
		return o.Store, nil
	}
	if w := h.waiting.Load(); w != nil {
		return nil, fmt.Errorf("%w: not open yet, retrying: %w", lineagestore.ErrUnavailable, w.err)
	}
	return nil, fmt.Errorf("%w: not open yet", lineagestore.ErrUnavailable)
}

// through runs f on the open store, or returns why there is none.
func through[T any](h *handleStore, f func(lineagestore.Store) (T, error)) (T, error) {
	s, err := h.store()
	if err != nil {
		var zero T
		return zero, err
	}
	return f(s)
}

func (h *handleStore) Write(ctx context.Context, b *lineagestore.Batch) error {
	_, err := through(h, func(s lineagestore.Store) (struct{}, error) { return struct{}{}, s.Write(ctx, b) })
	return err
}

func (h *handleStore) FindEvents(ctx context.Context, q lineagestore.EventQuery) (lineagestore.EventPage, error) {
	return through(h, func(s lineagestore.Store) (lineagestore.EventPage, error) { return s.FindEvents(ctx, q) })
}

func (h *handleStore) Event(ctx context.Context, id lineagestore.RecordID) (lineagestore.EventDetail, error) {
	return through(h, func(s lineagestore.Store) (lineagestore.EventDetail, error) { return s.Event(ctx, id) })
}

func (h *handleStore) Lineage(ctx context.Context, q lineagestore.LineageQuery) (lineagestore.Graph, error) {
	return through(h, func(s lineagestore.Store) (lineagestore.Graph, error) { return s.Lineage(ctx, q) })
}

func (h *handleStore) Topology(ctx context.Context, q lineagestore.TopologyQuery) (lineagestore.Topology, error) {
	return through(h, func(s lineagestore.Store) (lineagestore.Topology, error) { return s.Topology(ctx, q) })
}

func (h *handleStore) Outliers(ctx context.Context, q lineagestore.OutlierQuery) ([]lineagestore.Outlier, error) {
	return through(h, func(s lineagestore.Store) ([]lineagestore.Outlier, error) { return s.Outliers(ctx, q) })
}

func (h *handleStore) ApplyRetention(ctx context.Context, r lineagestore.Retention) (int64, error) {
	return through(h, func(s lineagestore.Store) (int64, error) { return s.ApplyRetention(ctx, r) })
}

// Close closes the store behind the handle, if it opened; the extension's Shutdown calls it.
func (h *handleStore) Close() error {
	if o := h.open.Load(); o != nil {
		return o.Store.Close()
	}
	return nil
}
