package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"math"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Rule names of the rules that read record facts.
const (
	ruleRecordHeader     = "record_header"
	ruleRecordKey        = "record_key"
	ruleRecordTimestamp  = "record_timestamp"
	ruleStoreDelete      = "store_delete"
	ruleRecordContext    = "record_context"
	ruleWindowEmit       = "window_emit"
	rulePunctuationDrain = "punctuation_drain"
)

// contributing is implemented by rules whose edge has more causes than the parent: the others
// become span links (fan-in).
type contributing interface {
	Contributors(idx *coordIndex, s, parent *spanInfo) []*spanInfo
}

// noEvidence is what a rule returns when it applies but can never decide s: it waits on nothing.
func noEvidence() (*spanInfo, resolveStatus, []wakeKey) { return nil, statusWait, nil }

// processOf returns the Streams process span of the record at c in service, or nil.
func processOf(idx *coordIndex, c coordinate, service string) *spanInfo {
	for _, q := range idx.consumersAt(c) {
		if q.service == service && q.kind == ptrace.SpanKindConsumer {
			return q
		}
	}
	return nil
}

// recordHeaderRule (`record_header`): a root PRODUCER span R on a Kafka Streams thread whose
// record carries a traceparent naming a producer span X at another coordinate k_in (the context
// Kafka Streams forwarded from the last input record, kept when the Streams JVM runs with
// producer-propagation disabled) was caused by the process span of k_in in R's service. Like
// streams_forwarded_header, but read from the record itself: no downstream consumer is needed.
type recordHeaderRule struct{}

func (recordHeaderRule) Name() string { return ruleRecordHeader }

func (recordHeaderRule) Applies(s *spanInfo) bool { return isStreamsRootProducer(s) }

func (recordHeaderRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	f, ok := idx.factAt(s.coord)
	if !ok {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	if f.header.span.IsEmpty() || f.header == s.key() {
		return nil, statusWait, wake // no forwarded context (or the agent's own, with propagation on)
	}
	kin, ok := idx.producerCoord(f.header)
	if !ok {
		return nil, statusWait, append(wake, spanWake(f.header))
	}
	if kin == s.coord {
		return nil, statusWait, wake
	}
	if q := processOf(idx, kin, s.service); q != nil {
		return q, statusFound, nil
	}
	return nil, statusWait, append(wake, coordWake(kin))
}

// maxTimestampScan bounds how far back record_key looks for a same-key input with the output's
// timestamp before settling for the latest same-key input.
const maxTimestampScan = 64

// recordKeyRule (`record_key`): a root PRODUCER span R on a Kafka Streams thread (cache flush,
// changelog write at commit) whose record has key hash H was caused by the latest Streams process
// span of R's service and thread whose input record has key H and that ended before R started —
// preferring, among those, the latest one whose input has R's timestamp (Kafka Streams forwards a
// flushed entry with the record context of its last update, so when two input topics share keys,
// the timestamp tells which one updated the entry). Its fan-in contributors are the other inputs
// with key H since R's topic was last written on that thread.
type recordKeyRule struct{}

func (recordKeyRule) Name() string { return ruleRecordKey }

func (recordKeyRule) Applies(s *spanInfo) bool { return isStreamsRootProducer(s) }

func (recordKeyRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	f, ok := idx.factAt(s.coord)
	if !ok {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	if f.keyHash == "" {
		return nil, statusWait, wake
	}
	k := hashKey{s.service, s.thread, f.keyHash}
	list := idx.facts.byHash[k]
	i := sort.Search(len(list), func(i int) bool { return list[i].end > s.start }) - 1
	if i < 0 {
		return nil, statusWait, append(wake, hashWake(k))
	}
	for j := i; j >= 0 && j > i-maxTimestampScan; j-- {
		if idx.facts.filed[list[j]].timestamp == f.timestamp {
			return list[j], statusFound, nil
		}
	}
	return list[i], statusFound, nil
}

func (recordKeyRule) Contributors(idx *coordIndex, s, parent *spanInfo) []*spanInfo {
	f, ok := idx.factAt(s.coord)
	if !ok || f.keyHash == "" || !parent.hasCoord {
		return nil
	}
	lb := previousRootOfTopic(idx, s, parent.start)
	var out []*spanInfo
	for _, c := range idx.facts.byHash[hashKey{s.service, s.thread, f.keyHash}] {
		if c != parent && c.key() != parent.key() && c.coord.topic == parent.coord.topic && c.start > lb && c.end <= s.start {
			out = append(out, c)
		}
	}
	return out
}

// previousRootOfTopic returns the start of the latest root of r's topic on r's thread that
// started before t (the key's previous emission bounds its fan-in), or 0.
func previousRootOfTopic(idx *coordIndex, r *spanInfo, t pcommon.Timestamp) pcommon.Timestamp {
	roots := idx.rootsOf(threadKeyOf(r))
	for i := sort.Search(len(roots), func(i int) bool { return roots[i].start >= t }) - 1; i >= 0; i-- {
		if roots[i].coord.topic == r.coord.topic {
			return roots[i].start
		}
	}
	return 0
}

// recordTimestampRule (`record_timestamp`): Kafka Streams gives a record it forwards the
// timestamp of the input that caused it, and keeps that record context with buffered values.
//   - A root PRODUCER span R on a Streams thread whose key matches no input (windowed or re-keyed
//     stores) was caused by the latest process span of its thread that ended before R started and
//     whose input record has R's timestamp.
//   - A NON-root Streams send S to an output topic whose timestamp differs from its parent process
//     span's input was emitted on behalf of another record (suppress(), emit-final windows,
//     outer-join and eviction emissions): its cause is the latest process span of the thread with
//     S's timestamp. Its fan-in contributors are the other inputs with S's key whose timestamps lie
//     between the previous emission of that key to S's topic (exclusive) and S's (inclusive): a
//     window's records.
type recordTimestampRule struct{}

func (recordTimestampRule) Name() string { return ruleRecordTimestamp }

func (recordTimestampRule) Applies(s *spanInfo) bool {
	return isStreamsRootProducer(s) || isStreamsChildOutput(s)
}

// isStreamsChildOutput: a non-root producer span to an output (not changelog) topic on a Kafka
// Streams thread.
func isStreamsChildOutput(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindProducer && !s.isRoot() && s.hasCoord && isStreamThread(s.thread) && !isChangelog(s.coord.topic)
}

func (recordTimestampRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	f, ok := idx.factAt(s.coord)
	if !ok {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	k := tsKey{s.service, s.thread, f.timestamp}
	list := idx.facts.byTS[k]
	n := sort.Search(len(list), func(i int) bool { return list[i].end > s.start }) // candidates: list[:n]
	if s.isRoot() {
		// A repartitioned copy of an input keeps its timestamp: the earliest candidate is the
		// original input, an ancestor of every other candidate.
		if n > 0 {
			return list[0], statusFound, nil
		}
		return nil, statusWait, append(wake, tsWake(k))
	}
	pk := spanKey{s.traceID, s.parentID}
	pw := idx.consumerBySpanKey(pk)
	if pw == nil {
		return nil, statusWait, append(wake, spanWake(pk))
	}
	if !pw.hasCoord || pw.service != s.service {
		return nil, statusWait, wake
	}
	pf, ok := idx.factAt(pw.coord)
	if !ok {
		return nil, statusWait, append(wake, coordWake(pw.coord))
	}
	if pf.timestamp == f.timestamp {
		return nil, statusKeep, nil
	}
	// The emission happened in pw's sub-topology: its cause was read from the same topic.
	for i := n - 1; i >= 0; i-- {
		if list[i].coord.topic == pw.coord.topic {
			return list[i], statusFound, nil
		}
	}
	return nil, statusWait, append(wake, tsWake(k))
}

func (recordTimestampRule) Contributors(idx *coordIndex, s, parent *spanInfo) []*spanInfo {
	if s.isRoot() {
		return nil
	}
	f, ok := idx.factAt(s.coord)
	if !ok {
		return nil
	}
	lb := int64(math.MinInt64)
	if f.keyHash != "" {
		prev := idx.facts.writes[writeKey{s.coord.cluster, s.coord.topic, s.coord.partition, f.keyHash}]
		if i := sort.Search(len(prev), func(i int) bool { return prev[i].coord.offset >= s.coord.offset }) - 1; i >= 0 {
			lb = idx.facts.filed[prev[i]].timestamp
		}
	}
	return entryUpdaters(idx, parent, lb, f.timestamp, s.start)
}

// entryUpdaters returns the other process spans that updated the store entries the process span
// q updated — the parents of the writes with the same key to the same changelog partition as
// q's own changelog writes (uncached stores log inside the process span) — whose inputs have
// timestamps in (after, upTo] and that ended by end. These are the records folded into an entry:
// a window's records, not merely records with the same key (a filter before the store is invisible
// to key and time alone).
func entryUpdaters(idx *coordIndex, q *spanInfo, after, upTo int64, end pcommon.Timestamp) []*spanInfo {
	var out []*spanInfo
	seen := map[spanKey]bool{q.key(): true}
	for _, w := range idx.facts.children[q.key()] {
		wf, ok := idx.facts.filed[w]
		if !ok || wf.keyHash == "" {
			continue
		}
		for _, o := range idx.facts.writes[writeKey{w.coord.cluster, w.coord.topic, w.coord.partition, wf.keyHash}] {
			c := idx.consumerBySpanKey(spanKey{o.traceID, o.parentID})
			if c == nil || seen[c.key()] || !c.hasCoord || c.end > end {
				continue
			}
			cf, ok := idx.facts.filed[c]
			if !ok || cf.timestamp <= after || cf.timestamp > upTo {
				continue
			}
			seen[c.key()] = true
			out = append(out, c)
		}
	}
	return out
}

// recordContextRule (`record_context`): a root changelog write on a Kafka Streams thread whose
// value carries the record context Kafka Streams buffered it with (suppress buffers, flushed at
// commit with the commit time as timestamp) was caused by the process span of that input record.
// Its fan-in contributors are the other records folded into the buffered entry since the entry's
// previous write (contextUpdaters).
type recordContextRule struct{}

func (recordContextRule) Name() string { return ruleRecordContext }

func (recordContextRule) Applies(s *spanInfo) bool {
	return isStreamsRootProducer(s) && isChangelog(s.coord.topic)
}

func (recordContextRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	f, ok := idx.factAt(s.coord)
	if !ok {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	if !f.hasCtx {
		return nil, statusWait, wake
	}
	if q := processOf(idx, f.ctx, s.service); q != nil {
		return q, statusFound, nil
	}
	return nil, statusWait, append(wake, coordWake(f.ctx))
}

func (recordContextRule) Contributors(idx *coordIndex, s, parent *spanInfo) []*spanInfo {
	return contextUpdaters(idx, s, parent)
}

// contextUpdaters returns, for a buffered write w caused by q, the other records folded into the
// entry since its previous buffered write: the updaters of q's store entries (entryUpdaters) with
// input timestamps after the previous write's record context.
func contextUpdaters(idx *coordIndex, w, q *spanInfo) []*spanInfo {
	f, ok := idx.factAt(w.coord)
	if !ok || !f.hasCtx {
		return nil
	}
	after := int64(math.MinInt64)
	if f.keyHash != "" {
		prev := idx.facts.writes[writeKey{w.coord.cluster, w.coord.topic, w.coord.partition, f.keyHash}]
		for i := sort.Search(len(prev), func(i int) bool { return prev[i].coord.offset >= w.coord.offset }) - 1; i >= 0; i-- {
			pf := idx.facts.filed[prev[i]]
			if pf.tombstone {
				break // the entry was deleted: w starts a new one
			}
			if pf.hasCtx {
				after = pf.ctxTS
				break
			}
		}
	}
	return entryUpdaters(idx, q, after, f.ctxTS, w.start)
}

// entryWrites returns the writes of the store entry a changelog tombstone d deletes, latest first:
// the non-tombstone writes of d's key to d's partition since the entry's previous deletion.
func entryWrites(idx *coordIndex, d *spanInfo) ([]*spanInfo, resolveStatus, []wakeKey) {
	f, ok := idx.factAt(d.coord)
	if !ok {
		return nil, statusWait, []wakeKey{coordWake(d.coord)}
	}
	if !f.tombstone || f.keyHash == "" {
		return nil, statusWait, nil
	}
	wk := writeKey{d.coord.cluster, d.coord.topic, d.coord.partition, f.keyHash}
	writes := idx.facts.writes[wk]
	var out []*spanInfo
	for i := sort.Search(len(writes), func(i int) bool { return writes[i].coord.offset >= d.coord.offset }) - 1; i >= 0; i-- {
		if idx.facts.filed[writes[i]].tombstone {
			break
		}
		out = append(out, writes[i])
	}
	if len(out) == 0 {
		return nil, statusWait, []wakeKey{writeWake(wk)}
	}
	return out, statusFound, nil
}

// writeCause returns the process span that caused a changelog write: its parent, or the parent a
// rule recovered for a root write.
func writeCause(idx *coordIndex, w *spanInfo) (*spanInfo, resolveStatus, []wakeKey) {
	if w.isRoot() {
		if p := idx.edgeOf(w.key()); p != nil {
			return p, statusFound, nil
		}
		return nil, statusWait, []wakeKey{edgeWake(w.key())}
	}
	pk := spanKey{w.traceID, w.parentID}
	if p := idx.consumerBySpanKey(pk); p != nil {
		return p, statusFound, nil
	}
	return nil, statusWait, []wakeKey{spanWake(pk)}
}

// deleteCause returns the cause of a changelog tombstone d: the update that made the latest write
// of the entry it deletes.
func deleteCause(idx *coordIndex, d *spanInfo) (*spanInfo, resolveStatus, []wakeKey) {
	ws, st, wake := entryWrites(idx, d)
	if st != statusFound {
		return nil, st, wake
	}
	return writeCause(idx, ws[0])
}

// storeDeleteRule (`store_delete`): a root changelog tombstone on a Kafka Streams thread (a
// punctuator or an emit deleting a store entry) belongs to the update that made the entry's
// latest write: its parent is deleteCause's process span, and it becomes that trace's `<store>
// state-store delete` operation. The causes of the entry's earlier writes (and the records folded
// into buffered writes) are its fan-in contributors.
type storeDeleteRule struct{}

func (storeDeleteRule) Name() string { return ruleStoreDelete }

func (storeDeleteRule) Applies(s *spanInfo) bool {
	return isStreamsRootProducer(s) && isChangelog(s.coord.topic)
}

func (storeDeleteRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	p, st, w := deleteCause(idx, s)
	return p, st, append(wake, w...)
}

func (storeDeleteRule) Contributors(idx *coordIndex, s, parent *spanInfo) []*spanInfo {
	ws, st, _ := entryWrites(idx, s)
	if st != statusFound {
		return nil
	}
	var out []*spanInfo
	seen := map[spanKey]bool{parent.key(): true}
	add := func(c *spanInfo) {
		if !seen[c.key()] {
			seen[c.key()] = true
			out = append(out, c)
		}
	}
	for _, w := range ws {
		c, st, _ := writeCause(idx, w)
		if st != statusFound {
			continue
		}
		add(c)
		for _, u := range contextUpdaters(idx, w, c) {
			add(u)
		}
	}
	return out
}

// windowEmitRule (`window_emit`): a root changelog tombstone on a Kafka Streams thread that
// deletes no earlier write (a suppress buffer entry emitted before any commit flushed it) and
// whose key is a windowed key: the window result of that key and window — the emission
// (isEmission) of the record key on the thread before the tombstone whose timestamp falls in the
// window — emptied the entry. The tombstone belongs to that result's
// cause (its recovered or original parent), with the window's other records as fan-in.
type windowEmitRule struct{}

func (windowEmitRule) Name() string { return ruleWindowEmit }

func (windowEmitRule) Applies(s *spanInfo) bool {
	return isStreamsRootProducer(s) && isChangelog(s.coord.topic)
}

func (r windowEmitRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	e, st, w := r.emission(idx, s)
	if st != statusFound {
		return nil, st, append(wake, w...)
	}
	if p := idx.edgeOf(e.key()); p != nil {
		return p, statusFound, nil
	}
	// An emission is re-parented to its window's last record by record_timestamp (or
	// streams_misparented): its current parent is the record that closed the window. Only when
	// nothing will decide it any more does that parent stand in.
	if idx.lastChance {
		if p := idx.consumerBySpanKey(spanKey{e.traceID, e.parentID}); p != nil {
			return p, statusFound, nil
		}
	}
	return nil, statusWait, append(wake, edgeWake(e.key()))
}

func (r windowEmitRule) Contributors(idx *coordIndex, s, parent *spanInfo) []*spanInfo {
	e, st, _ := r.emission(idx, s)
	if st != statusFound {
		return nil
	}
	return recordTimestampRule{}.Contributors(idx, e, parent)
}

// emission returns the window result whose emission the tombstone s records.
func (windowEmitRule) emission(idx *coordIndex, s *spanInfo) (*spanInfo, resolveStatus, []wakeKey) {
	f, ok := idx.factAt(s.coord)
	if !ok {
		return nil, statusWait, []wakeKey{coordWake(s.coord)}
	}
	if !f.tombstone || f.unwindowedHash == "" {
		return noEvidence()
	}
	if _, st, _ := entryWrites(idx, s); st == statusFound {
		return noEvidence() // it deletes a written entry: store_delete's
	}
	// Of the key's emissions before the tombstone, the result of the tombstone's window is the
	// earliest whose timestamp (the window's last record) is at or after the window start: the
	// results of earlier windows are older than that start, those of later windows newer.
	k := hashKey{s.service, s.thread, f.unwindowedHash}
	sends := idx.facts.sends[k]
	var best *spanInfo
	var bestTS int64
	for _, e := range sends[:sort.Search(len(sends), func(i int) bool { return sends[i].start >= s.start })] {
		ts := idx.facts.filed[e].timestamp
		if ts >= f.windowStart && (best == nil || ts < bestTS) && isEmission(idx, e) {
			best, bestTS = e, ts
		}
	}
	if best != nil {
		return best, statusFound, nil
	}
	return nil, statusWait, []wakeKey{sendWake(k)}
}

// isEmission reports whether a Streams send e was emitted on behalf of another record than the
// one being processed (a window result, as record_timestamp finds them): a non-root send whose
// timestamp differs from its parent process span's input.
func isEmission(idx *coordIndex, e *spanInfo) bool {
	if e.isRoot() {
		return false
	}
	p := idx.consumerBySpanKey(spanKey{e.traceID, e.parentID})
	if p == nil || !p.hasCoord {
		return false
	}
	pf, ok1 := idx.factAt(p.coord)
	ef, ok2 := idx.factAt(e.coord)
	return ok1 && ok2 && pf.timestamp != ef.timestamp
}

// punctuationDrainRule (`punctuation_drain`): a root PRODUCER span R to an output topic on a Kafka
// Streams thread, followed on that thread (each within window of the previous) by changelog
// tombstones, is a punctuator that forwarded a summary of store entries and deleted them. The
// entries' updates caused R: the latest of them is its parent, the others are fan-in links.
type punctuationDrainRule struct{ window time.Duration }

func (punctuationDrainRule) Name() string { return rulePunctuationDrain }

func (punctuationDrainRule) Applies(s *spanInfo) bool {
	return isStreamsRootProducer(s) && !isChangelog(s.coord.topic)
}

func (r punctuationDrainRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	causes, st, w := r.causes(idx, s)
	if st != statusFound {
		return nil, st, append(wake, w...)
	}
	latest := causes[0]
	for _, c := range causes[1:] {
		if c.end > latest.end {
			latest = c
		}
	}
	return latest, statusFound, nil
}

func (r punctuationDrainRule) Contributors(idx *coordIndex, s, parent *spanInfo) []*spanInfo {
	causes, st, _ := r.causes(idx, s)
	if st != statusFound {
		return nil
	}
	var out []*spanInfo
	seen := map[spanKey]bool{parent.key(): true}
	for _, c := range causes {
		if !seen[c.key()] {
			seen[c.key()] = true
			out = append(out, c)
		}
	}
	return out
}

// causes returns the causes of the tombstones that follow s on its thread. It waits while the
// burst may be incomplete: a following root's fact is unknown, or nothing later than window after
// the last tombstone has been seen on the thread yet (unless it is the unit's last chance).
func (r punctuationDrainRule) causes(idx *coordIndex, s *spanInfo) ([]*spanInfo, resolveStatus, []wakeKey) {
	tk := threadKeyOf(s)
	roots := idx.rootsOf(tk)
	i := sort.Search(len(roots), func(i int) bool { return roots[i].start >= s.start })
	for i < len(roots) && roots[i].key() != s.key() {
		i++
	}
	window := pcommon.Timestamp(r.window.Nanoseconds())
	prev := s
	var deletes []*spanInfo
	complete := false
	for j := i + 1; j < len(roots); j++ {
		d := roots[j]
		if d.start > prev.start+window || !isChangelog(d.coord.topic) {
			complete = true
			break
		}
		f, ok := idx.factAt(d.coord)
		if !ok {
			return nil, statusWait, []wakeKey{coordWake(d.coord)}
		}
		if !f.tombstone {
			complete = true
			break
		}
		deletes = append(deletes, d)
		prev = d
	}
	if !complete && !idx.lastChance && idx.facts.lastStart[tk] <= prev.start+window {
		return nil, statusWait, []wakeKey{movedWake(tk)}
	}
	if len(deletes) == 0 {
		return nil, statusWait, nil
	}
	causes := make([]*spanInfo, 0, len(deletes))
	for _, d := range deletes {
		c, st, wake := deleteCause(idx, d)
		if st != statusFound {
			return nil, st, wake
		}
		causes = append(causes, c)
	}
	return causes, statusFound, nil
}

// ruleTableJoin names the links to the table record behind a declared stream-table join's output.
const ruleTableJoin = "table_join"

// derivedFromConfig marks a link that rests on the configuration (table_joins), not on telemetry.
const derivedFromConfig = "configuration"

// tableJoins indexes the declared joins by (service, output topic) -> table topics.
type tableJoins map[[2]string][]string

func newTableJoins(js []TableJoin) tableJoins {
	t := tableJoins{}
	for _, j := range js {
		for _, o := range j.Outputs {
			k := [2]string{j.Service, o}
			t[k] = append(t[k], j.Table)
		}
	}
	return t
}

// tableRecords returns, for a send s to a declared join output, the process spans of the table
// records the join read: per table topic, the latest process span of s's service and thread whose
// input has s's key and that ended before s started (a KTable's update is processed by the task,
// so the thread, that also processes the stream's records of that key).
func (t tableJoins) tableRecords(idx *coordIndex, s *spanInfo) []*spanInfo {
	if len(t) == 0 || s.kind != ptrace.SpanKindProducer || !s.hasCoord {
		return nil
	}
	tables := t[[2]string{s.service, s.coord.topic}]
	if len(tables) == 0 {
		return nil
	}
	f, ok := idx.factAt(s.coord)
	if !ok || f.keyHash == "" {
		return nil
	}
	list := idx.facts.byHash[hashKey{s.service, s.thread, f.keyHash}]
	var out []*spanInfo
	for _, table := range tables {
		for i := sort.Search(len(list), func(i int) bool { return list[i].end > s.start }) - 1; i >= 0; i-- {
			if list[i].coord.topic == table {
				out = append(out, list[i])
				break
			}
		}
	}
	return out
}
