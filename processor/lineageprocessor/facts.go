package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/eventlineage/lineage/internal/recordfact"
)

// Record facts (receiver kafka_records, docs: internal/recordfact) say what spans cannot: the
// key, the timestamp, the tombstone flag and the trace context header of the record at a
// coordinate. Spans and facts meet in the coordinate index; the record_* rules read them.

// fact is what the rules keep of a record fact.
type fact struct {
	keyHash   string // "" for a null key
	tombstone bool
	timestamp int64   // ms since the epoch
	header    spanKey // the record's traceparent; zero when it has none
	// the record context of a Kafka Streams suppress buffer value (same cluster as the record)
	ctx    coordinate
	ctxTS  int64
	hasCtx bool
	// the key hash of a windowed changelog key's record key, and its window start
	unwindowedHash string
	windowStart    int64
}

// hashKey names the Streams process spans of one thread whose input record has one key hash;
// tsKey those whose input record has one timestamp; writeKey the writes of one key to one
// partition.
type (
	hashKey struct{ service, thread, keyHash string }
	tsKey   struct {
		service, thread string
		ts              int64
	}
	writeKey struct {
		cluster, topic string
		partition      int32
		keyHash        string
	}
)

// Wake keys of the facts indexes, in the index's tagged-union form: a (service, thread) pair in
// the coordinate's cluster and topic, the key hash in str.
func hashWake(k hashKey) wakeKey {
	return wakeKey{kind: wakeHash, c: coordinate{cluster: k.service, topic: k.thread}, str: k.keyHash}
}

func sendWake(k hashKey) wakeKey {
	return wakeKey{kind: wakeSend, c: coordinate{cluster: k.service, topic: k.thread}, str: k.keyHash}
}

func tsWake(k tsKey) wakeKey {
	return wakeKey{kind: wakeTS, c: coordinate{cluster: k.service, topic: k.thread, offset: k.ts}}
}

func writeWake(k writeKey) wakeKey {
	return wakeKey{kind: wakeWrite, c: coordinate{cluster: k.cluster, topic: k.topic, partition: k.partition}, str: k.keyHash}
}

func movedWake(k threadKey) wakeKey {
	return wakeKey{kind: wakeMoved, c: coordinate{cluster: k.service, topic: k.thread}}
}

// factIndex joins facts with the indexed spans of their coordinates. Its lists hold the same
// *spanInfo values as coordIndex and are pruned when coordIndex forgets a span.
type factIndex struct {
	facts *expiringMap[coordinate, fact]
	// Streams process spans by the key hash / timestamp of their input record, in end order
	byHash map[hashKey][]*spanInfo
	byTS   map[tsKey][]*spanInfo
	// producer spans by the key their record was written with, in offset order
	writes map[writeKey][]*spanInfo
	// Kafka Streams sends to output topics by thread and key hash, in start order
	sends map[hashKey][]*spanInfo
	// what a span was filed under, to unfile it when it expires
	filed map[*spanInfo]fact
	// changelog writes made inside a process span (uncached stores), by the process span
	children map[spanKey][]*spanInfo
	// records by the producer span their traceparent header names, and cluster ids by name
	byHeader   *expiringMap[spanKey, []coordinate]
	clusterIDs map[string]string
	// the latest start of an indexed span per Kafka Streams thread: how far the thread has got
	lastStart map[threadKey]pcommon.Timestamp
}

func newFactIndex(ttl time.Duration, maxEntries int) *factIndex {
	return &factIndex{
		facts:  newExpiringMap[coordinate, fact](ttl, maxEntries),
		byHash: map[hashKey][]*spanInfo{},
		byTS:   map[tsKey][]*spanInfo{},
		writes: map[writeKey][]*spanInfo{},
		sends:  map[hashKey][]*spanInfo{},
		filed:  map[*spanInfo]fact{},

		children: map[spanKey][]*spanInfo{},

		lastStart:  map[threadKey]pcommon.Timestamp{},
		byHeader:   newExpiringMap[spanKey, []coordinate](ttl, maxEntries),
		clusterIDs: map[string]string{},
	}
}

// maxHeaderRecords bounds the records indexed under one traceparent (a context forwarded to
// many records: a fan-out, copies across clusters).
const maxHeaderRecords = 64

// recordOfLink returns the producer span of the record a Connect sink batch's link stands for.
// The agent links a batch to the traceparent of each record it read: the record's own producer
// span when the producer injected it, else an upstream context the record merely carries
// (copied by MirrorMaker 2 or forwarded by Kafka Streams with producer propagation disabled). In
// the latter case the record is the one in the worker's cluster that carries that header and was
// not produced by the linked span.
func recordOfLink(idx *coordIndex, l spanKey, cluster string) (*spanInfo, bool) {
	if id := idx.facts.clusterIDs[cluster]; id != "" {
		cluster = id
	}
	var found *spanInfo
	cs, _ := idx.facts.byHeader.get(l, idx.now)
	for _, c := range cs {
		if c.cluster != cluster {
			continue
		}
		if _, ok := idx.factAt(c); !ok {
			continue
		}
		if p := idx.producer(c); p != nil && p.key() != l && (found == nil || p.coord.offset > found.coord.offset) {
			found = p
		}
	}
	if found != nil {
		return found, true
	}
	if c, ok := idx.producerCoord(l); ok {
		return idx.producer(c), true
	}
	return nil, false
}

// factsSeen reports whether record facts are flowing into the index (a kafka_records receiver
// feeds the processor).
func (ix *coordIndex) factsSeen() bool { return ix.facts.facts.len() > 0 }

// factAt returns the fact of the record at c.
func (ix *coordIndex) factAt(c coordinate) (fact, bool) {
	return ix.facts.facts.get(c, ix.now)
}

// isFactSubject: the spans the record_* rules look up by their record's fact: producer spans,
// and the process spans of Kafka Streams threads and Kafka Connect task threads (MirrorMaker 2).
func isFactSubject(s *spanInfo) bool {
	return s.hasCoord && (s.kind == ptrace.SpanKindProducer || isStreamThread(s.thread) || isTaskThread(s.thread))
}

// addFact indexes a fact and files the spans already indexed at its coordinate.
func (ix *coordIndex) addFact(c coordinate, f fact, now time.Time, touch func(wakeKey)) {
	fx := ix.facts
	if _, dup := fx.facts.get(c, now); dup {
		return // re-read after a receiver restart: the first is as good
	}
	ix.now = now
	fx.facts.set(c, f, now)
	if !f.header.span.IsEmpty() {
		if l, _ := fx.byHeader.get(f.header, now); len(l) < maxHeaderRecords {
			fx.byHeader.set(f.header, append(l, c), now)
		}
	}
	if p := ix.producer(c); p != nil {
		ix.file(p, f, touch)
	}
	for _, s := range ix.consumersAt(c) {
		ix.file(s, f, touch)
	}
	touch(coordWake(c))
}

// fileSpan files a newly indexed span under its record's fact, when known, and notes how far its
// Kafka Streams thread has got.
func (ix *coordIndex) fileSpan(s *spanInfo, now time.Time, touch func(wakeKey)) {
	if isStreamThread(s.thread) {
		if tk := threadKeyOf(s); s.start > ix.facts.lastStart[tk] {
			ix.facts.lastStart[tk] = s.start // bounded by the number of threads
			touch(movedWake(tk))
		}
	}
	if !isFactSubject(s) {
		return
	}
	if f, ok := ix.facts.facts.get(s.coord, now); ok {
		ix.file(s, f, touch)
	}
}

func (ix *coordIndex) file(s *spanInfo, f fact, touch func(wakeKey)) {
	fx := ix.facts
	if _, done := fx.filed[s]; done || !isFactSubject(s) {
		return
	}
	fx.filed[s] = f
	byEnd := func(a, b *spanInfo) bool { return a.end < b.end }
	switch s.kind {
	case ptrace.SpanKindConsumer:
		if f.keyHash != "" {
			k := hashKey{s.service, s.thread, f.keyHash}
			fx.byHash[k], _ = insertSorted(fx.byHash[k], s, byEnd)
			touch(hashWake(k))
		}
		k := tsKey{s.service, s.thread, f.timestamp}
		fx.byTS[k], _ = insertSorted(fx.byTS[k], s, byEnd)
		touch(tsWake(k))
	case ptrace.SpanKindProducer:
		if f.keyHash != "" {
			k := writeKey{s.coord.cluster, s.coord.topic, s.coord.partition, f.keyHash}
			fx.writes[k], _ = insertSorted(fx.writes[k], s, func(a, b *spanInfo) bool { return a.coord.offset < b.coord.offset })
			touch(writeWake(k))
		}
		if !s.isRoot() && isChangelog(s.coord.topic) {
			pk := spanKey{s.traceID, s.parentID}
			fx.children[pk] = append(fx.children[pk], s)
		}
		if f.keyHash != "" && isStreamThread(s.thread) && !isChangelog(s.coord.topic) {
			k := hashKey{s.service, s.thread, f.keyHash}
			fx.sends[k], _ = insertSorted(fx.sends[k], s, func(a, b *spanInfo) bool { return a.start < b.start })
			touch(sendWake(k))
		}
	}
}

// unfile forgets a span coordIndex no longer holds.
func (ix *coordIndex) unfile(s *spanInfo) {
	fx := ix.facts
	f, ok := fx.filed[s]
	if !ok {
		return
	}
	delete(fx.filed, s)
	prune := func(m map[hashKey][]*spanInfo, k hashKey) {
		if l, _ := removeInfo(m[k], s); len(l) == 0 {
			delete(m, k)
		} else {
			m[k] = l
		}
	}
	switch s.kind {
	case ptrace.SpanKindConsumer:
		if f.keyHash != "" {
			prune(fx.byHash, hashKey{s.service, s.thread, f.keyHash})
		}
		k := tsKey{s.service, s.thread, f.timestamp}
		if l, _ := removeInfo(fx.byTS[k], s); len(l) == 0 {
			delete(fx.byTS, k)
		} else {
			fx.byTS[k] = l
		}
	case ptrace.SpanKindProducer:
		k := writeKey{s.coord.cluster, s.coord.topic, s.coord.partition, f.keyHash}
		if l, _ := removeInfo(fx.writes[k], s); len(l) == 0 {
			delete(fx.writes, k)
		} else {
			fx.writes[k] = l
		}
		if !s.isRoot() && isChangelog(s.coord.topic) {
			pk := spanKey{s.traceID, s.parentID}
			if l, _ := removeInfo(fx.children[pk], s); len(l) == 0 {
				delete(fx.children, pk)
			} else {
				fx.children[pk] = l
			}
		}
		if f.keyHash != "" && isStreamThread(s.thread) && !isChangelog(s.coord.topic) {
			prune(fx.sends, hashKey{s.service, s.thread, f.keyHash})
		}
	}
}

// factCoordinate is the coordinate of a fact in the same cluster naming as the spans': the
// cluster id when the receiver knows it (the agent's messaging.kafka.cluster.id), else its name.
func factCoordinate(f *recordfact.Fact) coordinate {
	c := coordinate{cluster: f.ClusterName, topic: f.Topic, partition: f.Partition, offset: f.Offset}
	if f.ClusterID != "" {
		c.cluster = f.ClusterID
	}
	return c
}

// consumeFact indexes the record fact rec. Malformed facts are counted and logged (the record
// is passed on all the same).
func (p *lineageProcessor) consumeFact(rec plog.LogRecord, res pcommon.Resource, now time.Time) {
	f, err := recordfact.Parse(rec, res)
	if err != nil {
		p.stats.factsMalformed++
		p.tel.factsMalformed.Add(context.Background(), 1)
		if now.Sub(p.lastFactWarn) >= warnEvery {
			p.logger.Warn("Malformed record fact ignored by the lineage rules (passed on)", zap.Error(err))
			p.lastFactWarn = now
		}
		return
	}
	p.stats.facts++
	p.tel.facts.Add(context.Background(), 1)
	var hdr spanKey
	if !f.TraceID.IsEmpty() {
		hdr = spanKey{f.TraceID, f.SpanID}
	}
	c := factCoordinate(&f)
	if f.ClusterID != "" && len(p.index.facts.clusterIDs) < maxInterned {
		p.index.facts.clusterIDs[f.ClusterName] = f.ClusterID
	}
	fa := fact{keyHash: f.KeyHash, tombstone: f.Tombstone, timestamp: f.Timestamp.UnixMilli(), header: hdr,
		unwindowedHash: f.UnwindowedKeyHash, windowStart: f.WindowStart}
	if x := f.Context; x != nil {
		fa.ctx = coordinate{cluster: c.cluster, topic: x.Topic, partition: x.Partition, offset: x.Offset}
		fa.ctxTS, fa.hasCtx = x.Timestamp, true
	}
	p.index.addFact(c, fa, now, p.touch)
}

// isFact reports whether a log record is a record fact (cheap: one attribute).
func isFact(rec plog.LogRecord) bool {
	v, ok := rec.Attributes().Get(recordfact.AttrFact)
	return ok && v.Type() == pcommon.ValueTypeStr && v.Str() == recordfact.FactRecord
}
