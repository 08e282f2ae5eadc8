package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Rule names of the Kafka Streams rules, written to the lineage.rule attribute.
const (
	ruleStreamsKey         = "streams_key"
	ruleStreamsChangelog   = "streams_changelog"
	ruleStreamsMisparented = "streams_misparented"
	ruleFanIn              = "fan_in"
)

// outputKey returns the record key of the record at c, read from any consumer span of c.
func outputKey(idx *coordIndex, c coordinate) (string, bool) {
	for _, s := range idx.consumersAt(c) {
		if s.hasKey {
			return s.recKey, true
		}
	}
	return "", false
}

// latestProcessBefore returns the latest keyed Streams process span of k that ended at or before t.
func latestProcessBefore(idx *coordIndex, k procKey, t pcommon.Timestamp) *spanInfo {
	list := idx.procsOf(k)
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].end <= t {
			return list[i]
		}
	}
	return nil
}

// streamsKeyRule (`streams_key`): a root PRODUCER span R on a Kafka Streams thread at coordinate
// k_out (cache flush at commit) whose record key K is known from a consumer span of k_out was
// forwarded by the last update of K on that thread: R's parent is the latest keyed Streams
// process span of R's service on R's thread with key K that ended before R started. Changelog
// topics have no consumers; their roots are left to streamsChangelogRule.
type streamsKeyRule struct{}

func (streamsKeyRule) Name() string { return ruleStreamsKey }

func (streamsKeyRule) Applies(s *spanInfo) bool {
	return isStreamsRootProducer(s) && !isChangelog(s.coord.topic)
}

func (streamsKeyRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	key, ok := outputKey(idx, s.coord)
	if !ok {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	pk := procKey{s.service, s.thread, key}
	if p := latestProcessBefore(idx, pk, s.start); p != nil {
		return p, statusFound, nil
	}
	return nil, statusWait, append(wake, procWake(pk))
}

// flushPartner returns the output forward written in the same cache flush as the changelog write
// l: the next Streams root producer span on l's thread, when that is not a changelog write, has
// the same tombstone flag and started within window after l. ok is false while the next root is
// unknown or does not qualify.
func flushPartner(idx *coordIndex, l *spanInfo, window time.Duration) (*spanInfo, bool) {
	roots := idx.rootsOf(threadKeyOf(l))
	for i := sort.Search(len(roots), func(i int) bool { return roots[i].start >= l.start }); i < len(roots); i++ {
		r := roots[i]
		if r.start > l.start {
			return nil, false
		}
		if r.key() != l.key() {
			continue
		}
		if i+1 >= len(roots) {
			return nil, false
		}
		f := roots[i+1]
		if isChangelog(f.coord.topic) || f.tombstone != l.tombstone ||
			time.Duration(f.start-l.start) > window {
			return nil, false
		}
		return f, true
	}
	return nil, false
}

// streamsChangelogRule (`streams_changelog`): a root changelog write L on a Kafka Streams thread
// (`<application.id>-<store>-changelog`) is written, at cache flush, right before the downstream
// forward of the same key: L's partner is the next root producer span on the thread (see
// flushPartner). Once the partner's parent is recovered (by any rule), L gets the same parent.
type streamsChangelogRule struct{ window time.Duration }

func (streamsChangelogRule) Name() string { return ruleStreamsChangelog }

func (streamsChangelogRule) Applies(s *spanInfo) bool {
	return isStreamsRootProducer(s) && isChangelog(s.coord.topic)
}

func (r streamsChangelogRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	wake = append(wake, nextWake(s.key())) // a root arriving (or dropped) right after L
	f, ok := flushPartner(idx, s, r.window)
	if !ok {
		return nil, statusWait, wake
	}
	if p := idx.edgeOf(f.key()); p != nil {
		return p, statusFound, nil
	}
	return nil, statusWait, append(wake, edgeWake(f.key()))
}

// maxRelatedDepth bounds the walk from a parent process span up through the records that fed it.
const maxRelatedDepth = 8

// streamsMisparentedRule (`streams_misparented`): a NON-root Streams PRODUCER span S, child of a
// process span P_wrong, whose consumer span C (same coordinate) carries as parent a producer
// span X at another coordinate k_in (the record context Kafka Streams forwarded, visible only
// with producer-propagation disabled) was caused by the process span Q of k_in in S's service.
// When P_wrong is neither Q nor fed (through repartition hops) by Q, the agent parented S into a
// later, unrelated record's process (suppress(), window emit-final, outer joins): S's parent
// becomes Q. Without Q, or while the relation cannot be checked, S is left alone.
type streamsMisparentedRule struct{}

func (streamsMisparentedRule) Name() string { return ruleStreamsMisparented }

func (streamsMisparentedRule) Applies(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindProducer && !s.isRoot() && s.hasCoord &&
		isStreamThread(s.thread) && !isChangelog(s.coord.topic)
}

func (streamsMisparentedRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	cs := idx.consumersAt(s.coord)
	if len(cs) == 0 {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	var x spanKey
	for _, c := range cs {
		if c.parentID.IsEmpty() {
			continue
		}
		x = spanKey{c.traceID, c.parentID}
		break
	}
	if x.span.IsEmpty() || x == s.key() {
		// No forwarded context, or the consumer is S's own child: no evidence against S's
		// parent. With record facts flowing, record_timestamp (asked first) has the evidence and
		// may still be waiting for S's parent span: do not decide for it.
		if idx.factsSeen() {
			return nil, statusWait, wake
		}
		return nil, statusKeep, nil
	}
	kin, ok := idx.producerCoord(x)
	if !ok {
		if idx.consumerBySpanKey(x) != nil {
			return nil, statusKeep, nil // the consumer's parent is no producer span: no evidence
		}
		return nil, statusWait, append(wake, spanWake(x), coordWake(s.coord))
	}
	if kin == s.coord {
		return nil, statusKeep, nil
	}
	pwKey := spanKey{s.traceID, s.parentID}
	pw := idx.consumerBySpanKey(pwKey)
	if pw == nil {
		return nil, statusWait, append(wake, spanWake(pwKey))
	}
	if pw.service != s.service || (pw.hasCoord && pw.coord == kin) || pw.parentID == x.span && pw.traceID == x.trace {
		return nil, statusKeep, nil
	}
	var q *spanInfo
	for _, c := range idx.consumersAt(kin) {
		if c.service == s.service && c.kind == ptrace.SpanKindConsumer {
			q = c
			break
		}
	}
	if q == nil {
		return nil, statusWait, append(wake, coordWake(kin))
	}
	// is P_wrong q itself, or fed by q through records written inside q (repartition hops)?
	cur := pw
	for range maxRelatedDepth {
		if cur.key() == q.key() {
			return nil, statusKeep, nil
		}
		if !cur.hasCoord {
			break
		}
		w := idx.producer(cur.coord)
		if w == nil {
			return nil, statusWait, append(wake, coordWake(cur.coord))
		}
		if w.isRoot() {
			break
		}
		pk := spanKey{w.traceID, w.parentID}
		next := idx.consumerBySpanKey(pk)
		if next == nil {
			// the writer's parent is not (yet) a known process span: cannot tell
			return nil, statusWait, append(wake, spanWake(pk))
		}
		cur = next
	}
	return q, statusFound, nil
}

// fanInContributors returns the other process spans that fed the flushed output r attached to
// the process span p: the keyed Streams process spans of p's service and thread, on p's topic,
// with r's key (which must be p's key), that ended before r started and started after the
// previous flush root of r's topic on that thread that precedes p (the key's previous emission:
// a key updated before a commit is flushed at that commit).
func fanInContributors(idx *coordIndex, r, p *spanInfo, window time.Duration) []*spanInfo {
	if !isStreamsRootProducer(r) || !isStreamsProcess(p) || p.service != r.service || p.thread != r.thread || !p.hasCoord {
		return nil
	}
	keyOf := r
	if isChangelog(r.coord.topic) {
		f, ok := flushPartner(idx, r, window)
		if !ok {
			return nil
		}
		keyOf = f
	}
	key, ok := outputKey(idx, keyOf.coord)
	if !ok || key != p.recKey {
		return nil
	}
	lb := previousRootOfTopic(idx, r, p.start)
	var out []*spanInfo
	for _, c := range idx.procsOf(procKeyOf(p)) {
		if c.key() != p.key() && c.hasCoord && c.coord.topic == p.coord.topic && c.start > lb && c.end <= r.start {
			out = append(out, c)
		}
	}
	return out
}
