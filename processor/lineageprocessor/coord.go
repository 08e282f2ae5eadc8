package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Attribute names read from the agent's spans.
const (
	attrDestination  = "messaging.destination.name"
	attrPartition    = "messaging.destination.partition.id"
	attrOffsetOld    = "messaging.kafka.message.offset"
	attrOffsetV143   = "messaging.kafka.offset"
	attrClusterID    = "messaging.kafka.cluster.id"
	attrMessageKey   = "messaging.kafka.message.key" // same name under the v1.43 conventions
	attrTombstone    = "messaging.kafka.message.tombstone"
	attrGroupOld     = "messaging.kafka.consumer.group"
	attrGroupV143    = "messaging.consumer.group.name"
	changelogSuffix  = "-changelog"
	attrThreadName   = "thread.name"
	attrOperationOld = "messaging.operation"
	attrOperationNew = "messaging.operation.type" // v1.43
	operationReceive = "receive"
	attrServiceName  = "service.name"
	streamThreadPart = "-StreamThread-"
	taskThreadPrefix = "task-thread-"
)

// Attribute names written by the processor.
const (
	attrRule               = "lineage.rule"
	attrOriginalTraceID    = "lineage.original_trace_id"
	attrOriginalParentSpan = "lineage.original_parent_span_id"
	// attrOriginalLinkSpan keeps the span id a link pointed at before the processor re-pointed it.
	attrOriginalLinkSpan = "lineage.original_link_span_id"
	// attrLinkDirection marks a reverse link (on a parent span, pointing at its recovered child).
	attrLinkDirection  = "lineage.link_direction"
	linkDirectionChild = "child"
)

// coordinate names one Kafka record: (cluster, topic, partition, offset).
type coordinate struct {
	cluster   string
	topic     string
	partition int32
	offset    int64
}

func (c coordinate) String() string {
	return c.cluster + "/" + c.topic + "/" + strconv.FormatInt(int64(c.partition), 10) + "/" + strconv.FormatInt(c.offset, 10)
}

// parseCoordinate reads the record coordinate of a span. The cluster is the span's
// messaging.kafka.cluster.id when present, else resourceCluster. ok is false when the span names
// no single record (no topic, no partition, no offset, a negative offset as with acks=0, or values
// of the wrong type).
func parseCoordinate(attrs pcommon.Map, resourceCluster string) (coordinate, bool) {
	var a coordAttrs
	a.topic, a.hasTopic = attrs.Get(attrDestination)
	a.partition, a.hasPartition = attrs.Get(attrPartition)
	a.offset, a.hasOffset = attrs.Get(attrOffsetOld)
	a.offsetV143, a.hasOffsetV143 = attrs.Get(attrOffsetV143)
	a.cluster, a.hasCluster = attrs.Get(attrClusterID)
	return a.coordinate(resourceCluster)
}

// coordAttrs are the attributes a record coordinate is read from (the first of each name).
type coordAttrs struct {
	topic, partition, offset, offsetV143, cluster                pcommon.Value
	hasTopic, hasPartition, hasOffset, hasOffsetV143, hasCluster bool
}

func (a *coordAttrs) coordinate(resourceCluster string) (coordinate, bool) {
	var c coordinate
	if !a.hasTopic || a.topic.Type() != pcommon.ValueTypeStr || a.topic.Str() == "" {
		return c, false
	}
	c.topic = a.topic.Str()
	if !a.hasPartition {
		return c, false
	}
	part, ok := intValue(a.partition)
	if !ok || part < 0 || part > 1<<31-1 {
		return c, false
	}
	c.partition = int32(part)
	o, ok := a.offset, a.hasOffset
	if !ok {
		o, ok = a.offsetV143, a.hasOffsetV143
	}
	if !ok {
		return c, false
	}
	off, ok := intValue(o)
	if !ok || off < 0 {
		return c, false
	}
	c.offset = off
	c.cluster = resourceCluster
	if a.hasCluster && a.cluster.Type() == pcommon.ValueTypeStr && a.cluster.Str() != "" {
		c.cluster = a.cluster.Str()
	}
	return c, true
}

// intValue accepts an int attribute or a string holding a base-10 integer.
func intValue(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
		return n, err == nil
	default:
		return 0, false
	}
}

// spanInfo is what the rules need to know about one span, read once at arrival. Fields are
// ordered to avoid padding: the index keeps one per producer and consumer span.
type spanInfo struct {
	traceID  pcommon.TraceID
	spanID   pcommon.SpanID
	parentID pcommon.SpanID // the ORIGINAL parent, as received
	start    pcommon.Timestamp
	end      pcommon.Timestamp
	coord    coordinate
	service  string
	thread   string
	// record key (messaging.kafka.message.key), on process spans and plain producers only
	recKey    string
	group     string // consumer group (= application.id on Streams process spans)
	kind      ptrace.SpanKind
	hasCoord  bool
	hasKey    bool
	tombstone bool
	// receive: a poll's span under receive telemetry (the records' process spans are its children)
	receive bool
	// links of a Kafka Connect sink batch span (a root CONSUMER span on a task thread): the
	// producer spans of its records, as the agent read them from the records' traceparent; and
	// the cluster (resource attribute) of the worker, whose records the batch read
	links      []spanKey
	resCluster string
}

func (s *spanInfo) isRoot() bool { return s.parentID.IsEmpty() }

func (s *spanInfo) key() spanKey { return spanKey{s.traceID, s.spanID} }

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

func readSpanInfo(span ptrace.Span, service, resourceCluster string) spanInfo {
	info := spanInfo{
		traceID:  span.TraceID(),
		spanID:   span.SpanID(),
		parentID: span.ParentSpanID(),
		kind:     span.Kind(),
		service:  service,
		start:    span.StartTimestamp(),
		end:      span.EndTimestamp(),
	}
	// One pass over the attributes instead of a lookup (a scan) per name; the first attribute of
	// a name counts, as with Map.Get.
	var (
		ca                                   coordAttrs
		key, tomb, groupOld, groupV143, thr  pcommon.Value
		hasKey, hasTomb, hasGroupOld, hasThr bool
		hasGroupV143                         bool
		opOld, opNew                         pcommon.Value
		hasOpOld, hasOpNew                   bool
	)
	span.Attributes().Range(func(k string, v pcommon.Value) bool {
		switch k {
		case attrMessageKey:
			if !hasKey {
				key, hasKey = v, true
			}
		case attrTombstone:
			if !hasTomb {
				tomb, hasTomb = v, true
			}
		case attrGroupOld:
			if !hasGroupOld {
				groupOld, hasGroupOld = v, true
			}
		case attrGroupV143:
			if !hasGroupV143 {
				groupV143, hasGroupV143 = v, true
			}
		case attrThreadName:
			if !hasThr {
				thr, hasThr = v, true
			}
		case attrOperationOld:
			if !hasOpOld {
				opOld, hasOpOld = v, true
			}
		case attrOperationNew:
			if !hasOpNew {
				opNew, hasOpNew = v, true
			}
		case attrDestination:
			if !ca.hasTopic {
				ca.topic, ca.hasTopic = v, true
			}
		case attrPartition:
			if !ca.hasPartition {
				ca.partition, ca.hasPartition = v, true
			}
		case attrOffsetOld:
			if !ca.hasOffset {
				ca.offset, ca.hasOffset = v, true
			}
		case attrOffsetV143:
			if !ca.hasOffsetV143 {
				ca.offsetV143, ca.hasOffsetV143 = v, true
			}
		case attrClusterID:
			if !ca.hasCluster {
				ca.cluster, ca.hasCluster = v, true
			}
		}
		return true
	})
	if hasKey {
		info.recKey, info.hasKey = key.AsString(), true
	}
	if hasTomb && tomb.Type() == pcommon.ValueTypeBool {
		info.tombstone = tomb.Bool()
	}
	if hasGroupOld && groupOld.Type() == pcommon.ValueTypeStr && groupOld.Str() != "" {
		info.group = groupOld.Str()
	} else if hasGroupV143 && groupV143.Type() == pcommon.ValueTypeStr {
		info.group = groupV143.Str()
	}
	if hasThr && thr.Type() == pcommon.ValueTypeStr {
		info.thread = thr.Str()
	}
	if info.kind == ptrace.SpanKindConsumer {
		op := ""
		if hasOpNew && opNew.Type() == pcommon.ValueTypeStr {
			op = opNew.Str()
		}
		if op == "" && hasOpOld && opOld.Type() == pcommon.ValueTypeStr {
			op = opOld.Str()
		}
		info.receive = op == operationReceive
	}
	if info.kind == ptrace.SpanKindProducer || info.kind == ptrace.SpanKindConsumer {
		info.coord, info.hasCoord = ca.coordinate(resourceCluster)
	}
	if info.kind == ptrace.SpanKindConsumer && info.isRoot() && !info.hasCoord && isTaskThread(info.thread) {
		for i := 0; i < span.Links().Len(); i++ {
			l := span.Links().At(i)
			info.links = append(info.links, spanKey{l.TraceID(), l.SpanID()})
		}
		info.resCluster = resourceCluster
	}
	return info
}

func isStreamThread(thread string) bool { return strings.Contains(thread, streamThreadPart) }

func isChangelog(topic string) bool { return strings.HasSuffix(topic, changelogSuffix) }

// storeName derives the state store of a changelog topic: `<application.id>-<store>-changelog`.
// With the application id known (the consumer group of the service's Streams process spans) the
// prefix is stripped exactly; otherwise the store is what follows the application id, taken as
// everything up to the first '-' that leaves a non-empty store (a best effort, documented).
func storeName(topic, appID string) string {
	s := strings.TrimSuffix(topic, changelogSuffix)
	if appID != "" && strings.HasPrefix(s, appID+"-") && len(s) > len(appID)+1 {
		return s[len(appID)+1:]
	}
	return s
}

func isTaskThread(thread string) bool { return strings.HasPrefix(thread, taskThreadPrefix) }

// isBreakPoint reports whether a ROOT span is one where the agent is known to lose the parent:
// a producer send on a Kafka Streams thread (cache flush, punctuator) or a Connect task thread
// (source task, MirrorMaker 2 target send), or a consumer span of a known record (lost producer
// context).
func isBreakPoint(s *spanInfo) bool {
	if !s.isRoot() {
		return false
	}
	switch s.kind {
	case ptrace.SpanKindProducer:
		return isStreamThread(s.thread) || isTaskThread(s.thread)
	case ptrace.SpanKindConsumer:
		// A poll's receive span (receive telemetry) roots the process spans of records from many
		// traces: held, so that they can leave it with their descendants. A Connect sink batch
		// links to its records instead of continuing their trace.
		return s.hasCoord || s.receive || len(s.links) > 0
	}
	return false
}

func stringAttr(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// estimateSpanSize estimates the in-memory size of a held span in bytes.
func estimateSpanSize(span ptrace.Span) int64 {
	size := int64(256 + len(span.Name()))
	size += mapSize(span.Attributes())
	for i := 0; i < span.Events().Len(); i++ {
		e := span.Events().At(i)
		size += 64 + int64(len(e.Name())) + mapSize(e.Attributes())
	}
	for i := 0; i < span.Links().Len(); i++ {
		size += 96 + mapSize(span.Links().At(i).Attributes())
	}
	return size
}

func mapSize(m pcommon.Map) int64 {
	var size int64
	m.Range(func(k string, v pcommon.Value) bool {
		size += 48 + int64(len(k)) + valueSize(v)
		return true
	})
	return size
}

func valueSize(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return int64(len(v.Str()))
	case pcommon.ValueTypeBytes:
		return int64(v.Bytes().Len())
	case pcommon.ValueTypeSlice:
		var n int64
		for i := 0; i < v.Slice().Len(); i++ {
			n += 24 + valueSize(v.Slice().At(i))
		}
		return n
	case pcommon.ValueTypeMap:
		return mapSize(v.Map())
	default:
		return 8
	}
}
