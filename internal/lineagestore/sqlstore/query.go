package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// eventColumns select an event with its cluster's name; scanEvent reads them.
const eventColumns = `e.id, e.cluster, e.topic, e.part, e.off, e.key_hash, e.ts, e.produced_at, e.sort_at, e.trace_id,
	e.producer, e.tombstone, COALESCE(c.name, '')`

const eventFrom = `events e LEFT JOIN clusters c ON c.id = e.cluster`

type scanner interface{ Scan(dest ...any) error }

// storedEvent is an event with its key and sort time.
type storedEvent struct {
	id     int64
	sortAt int64
	e      lineagestore.Event
}

func scanEvent(sc scanner) (storedEvent, error) {
	var se storedEvent
	var ts, pa int64
	var tomb int
	e := &se.e
	if err := sc.Scan(&se.id, &e.Record.Cluster, &e.Record.Topic, &e.Record.Partition, &e.Record.Offset, &e.KeyHash,
		&ts, &pa, &se.sortAt, &e.TraceID, &e.Producer, &tomb, &e.ClusterName); err != nil {
		return se, err
	}
	e.Timestamp, e.ProducedAt, e.Tombstone = timeOf(ts), timeOf(pa), tomb == 1
	return se, nil
}

// clusterIDs are the cluster ids a query's cluster names: itself (an id) and the ids whose name
// it is.
func (s *Store) clusterIDs(ctx context.Context, cluster string) ([]string, error) {
	ids := []string{cluster}
	rows, err := s.r.QueryContext(ctx, s.d.bind("SELECT id FROM clusters WHERE name = ? AND id <> ?"), cluster, cluster)
	if err != nil {
		return nil, fmt.Errorf("resolve cluster %q: %w", cluster, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("resolve cluster %q: %w", cluster, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resolve cluster %q: %w", cluster, err)
	}
	return ids, nil
}

// FindEvents returns one page of the events q selects, newest first (sort time, then key), by
// keyset pagination: the token is the last row's (sort time, key), so pages stay stable while
// events are written.
func (s *Store) FindEvents(ctx context.Context, q lineagestore.EventQuery) (lineagestore.EventPage, error) {
	if err := validateEventQuery(q); err != nil {
		return lineagestore.EventPage{}, fmt.Errorf("find events: %w", invalid(err))
	}
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if q.PageToken != "" {
		sortAt, id, err := decodePageToken(q.PageToken)
		if err != nil {
			return lineagestore.EventPage{}, fmt.Errorf("find events: %w", err)
		}
		add("(e.sort_at < ? OR (e.sort_at = ? AND e.id < ?))", sortAt, sortAt, id)
	}
	if q.Cluster != "" {
		ids, err := s.clusterIDs(ctx, q.Cluster)
		if err != nil {
			return lineagestore.EventPage{}, fmt.Errorf("find events: %w", err)
		}
		a := make([]any, len(ids))
		for i, id := range ids {
			a[i] = id
		}
		add("e.cluster IN ("+strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+")", a...)
	}
	if q.Topic != "" {
		add("e.topic = ?", q.Topic)
	}
	if q.Partition != nil {
		add("e.part = ?", *q.Partition)
	}
	if q.Offset != nil {
		add("e.off = ?", *q.Offset)
	}
	if q.KeyHash != "" {
		// The redundant term lets the planner use the partial index (key_hash <> '') with a
		// bound parameter.
		add("e.key_hash = ? AND e.key_hash <> ''", q.KeyHash)
	}
	// Trace and service select through the touchpoints: an event's trace and producer are those of
	// its producer span, a touchpoint too (see the schema).
	if q.TraceID != "" {
		add("e.id IN (SELECT event_id FROM touchpoints WHERE trace_id = ?)", q.TraceID)
	}
	if q.Service != "" {
		// Correlated: walking the events newest first finds a page of a busy service at once,
		// where materializing all its touchpoints would read hundreds of thousands.
		add("EXISTS (SELECT 1 FROM touchpoints st WHERE st.event_id = e.id AND st.service = ?)", q.Service)
	}
	if !q.From.IsZero() {
		add("e.sort_at >= ?", nanos(q.From))
	}
	if !q.To.IsZero() {
		add("e.sort_at < ?", nanos(q.To))
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		add("e.sort_at <> 0")
	}
	query := "SELECT " + eventColumns + " FROM " + eventFrom
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY e.sort_at DESC, e.id DESC LIMIT ?"
	args = append(args, q.Limit+1)
	rows, err := s.r.QueryContext(ctx, s.d.bind(query), args...)
	if err != nil {
		return lineagestore.EventPage{}, fmt.Errorf("find events: %w", err)
	}
	defer rows.Close()
	page := lineagestore.EventPage{Events: []lineagestore.Event{}}
	var last storedEvent
	for rows.Next() {
		se, err := scanEvent(rows)
		if err != nil {
			return lineagestore.EventPage{}, fmt.Errorf("find events: %w", err)
		}
		if len(page.Events) == q.Limit {
			page.NextPageToken = encodePageToken(last.sortAt, last.id)
			break
		}
		page.Events = append(page.Events, se.e)
		last = se
	}
	if err := rows.Err(); err != nil {
		return lineagestore.EventPage{}, fmt.Errorf("find events: %w", err)
	}
	return page, nil
}

func validateEventQuery(q lineagestore.EventQuery) error {
	switch {
	case q.Limit < 1 || q.Limit > lineagestore.MaxPageSize:
		return fmt.Errorf("limit %d out of range 1..%d", q.Limit, lineagestore.MaxPageSize)
	case q.Offset != nil && q.Partition == nil:
		return errors.New("offset needs a partition")
	case (q.Partition != nil || q.Offset != nil) && q.Topic == "":
		return errors.New("partition and offset need a topic")
	}
	return validateRange(q.From, q.To)
}

// pageTokenVersion leads every token so that a future format can tell old tokens apart.
const pageTokenVersion = 1

// encodePageToken: URL-safe base64 of version byte, sort time and key (big endian).
func encodePageToken(sortAt, id int64) string {
	var b [17]byte
	b[0] = pageTokenVersion
	binary.BigEndian.PutUint64(b[1:], uint64(sortAt))
	binary.BigEndian.PutUint64(b[9:], uint64(id))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodePageToken(tok string) (sortAt, id int64, err error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) != 17 || b[0] != pageTokenVersion {
		return 0, 0, invalid(fmt.Errorf("%w %q", lineagestore.ErrBadPageToken, truncate(tok, 64)))
	}
	sortAt, id = int64(binary.BigEndian.Uint64(b[1:])), int64(binary.BigEndian.Uint64(b[9:]))
	if id < 0 {
		return 0, 0, invalid(fmt.Errorf("%w %q", lineagestore.ErrBadPageToken, truncate(tok, 64)))
	}
	return sortAt, id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// findEvent returns the stored event id names; a cluster given by name is resolved through the
// clusters table when no event has it as id.
func (s *Store) findEvent(ctx context.Context, id lineagestore.RecordID) (storedEvent, error) {
	if err := id.Validate(); err != nil {
		return storedEvent{}, invalid(fmt.Errorf("record id %s: %w", id, err))
	}
	se, err := s.eventByRecord(ctx, id)
	if !errors.Is(err, sql.ErrNoRows) {
		return se, err
	}
	ids, err := s.clusterIDs(ctx, id.Cluster)
	if err != nil {
		return storedEvent{}, err
	}
	for _, c := range ids[1:] {
		alt := id
		alt.Cluster = c
		se, err := s.eventByRecord(ctx, alt)
		if !errors.Is(err, sql.ErrNoRows) {
			return se, err
		}
	}
	return storedEvent{}, fmt.Errorf("event %s: %w", id, lineagestore.ErrNotFound)
}

func (s *Store) eventByRecord(ctx context.Context, r lineagestore.RecordID) (storedEvent, error) {
	return scanEvent(s.r.QueryRowContext(ctx, s.d.bind("SELECT "+eventColumns+" FROM "+eventFrom+
		" WHERE e.topic = ? AND e.part = ? AND e.off = ? AND e.cluster = ?"), r.Topic, r.Partition, r.Offset, r.Cluster))
}

// Event returns one event with its touchpoints (by start time) and its direct edges.
func (s *Store) Event(ctx context.Context, id lineagestore.RecordID) (lineagestore.EventDetail, error) {
	se, err := s.findEvent(ctx, id)
	if err != nil {
		return lineagestore.EventDetail{}, fmt.Errorf("event: %w", err)
	}
	d := lineagestore.EventDetail{Event: se.e}
	tps, err := s.touchpointsOf(ctx, []int64{se.id})
	if err != nil {
		return lineagestore.EventDetail{}, fmt.Errorf("event %s: %w", id, err)
	}
	d.Touchpoints = nonNil(tps[se.id])
	in, err := s.edgesWhere(ctx, "ed.to_id = ?", se.id)
	if err != nil {
		return lineagestore.EventDetail{}, fmt.Errorf("event %s: inputs: %w", id, err)
	}
	out, err := s.edgesWhere(ctx, "ed.from_id = ?", se.id)
	if err != nil {
		return lineagestore.EventDetail{}, fmt.Errorf("event %s: outputs: %w", id, err)
	}
	for _, e := range in {
		d.Inputs = append(d.Inputs, e.Edge)
	}
	for _, e := range out {
		d.Outputs = append(d.Outputs, e.Edge)
	}
	d.Inputs, d.Outputs = nonNil(d.Inputs), nonNil(d.Outputs)
	return d, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

const touchpointColumns = `t.event_id, e.cluster, e.topic, e.part, e.off, t.trace_id, t.span_id, t.parent_span_id, t.service,
	t.operation, t.kind, t.start_at, t.end_at, t.cluster_name, t.connector, t.state_store, t.store_operation, t.rule`

// touchpointsOf returns the touchpoints of the events (by start time, then span id), by event id.
func (s *Store) touchpointsOf(ctx context.Context, ids []int64) (map[int64][]lineagestore.Touchpoint, error) {
	out := map[int64][]lineagestore.Touchpoint{}
	for start := 0; start < len(ids); start += inChunk {
		chunk := ids[start:min(start+inChunk, len(ids))]
		in, args := idParams(chunk)
		rows, err := s.r.QueryContext(ctx, s.d.bind("SELECT "+touchpointColumns+
			" FROM touchpoints t JOIN events e ON e.id = t.event_id WHERE t.event_id IN ("+in+
			") ORDER BY t.event_id, t.start_at, t.span_id"), args...)
		if err != nil {
			return nil, fmt.Errorf("touchpoints: %w", err)
		}
		for rows.Next() {
			var id, st, en int64
			var t lineagestore.Touchpoint
			if err := rows.Scan(&id, &t.Record.Cluster, &t.Record.Topic, &t.Record.Partition, &t.Record.Offset, &t.TraceID,
				&t.SpanID, &t.ParentSpanID, &t.Service, &t.Operation, &t.Kind, &st, &en, &t.ClusterName, &t.Connector,
				&t.StateStore, &t.StoreOperation, &t.Rule); err != nil {
				rows.Close()
				return nil, fmt.Errorf("touchpoints: %w", err)
			}
			t.Start, t.End = timeOf(st), timeOf(en)
			out[id] = append(out[id], t)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("touchpoints: %w", err)
		}
	}
	return out, nil
}

// inChunk bounds the keys of one IN list.
const inChunk = 500

// storedEdge is an edge with its endpoints' keys and produce times.
type storedEdge struct {
	lineagestore.Edge
	from, to                 int64
	fromProduced, toProduced int64
}

// edgesWhere returns the edges matching cond (over alias ed), with both endpoints' coordinates.
func (s *Store) edgesWhere(ctx context.Context, cond string, args ...any) ([]storedEdge, error) {
	rows, err := s.r.QueryContext(ctx, s.d.bind(`SELECT ed.from_id, ed.to_id, ed.rule, ed.derivation, ed.link, ed.trace_id,
		f.cluster, f.topic, f.part, f.off, f.produced_at, t.cluster, t.topic, t.part, t.off, t.produced_at
		FROM edges ed JOIN events f ON f.id = ed.from_id JOIN events t ON t.id = ed.to_id
		WHERE `+cond+` ORDER BY ed.from_id, ed.to_id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedEdge
	for rows.Next() {
		var e storedEdge
		var link int
		if err := rows.Scan(&e.from, &e.to, &e.Rule, &e.Derivation, &link, &e.TraceID,
			&e.From.Cluster, &e.From.Topic, &e.From.Partition, &e.From.Offset, &e.fromProduced,
			&e.To.Cluster, &e.To.Topic, &e.To.Partition, &e.To.Offset, &e.toProduced); err != nil {
			return nil, err
		}
		e.Link = link == 1
		out = append(out, e)
	}
	return out, rows.Err()
}
