package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Write stores b atomically: in one transaction, which may also hold other callers' batches
// (group commit, group.go). Everything is an upsert, so writing the same batch twice stores it
// once:
//   - events merge field by field: a non-empty field replaces an empty one, never the other way
//     (the first non-empty value wins, later different values are ignored); every record a
//     touchpoint or an edge names gets at least a coordinates-only event, so an edge never points
//     at nothing and a later write of the event fills it in;
//   - touchpoints are keyed by (trace id, span id, event); the first write of a span wins (a span
//     does not change once ended);
//   - edges are keyed by (from, to); the first writer's rule and derivation win, except that a
//     measured edge replaces a derived or configured one (the agent's own context is the stronger
//     evidence);
//   - a pending edge resolves against every stored touchpoint of its span (this batch's and
//     earlier ones): one edge from each event the span touched; unresolved it waits in
//     pending_edges until a later batch brings the span (lockTraces: also a concurrent one);
//   - no self-edge is stored (dedupeEdges);
//   - clusters map id → name, the last write wins; an event's ClusterName names its cluster only
//     where no explicit mapping exists.
func (s *Store) Write(ctx context.Context, b *lineagestore.Batch) error {
	if b == nil || b.Len() == 0 {
		return nil
	}
	// Refused here, before any merging: an invalid batch fails its caller alone.
	p, err := prepareBatch(b)
	if err != nil {
		return invalid(err)
	}
	return s.submit(ctx, b, p)
}

// writeOne writes a prepared batch in one transaction.
func (s *Store) writeOne(ctx context.Context, p *preparedBatch) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := s.lockTraces(ctx, tx, p); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	w := batchWriter{s: s, tx: tx, now: nanos(s.now())}
	if err := w.write(ctx, p); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write: commit: %w", err)
	}
	s.stmts.prepareMissing(ctx, s.w)
	return nil
}

// preparedBatch is a batch validated and deduplicated in Go: a multi-row upsert may not name one
// key twice (PostgreSQL refuses), and merging first writes each row once.
type preparedBatch struct {
	clusters         []lineagestore.Cluster // explicit
	impliedClusters  []lineagestore.Cluster // from Event.ClusterName
	events           []lineagestore.Event
	touchpoints      []lineagestore.Touchpoint
	touchpointEvents []lineagestore.RecordID // event of touchpoints[i]
	edges            []recordEdge
	pending          []lineagestore.PendingEdge
	pendingTo        []lineagestore.RecordID
}

// recordEdge is an edge between records, before their events have ids.
type recordEdge struct {
	from, to lineagestore.RecordID
	e        lineagestore.Edge
}

// eventIDs maps the records of a batch to their events' ids in the store.
type eventIDs map[lineagestore.RecordID]int64

// edgeRow is an edge between stored events.
type edgeRow struct {
	from, to int64
	e        lineagestore.Edge
}

var touchpointKinds = map[string]bool{
	lineagestore.KindProduce: true, lineagestore.KindConsume: true, lineagestore.KindStateStore: true,
	lineagestore.KindConnect: true, lineagestore.KindInternal: true,
}

var derivations = map[string]bool{
	lineagestore.DerivationMeasured: true, lineagestore.DerivationDerived: true, lineagestore.DerivationConfiguration: true,
}

func prepareBatch(b *lineagestore.Batch) (*preparedBatch, error) {
	// Sized for a batch whose touchpoints and edges name its own events, the usual case.
	p := &preparedBatch{
		events:           make([]lineagestore.Event, 0, len(b.Events)),
		touchpoints:      make([]lineagestore.Touchpoint, 0, len(b.Touchpoints)),
		touchpointEvents: make([]lineagestore.RecordID, 0, len(b.Touchpoints)),
		edges:            make([]recordEdge, 0, len(b.Edges)),
	}
	events := make(map[lineagestore.RecordID]int, len(b.Events)) // → index in p.events
	addEvent := func(e lineagestore.Event) lineagestore.RecordID {
		if i, ok := events[e.Record]; ok {
			p.events[i].Merge(e)
			return e.Record
		}
		events[e.Record] = len(p.events)
		p.events = append(p.events, e)
		return e.Record
	}

	explicit := map[string]int{}
	for i, c := range b.Clusters {
		if c.ID == "" || c.Name == "" {
			return nil, fmt.Errorf("write: cluster %d: id and name must be set (id %q, name %q)", i, c.ID, c.Name)
		}
		if err := checkNames("cluster id", c.ID, "cluster name", c.Name); err != nil {
			return nil, fmt.Errorf("write: cluster %d: %w", i, err)
		}
		if j, ok := explicit[c.ID]; ok {
			p.clusters[j] = c
			continue
		}
		explicit[c.ID] = len(p.clusters)
		p.clusters = append(p.clusters, c)
	}
	implied := map[string]bool{}
	for i, e := range b.Events {
		if err := validateEvent(e); err != nil {
			return nil, fmt.Errorf("write: event %d: %w", i, err)
		}
		addEvent(e)
		if _, ok := explicit[e.Record.Cluster]; !ok && e.ClusterName != "" && !implied[e.Record.Cluster] {
			implied[e.Record.Cluster] = true
			p.impliedClusters = append(p.impliedClusters, lineagestore.Cluster{ID: e.Record.Cluster, Name: e.ClusterName})
		}
	}
	type tpKey struct {
		trace, span string
		event       lineagestore.RecordID
	}
	seenTP := make(map[tpKey]bool, len(b.Touchpoints))
	for i, t := range b.Touchpoints {
		if err := validateTouchpoint(t); err != nil {
			return nil, fmt.Errorf("write: touchpoint %d: %w", i, err)
		}
		id := addEvent(lineagestore.Event{Record: t.Record})
		k := tpKey{t.TraceID, t.SpanID, id}
		if seenTP[k] {
			continue
		}
		seenTP[k] = true
		p.touchpoints = append(p.touchpoints, t)
		p.touchpointEvents = append(p.touchpointEvents, id)
	}
	edges := make(map[[2]lineagestore.RecordID]int, len(b.Edges))
	for i, e := range b.Edges {
		if err := validateEdge(e, true); err != nil {
			return nil, fmt.Errorf("write: edge %d: %w", i, err)
		}
		from := addEvent(lineagestore.Event{Record: e.From})
		to := addEvent(lineagestore.Event{Record: e.To})
		if from == to {
			continue // a self-edge: see dedupeEdges
		}
		k := [2]lineagestore.RecordID{from, to}
		if j, ok := edges[k]; ok {
			if replacesEdge(p.edges[j].e, e) {
				p.edges[j].e = e
			}
			continue
		}
		edges[k] = len(p.edges)
		p.edges = append(p.edges, recordEdge{from: from, to: to, e: e})
	}
	for i, pe := range b.PendingEdges {
		if pe.From.TraceID == "" || pe.From.SpanID == "" {
			return nil, fmt.Errorf("write: pending edge %d: from span needs trace id and span id (got %q/%q)", i, pe.From.TraceID, pe.From.SpanID)
		}
		if err := checkNames("from trace id", pe.From.TraceID, "from span id", pe.From.SpanID); err != nil {
			return nil, fmt.Errorf("write: pending edge %d: %w", i, err)
		}
		if err := validateEdge(pe.Edge, false); err != nil {
			return nil, fmt.Errorf("write: pending edge %d: %w", i, err)
		}
		p.pending = append(p.pending, pe)
		p.pendingTo = append(p.pendingTo, addEvent(lineagestore.Event{Record: pe.Edge.To}))
	}
	// Concurrent PostgreSQL transactions then lock the events they share in the same order (no
	// deadlock between two writes naming the same events). Touchpoints and edges are ordered by
	// event id once the ids are known (touchpointsByID, edgesByID).
	slices.SortFunc(p.events, func(a, b lineagestore.Event) int { return compareRecords(a.Record, b.Record) })
	return p, nil
}

func compareRecords(a, b lineagestore.RecordID) int {
	return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset),
		strings.Compare(a.Cluster, b.Cluster))
}

func validateEvent(e lineagestore.Event) error {
	if err := checkRecord(e.Record); err != nil {
		return err
	}
	return checkNames("cluster name", e.ClusterName, "key hash", e.KeyHash, "trace id", e.TraceID, "producer", e.Producer)
}

func validateTouchpoint(t lineagestore.Touchpoint) error {
	if err := checkRecord(t.Record); err != nil {
		return err
	}
	if err := checkNames("trace id", t.TraceID, "span id", t.SpanID, "service", t.Service); err != nil {
		return err
	}
	switch {
	case t.TraceID == "" || t.SpanID == "":
		return fmt.Errorf("trace id and span id must be set (got %q/%q)", t.TraceID, t.SpanID)
	case !touchpointKinds[t.Kind]:
		return fmt.Errorf("unknown kind %q", t.Kind)
	}
	return nil
}

func validateEdge(e lineagestore.Edge, withFrom bool) error {
	if withFrom {
		if err := checkRecord(e.From); err != nil {
			return fmt.Errorf("from: %w", err)
		}
	}
	if err := checkRecord(e.To); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	if !derivations[e.Derivation] {
		return fmt.Errorf("unknown derivation %q (want measured, derived or configuration)", e.Derivation)
	}
	return nil
}

// replacesEdge: a measured edge replaces one that is not; otherwise the first stays.
func replacesEdge(old, new lineagestore.Edge) bool {
	return old.Derivation != lineagestore.DerivationMeasured && new.Derivation == lineagestore.DerivationMeasured
}

// touchpointsByID returns the touchpoints with their events' ids, ordered by their table's key:
// concurrent PostgreSQL writes then meet on shared rows in one order, and the inserts walk the
// b-tree forward.
func (p *preparedBatch) touchpointsByID(ids eventIDs) ([]lineagestore.Touchpoint, []int64) {
	type row struct {
		i  int
		id int64
	}
	rows := make([]row, len(p.touchpoints))
	for i, r := range p.touchpointEvents {
		rows[i] = row{i, ids[r]}
	}
	slices.SortFunc(rows, func(a, b row) int {
		ta, tb := &p.touchpoints[a.i], &p.touchpoints[b.i]
		return cmp.Or(cmp.Compare(a.id, b.id), strings.Compare(ta.TraceID, tb.TraceID), strings.Compare(ta.SpanID, tb.SpanID))
	})
	tps, evs := make([]lineagestore.Touchpoint, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		tps[i], evs[i] = p.touchpoints[r.i], r.id
	}
	return tps, evs
}

// edgesByID returns the edges between event ids, ordered by their key.
func (p *preparedBatch) edgesByID(ids eventIDs) []edgeRow {
	out := make([]edgeRow, len(p.edges))
	for i, e := range p.edges {
		out[i] = edgeRow{from: ids[e.from], to: ids[e.to], e: e.e}
	}
	slices.SortFunc(out, func(a, b edgeRow) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
	return out
}

// batchWriter writes one prepared batch inside tx.
type batchWriter struct {
	s   *Store
	tx  *sql.Tx
	now int64
}

func (w *batchWriter) write(ctx context.Context, p *preparedBatch) error {
	changed, err := w.changedClusters(ctx, p.clusters)
	if err != nil {
		return err
	}
	if err := w.clusters(ctx, changed, "DO UPDATE SET name = excluded.name"); err != nil {
		return err
	}
	if err := w.clusters(ctx, p.impliedClusters, "DO NOTHING"); err != nil {
		return err
	}
	ids, err := w.events(ctx, p.events)
	if err != nil {
		return err
	}
	if err := w.eventIDs(ctx, p.events, ids); err != nil {
		return err
	}
	tps, tpEvents := p.touchpointsByID(ids)
	if err := w.touchpoints(ctx, tps, tpEvents); err != nil {
		return err
	}
	if err := w.edges(ctx, p.edgesByID(ids)); err != nil {
		return err
	}
	pendingTo := make([]int64, len(p.pendingTo))
	for i, k := range p.pendingTo {
		pendingTo[i] = ids[k]
	}
	if err := w.pendingEdges(ctx, p.pending, pendingTo); err != nil {
		return err
	}
	return w.resolveStoredPending(ctx, p.touchpoints)
}

// lockTraces serializes the concurrent PostgreSQL writes that share a trace, and only those: a
// pending edge names its input span by (trace, span id), so the write of a pending edge and the
// write of its span's touchpoint always share the span's trace. Without the lock both could run
// at once, neither seeing the other's uncommitted rows, and the edge would stay pending forever.
// With it the second waits for the first to commit and then (READ COMMITTED: every statement sees
// what committed before it) resolves the edge. Transaction-scoped advisory locks on a 32-bit hash
// of the trace id (a collision only serializes two unrelated writes), in the two-key space so
// they never meet the migration lock, taken in sorted order so two writers cannot deadlock on
// them. SQLite needs none: its writes are serialized by its single writer connection.
func (s *Store) lockTraces(ctx context.Context, tx *sql.Tx, p *preparedBatch) error {
	if !s.d.advisoryLock {
		return nil
	}
	seen := map[int64]bool{}
	var keys []int64
	add := func(trace string) {
		h := fnv.New32a()
		h.Write([]byte(trace))
		k := int64(int32(h.Sum32()))
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, t := range p.touchpoints {
		add(t.TraceID)
	}
	for _, pe := range p.pending {
		add(pe.From.TraceID)
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::integer[]) WITH ORDINALITY AS l(k, n) ORDER BY n",
		traceLockClass, keys); err != nil {
		return fmt.Errorf("lock traces: %w", err)
	}
	return nil
}

// traceLockClass is the first key of lockTraces' advisory locks ("tr").
const traceLockClass = 0x7472

// insertRows runs prefix VALUES (...),(...) suffix over rows in chunks that fit the dialect's
// parameter limit, each a statement of the store's cache; row(i) returns the values of row i.
// With returned, the statements' RETURNING rows are handed to it.
func (w *batchWriter) insertRows(ctx context.Context, what, prefix, suffix string, n, cols int, row func(i int, args []any) []any,
	returned func(*sql.Rows) error,
) error {
	per := min(max(w.s.d.maxParams/cols, 1), maxRowsPerInsert)
	args := make([]any, 0, per*cols)
	start := 0
	for _, size := range chunkSizes(n, per) {
		args = args[:0]
		for i := start; i < start+size; i++ {
			args = row(i, args)
		}
		start += size
		stmt, err := w.s.stmts.stmt(ctx, w.tx, w.s.d.bind(prefix+" VALUES "+placeholders(size, cols)+" "+suffix))
		if err != nil {
			return fmt.Errorf("%s: prepare: %w", what, err)
		}
		err = execStmt(ctx, stmt, args, returned)
		stmt.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

func execStmt(ctx context.Context, stmt *sql.Stmt, args []any, returned func(*sql.Rows) error) error {
	if returned == nil {
		_, err := stmt.ExecContext(ctx, args...)
		return err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := returned(rows); err != nil {
			rows.Close()
			return err
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}

// maxRowsPerInsert bounds the rows of one multi-row INSERT: beyond it a bigger statement saves
// nothing measurable and its parse and bind buffers only grow.
const maxRowsPerInsert = 500

// changedClusters drops the explicit mappings the store holds already. Nearly every batch
// repeats its clusters, and an upsert that updates locks the row until commit even when the name
// stays: concurrent PostgreSQL writes would all queue on their cluster's row (and SQLite rewrite
// its page every commit). Two writes adding the same new mapping both upsert it; last wins.
func (w *batchWriter) changedClusters(ctx context.Context, cs []lineagestore.Cluster) ([]lineagestore.Cluster, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	stored := map[string]string{}
	for start := 0; start < len(cs); start += inChunk {
		chunk := cs[start:min(start+inChunk, len(cs))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c.ID
		}
		rows, err := w.tx.QueryContext(ctx, w.s.d.bind("SELECT id, name FROM clusters WHERE id IN ("+questionMarks(len(args))+")"), args...)
		if err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("clusters: %w", err)
			}
			stored[id] = name
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
	}
	var out []lineagestore.Cluster
	for _, c := range cs {
		if name, ok := stored[c.ID]; !ok || name != c.Name {
			out = append(out, c)
		}
	}
	return out, nil
}

func (w *batchWriter) clusters(ctx context.Context, cs []lineagestore.Cluster, onConflict string) error {
	return w.insertRows(ctx, "clusters", "INSERT INTO clusters (id, name)", "ON CONFLICT (id) "+onConflict, len(cs), 2,
		func(i int, args []any) []any { return append(args, cs[i].ID, cs[i].Name) }, nil)
}

// eventUpsert merges like Event.Merge, in SQL, against the stored row.
const eventUpsert = `ON CONFLICT (topic, part, off, cluster) DO UPDATE SET
	key_hash    = CASE WHEN events.key_hash = '' THEN excluded.key_hash ELSE events.key_hash END,
	ts          = CASE WHEN events.ts = 0 THEN excluded.ts ELSE events.ts END,
	produced_at = CASE WHEN events.produced_at = 0 THEN excluded.produced_at ELSE events.produced_at END,
	sort_at     = CASE WHEN events.produced_at <> 0 THEN events.produced_at
	                   WHEN excluded.produced_at <> 0 THEN excluded.produced_at
	                   WHEN events.ts <> 0 THEN events.ts ELSE excluded.ts END,
	trace_id    = CASE WHEN events.trace_id = '' THEN excluded.trace_id ELSE events.trace_id END,
	producer    = CASE WHEN events.producer = '' THEN excluded.producer ELSE events.producer END,
	tombstone   = CASE WHEN events.tombstone = 1 OR excluded.tombstone = 1 THEN 1 ELSE 0 END
WHERE (events.key_hash = '' AND excluded.key_hash <> '')
   OR (events.ts = 0 AND excluded.ts <> 0)
   OR (events.produced_at = 0 AND excluded.produced_at <> 0)
   OR (events.trace_id = '' AND excluded.trace_id <> '')
   OR (events.producer = '' AND excluded.producer <> '')
   OR (events.tombstone = 0 AND excluded.tombstone = 1)`

// events upserts the events and returns the ids of those it inserted or changed.
func (w *batchWriter) events(ctx context.Context, rows []lineagestore.Event) (eventIDs, error) {
	ids := make(eventIDs, len(rows))
	err := w.insertRows(ctx, "events",
		"INSERT INTO events (cluster, topic, part, off, key_hash, ts, produced_at, sort_at, trace_id, producer, tombstone, written_at)",
		eventUpsert+" RETURNING "+eventIDColumns, len(rows), 12,
		func(i int, args []any) []any {
			e := &rows[i]
			ts, pa := nanos(e.Timestamp), nanos(e.ProducedAt)
			sortAt := pa
			if sortAt == 0 {
				sortAt = ts
			}
			return append(args, e.Record.Cluster, e.Record.Topic, e.Record.Partition, e.Record.Offset,
				e.KeyHash, ts, pa, sortAt, e.TraceID, e.Producer, boolInt(e.Tombstone), w.now)
		},
		func(rs *sql.Rows) error { return scanEventID(rs, ids) })
	return ids, err
}

// eventIDColumns and scanEventID read an event's id with its coordinates.
const eventIDColumns = "id, cluster, topic, part, off"

func scanEventID(rs *sql.Rows, ids eventIDs) error {
	var id int64
	var r lineagestore.RecordID
	if err := rs.Scan(&id, &r.Cluster, &r.Topic, &r.Partition, &r.Offset); err != nil {
		return err
	}
	ids[r] = id
	return nil
}

// eventIDs completes ids (what the upsert returned) with the ids of the other events of rows: the
// stored ones the upsert left unchanged. They are found by their coordinates, the
// table's unique key: a join with their list, one probe of events_record per row (SQLite's CROSS
// JOIN keeps the list outside; otherwise it scans the whole index for a long list; PostgreSQL
// plans it freely and wants the list's types).
func (w *batchWriter) eventIDs(ctx context.Context, rows []lineagestore.Event, ids eventIDs) error {
	const row = "(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS TEXT))"
	var missing []lineagestore.RecordID
	for _, e := range rows {
		if _, ok := ids[e.Record]; !ok {
			missing = append(missing, e.Record)
		}
	}
	for start := 0; start < len(missing); start += inChunk {
		chunk := missing[start:min(start+inChunk, len(missing))]
		args := make([]any, 0, 4*len(chunk))
		for _, r := range chunk {
			args = append(args, r.Topic, r.Partition, r.Offset, r.Cluster)
		}
		rs, err := w.tx.QueryContext(ctx, w.s.d.bind(`SELECT `+eventIDColumns+` -- the list's columns are column1..4
			FROM (VALUES `+strings.TrimSuffix(strings.Repeat(row+",", len(chunk)), ",")+`) AS v
			CROSS JOIN events e WHERE e.topic = v.column1 AND e.part = v.column2 AND e.off = v.column3 AND e.cluster = v.column4`), args...)
		if err != nil {
			return fmt.Errorf("event ids: %w", err)
		}
		for rs.Next() {
			if err := scanEventID(rs, ids); err != nil {
				rs.Close()
				return fmt.Errorf("event ids: %w", err)
			}
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil {
			return fmt.Errorf("event ids: %w", err)
		}
	}
	if len(ids) != len(rows) {
		return fmt.Errorf("event ids: %d of %d events found after their upsert", len(ids), len(rows))
	}
	return nil
}

func (w *batchWriter) touchpoints(ctx context.Context, tps []lineagestore.Touchpoint, eventIDs []int64) error {
	return w.insertRows(ctx, "touchpoints",
		`INSERT INTO touchpoints (trace_id, span_id, event_id, parent_span_id, service, operation, kind, start_at, end_at,
			cluster_name, connector, state_store, store_operation, rule)`,
		"ON CONFLICT (event_id, trace_id, span_id) DO NOTHING", len(tps), 14,
		func(i int, args []any) []any {
			t := tps[i]
			return append(args, t.TraceID, t.SpanID, eventIDs[i], t.ParentSpanID, t.Service, t.Operation, t.Kind,
				nanos(t.Start), nanos(t.End), t.ClusterName, t.Connector, t.StateStore, t.StoreOperation, t.Rule)
		}, nil)
}

func (w *batchWriter) edges(ctx context.Context, rows []edgeRow) error {
	return w.insertRows(ctx, "edges", "INSERT INTO edges (from_id, to_id, rule, derivation, link, trace_id)",
		`ON CONFLICT (from_id, to_id) DO UPDATE SET
			rule = excluded.rule, derivation = excluded.derivation, link = excluded.link, trace_id = excluded.trace_id
		WHERE edges.derivation <> 'measured' AND excluded.derivation = 'measured'`,
		len(rows), 6,
		func(i int, args []any) []any {
			e := rows[i].e
			return append(args, rows[i].from, rows[i].to, e.Rule, e.Derivation, boolInt(e.Link), e.TraceID)
		}, nil)
}

// spanEvents returns the events each of the spans touched (stored touchpoints, this transaction's
// included).
func (w *batchWriter) spanEvents(ctx context.Context, spans []lineagestore.SpanRef) (map[lineagestore.SpanRef][]int64, error) {
	out := map[lineagestore.SpanRef][]int64{}
	want := map[lineagestore.SpanRef]bool{}
	var distinct []lineagestore.SpanRef
	for _, sp := range spans {
		if !want[sp] {
			want[sp] = true
			distinct = append(distinct, sp)
		}
	}
	for start := 0; start < len(distinct); start += inChunk {
		chunk := distinct[start:min(start+inChunk, len(distinct))]
		// trace IN (...) AND span IN (...) is a superset (the cross product); the index on
		// (trace_id, span_id) answers it and want filters it.
		traces, spanIDs := map[string]bool{}, map[string]bool{}
		var args []any
		for _, sp := range chunk {
			if !traces[sp.TraceID] {
				traces[sp.TraceID] = true
				args = append(args, sp.TraceID)
			}
		}
		nt := len(args)
		for _, sp := range chunk {
			if !spanIDs[sp.SpanID] {
				spanIDs[sp.SpanID] = true
				args = append(args, sp.SpanID)
			}
		}
		rows, err := w.tx.QueryContext(ctx, w.s.d.bind("SELECT trace_id, span_id, event_id FROM touchpoints WHERE trace_id IN ("+
			questionMarks(nt)+") AND span_id IN ("+questionMarks(len(args)-nt)+")"), args...)
		if err != nil {
			return nil, fmt.Errorf("resolve pending edges: %w", err)
		}
		for rows.Next() {
			var sp lineagestore.SpanRef
			var ev int64
			if err := rows.Scan(&sp.TraceID, &sp.SpanID, &ev); err != nil {
				rows.Close()
				return nil, fmt.Errorf("resolve pending edges: %w", err)
			}
			if want[sp] {
				out[sp] = append(out[sp], ev)
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("resolve pending edges: %w", err)
		}
	}
	return out, nil
}

// pendingEdges resolves the batch's pending edges against the touchpoints stored so far (this
// batch's included) and parks the rest.
func (w *batchWriter) pendingEdges(ctx context.Context, pending []lineagestore.PendingEdge, to []int64) error {
	if len(pending) == 0 {
		return nil
	}
	spans := make([]lineagestore.SpanRef, len(pending))
	for i, pe := range pending {
		spans[i] = pe.From
	}
	resolved, err := w.spanEvents(ctx, spans)
	if err != nil {
		return err
	}
	var edges []edgeRow
	var parked []int
	for i, pe := range pending {
		evs := resolved[pe.From]
		if len(evs) == 0 {
			parked = append(parked, i)
			continue
		}
		for _, from := range evs {
			edges = append(edges, edgeRow{from: from, to: to[i], e: pe.Edge})
		}
	}
	if err := w.edges(ctx, dedupeEdges(edges)); err != nil {
		return err
	}
	type pkey struct {
		sp lineagestore.SpanRef
		to int64
	}
	seen := map[pkey]bool{}
	rows := parked[:0]
	for _, i := range parked {
		k := pkey{pending[i].From, to[i]}
		if !seen[k] {
			seen[k] = true
			rows = append(rows, i)
		}
	}
	return w.insertRows(ctx, "pending edges",
		"INSERT INTO pending_edges (trace_id, span_id, to_id, rule, derivation, link, edge_trace_id, written_at)",
		"ON CONFLICT (trace_id, span_id, to_id) DO NOTHING", len(rows), 8,
		func(j int, args []any) []any {
			i := rows[j]
			e := pending[i].Edge
			return append(args, pending[i].From.TraceID, pending[i].From.SpanID, to[i], e.Rule, e.Derivation, boolInt(e.Link), e.TraceID, w.now)
		}, nil)
}

// resolveStoredPending turns the stored pending edges whose span this batch's touchpoints bring
// into edges.
func (w *batchWriter) resolveStoredPending(ctx context.Context, tps []lineagestore.Touchpoint) error {
	if len(tps) == 0 {
		return nil
	}
	var some int
	if err := w.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM pending_edges LIMIT 1) p").Scan(&some); err != nil {
		return fmt.Errorf("pending edges: %w", err)
	}
	if some == 0 {
		return nil
	}
	type parked struct {
		sp lineagestore.SpanRef
		to int64
		e  lineagestore.Edge
	}
	var found []parked
	// The batch's spans, looked up by their traces (the pending table's key prefix).
	spans := map[lineagestore.SpanRef]bool{}
	traceSet := map[string]bool{}
	var traces []any
	for _, t := range tps {
		spans[lineagestore.SpanRef{TraceID: t.TraceID, SpanID: t.SpanID}] = true
		if !traceSet[t.TraceID] {
			traceSet[t.TraceID] = true
			traces = append(traces, t.TraceID)
		}
	}
	for start := 0; start < len(traces); start += inChunk {
		chunk := traces[start:min(start+inChunk, len(traces))]
		rows, err := w.tx.QueryContext(ctx, w.s.d.bind(
			"SELECT trace_id, span_id, to_id, rule, derivation, link, edge_trace_id FROM pending_edges WHERE trace_id IN ("+
				questionMarks(len(chunk))+")"), chunk...)
		if err != nil {
			return fmt.Errorf("pending edges: %w", err)
		}
		for rows.Next() {
			var p parked
			var link int
			if err := rows.Scan(&p.sp.TraceID, &p.sp.SpanID, &p.to, &p.e.Rule, &p.e.Derivation, &link, &p.e.TraceID); err != nil {
				rows.Close()
				return fmt.Errorf("pending edges: %w", err)
			}
			p.e.Link = link == 1
			if spans[p.sp] {
				found = append(found, p)
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("pending edges: %w", err)
		}
	}
	if len(found) == 0 {
		return nil
	}
	refs := make([]lineagestore.SpanRef, len(found))
	for i, p := range found {
		refs[i] = p.sp
	}
	resolved, err := w.spanEvents(ctx, refs)
	if err != nil {
		return err
	}
	var edges []edgeRow
	del, err := w.tx.PrepareContext(ctx, w.s.d.bind("DELETE FROM pending_edges WHERE trace_id = ? AND span_id = ? AND to_id = ?"))
	if err != nil {
		return fmt.Errorf("pending edges: %w", err)
	}
	defer del.Close()
	for _, p := range found {
		evs := resolved[p.sp]
		if len(evs) == 0 {
			continue // same span id, other trace
		}
		for _, from := range evs {
			edges = append(edges, edgeRow{from: from, to: p.to, e: p.e})
		}
		if _, err := del.ExecContext(ctx, p.sp.TraceID, p.sp.SpanID, p.to); err != nil {
			return fmt.Errorf("pending edges: resolve: %w", err)
		}
	}
	return w.edges(ctx, dedupeEdges(edges))
}

// dedupeEdges keeps one row per (from, to) by the edges' merge rule, and no self-edge: a record
// derived from itself says nothing about its lineage and would make it no origin. A self-edge
// arises where a pending edge's span touched its own output record (a span that read and wrote
// the same record); the pending edge is resolved all the same, it has no other input.
func dedupeEdges(rows []edgeRow) []edgeRow {
	idx := map[[2]int64]int{}
	out := rows[:0]
	for _, r := range rows {
		if r.from == r.to {
			continue
		}
		k := [2]int64{r.from, r.to}
		if j, ok := idx[k]; ok {
			if replacesEdge(out[j].e, r.e) {
				out[j].e = r.e
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, r)
	}
	return out
}
