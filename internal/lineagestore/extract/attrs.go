package extract // import "github.com/eventlineage/lineage/internal/lineagestore/extract"

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Attribute names read from the agent's spans (old and v1.43 messaging conventions), and the
// ones the lineage processor writes. The record attributes are those of the processor's
// parseCoordinate: both must name the same record.
const (
	attrTopic        = "messaging.destination.name"
	attrPartition    = "messaging.destination.partition.id"
	attrOffsetOld    = "messaging.kafka.message.offset"
	attrOffsetV143   = "messaging.kafka.offset"
	attrClusterID    = "messaging.kafka.cluster.id"
	attrMessageKey   = "messaging.kafka.message.key"
	attrThreadName   = "thread.name"
	attrServiceName  = "service.name"
	attrClusterName  = "kafka.cluster.name"
	attrConnector    = "kafka.connect.connector"
	attrRule         = "lineage.rule"
	attrDerivedFrom  = "lineage.derived_from"
	attrLinkDir      = "lineage.link_direction"
	attrStoreName    = "lineage.state_store.name"
	attrStoreOp      = "lineage.state_store.operation"
	linkDirChild     = "child"
	derivedFromConf  = "configuration"
	taskThreadPrefix = "task-thread-"
)

// MaxStringBytes bounds every free-text string the store keeps from telemetry (service and
// operation names, rules, connector and state-store names, cluster names). Longer strings are
// cut at a UTF-8 boundary and counted (Stats.Truncated).
const MaxStringBytes = 1024

// maxTopicBytes is Kafka's longest topic name (249 characters); a longer "topic" names no record.
const maxTopicBytes = 249

// recordAttrs says what a span's record attributes amount to.
type recordAttrs uint8

const (
	recordNone    recordAttrs = iota // no (complete) record: no topic, partition or offset, or offset -1 (acks=0)
	recordOK                         // names one record
	recordInvalid                    // present but unusable: wrong type, out of range, oversized, no cluster
)

// parseRecord reads the record a span names. The cluster is the span's messaging.kafka.cluster.id
// (the record's cluster), else resourceCluster (the JVM's kafka.cluster.name). fromResource
// reports the latter.
func parseRecord(attrs pcommon.Map, resourceCluster string) (c lineagestore.RecordID, fromResource bool, st recordAttrs) {
	topic, hasTopic := attrs.Get(attrTopic)
	part, hasPart := attrs.Get(attrPartition)
	off, hasOff := attrs.Get(attrOffsetOld)
	if !hasOff {
		off, hasOff = attrs.Get(attrOffsetV143)
	}
	if !hasTopic || !hasPart || !hasOff {
		return c, false, recordNone
	}
	o, ok := intValue(off)
	switch {
	case !ok || o < -1:
		return c, false, recordInvalid
	case o == -1:
		return c, false, recordNone
	}
	p, ok := intValue(part)
	if !ok || p < 0 || p > math.MaxInt32 {
		return c, false, recordInvalid
	}
	if topic.Type() != pcommon.ValueTypeStr || topic.Str() == "" || len(topic.Str()) > maxTopicBytes || strings.Contains(topic.Str(), "/") {
		return c, false, recordInvalid
	}
	c = lineagestore.RecordID{Topic: topic.Str(), Partition: int32(p), Offset: o, Cluster: resourceCluster}
	fromResource = true
	if v, ok := attrs.Get(attrClusterID); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		c.Cluster, fromResource = v.Str(), false
	}
	if c.Cluster == "" || len(c.Cluster) > MaxStringBytes || strings.Contains(c.Cluster, "/") {
		return lineagestore.RecordID{}, false, recordInvalid
	}
	return c, fromResource, recordOK
}

// intValue accepts an int attribute or a string holding a base-10 integer (the agent writes the
// partition as a string, the offset as an int; both spellings are accepted for both).
func intValue(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// str returns a string attribute ("" when absent or of another type).
func str(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// keyBytes returns the bytes of a record key attribute as the kafka_records receiver hashes
// them: a string's UTF-8 bytes, a bytes value as it is, anything else in its string form.
func keyBytes(v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return []byte(v.Str())
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw()
	}
	return []byte(v.AsString())
}

// capString cuts s to MaxStringBytes at a UTF-8 boundary, counting a cut in *truncated.
func capString(s string, truncated *int) string {
	if len(s) <= MaxStringBytes {
		return s
	}
	*truncated++
	n := MaxStringBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// connectorOf names the Kafka Connect connector (MirrorMaker 2 included) a span ran for: the
// kafka.connect.connector attribute the lineage processor writes from the Connect REST API, else
// the task thread's name `task-thread-<connector>-<task>`.
func connectorOf(attrs pcommon.Map, thread string) string {
	if c := str(attrs, attrConnector); c != "" {
		return c
	}
	rest, ok := strings.CutPrefix(thread, taskThreadPrefix)
	if !ok {
		return ""
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return ""
	}
	if _, err := strconv.ParseUint(rest[i+1:], 10, 32); err != nil {
		return ""
	}
	return rest[:i]
}
