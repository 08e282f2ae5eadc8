package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"sort"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Rule names of the Kafka Connect and MirrorMaker 2 rules.
const (
	ruleSinkBatch  = "sink_batch"
	ruleMirrorCopy = "mirror_copy"
)

// sinkBatchRule (`sink_batch`): a Kafka Connect sink task's put() span — a root CONSUMER span on a
// task thread that links to the producer spans of the batch's records — continues the trace of
// the batch's first record by (partition, offset): that record's producer span becomes its
// parent; the links to the others stay.
type sinkBatchRule struct{}

func (sinkBatchRule) Name() string { return ruleSinkBatch }

func (sinkBatchRule) Applies(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindConsumer && s.isRoot() && len(s.links) > 0
}

func (sinkBatchRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	var first *spanInfo
	for _, l := range s.links {
		c, ok := idx.producerCoord(l)
		if !ok {
			return nil, statusWait, append(wake, spanWake(l))
		}
		p := idx.producer(c)
		if first == nil || c.partition < first.coord.partition || c.partition == first.coord.partition && c.offset < first.coord.offset {
			first = p
		}
	}
	return first, statusFound, nil
}

// mirrorCopyRule (`mirror_copy`): a root PRODUCER span T on a Kafka Connect task thread (a
// MirrorMaker 2 target send, a new trace with the stock agent) copies the record that task read
// last with the same partition, timestamp and key: MirrorMaker 2 keeps all three, and names the
// target topic "<source alias>.<topic>" (default replication policy) or keeps the name (identity
// policy). T's parent is the task's process span of that source record, so the event stays one
// trace across clusters.
type mirrorCopyRule struct{}

func (mirrorCopyRule) Name() string { return ruleMirrorCopy }

func (mirrorCopyRule) Applies(s *spanInfo) bool {
	return s.kind == ptrace.SpanKindProducer && s.isRoot() && s.hasCoord && isTaskThread(s.thread)
}

func (mirrorCopyRule) Resolve(idx *coordIndex, s *spanInfo, wake []wakeKey) (*spanInfo, resolveStatus, []wakeKey) {
	f, ok := idx.factAt(s.coord)
	if !ok {
		return nil, statusWait, append(wake, coordWake(s.coord))
	}
	k := tsKey{s.service, s.thread, f.timestamp}
	list := idx.facts.byTS[k]
	for i := sort.Search(len(list), func(i int) bool { return list[i].end > s.start }) - 1; i >= 0; i-- {
		c := list[i]
		if c.coord.partition == s.coord.partition && isMirrorOf(s.coord.topic, c.coord.topic) &&
			idx.facts.filed[c].keyHash == f.keyHash && c.coord.cluster != s.coord.cluster {
			return c, statusFound, nil
		}
	}
	return nil, statusWait, append(wake, tsWake(k))
}

// isMirrorOf reports whether target is MirrorMaker 2's name for source: "<alias>.<source>"
// (default replication policy) or source itself (identity replication policy).
func isMirrorOf(target, source string) bool {
	if target == source {
		return true
	}
	return len(target) > len(source)+1 && target[len(target)-len(source)-1] == '.' && target[len(target)-len(source):] == source
}
