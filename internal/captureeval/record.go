package captureeval

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attribute names the stock Java agent uses to name a Kafka record on a span (old and v1.43
// messaging conventions), and the resource attributes the harness sets.
const (
	AttrTopic = "messaging.destination.name"
	// AttrPartitionID is the partition under both conventions (a string per the spec; an int is
	// accepted too).
	AttrPartitionID = "messaging.destination.partition.id"
	// AttrKafkaDestinationPartition and AttrKafkaPartition are older spellings (ints).
	AttrKafkaDestinationPartition = "messaging.kafka.destination.partition"
	AttrKafkaPartition            = "messaging.kafka.partition"
	// AttrOffsetOld is the offset under the old conventions, AttrOffset under v1.43.
	AttrOffsetOld = "messaging.kafka.message.offset"
	AttrOffset    = "messaging.kafka.offset"

	ResAttrServiceName = "service.name"
	ResAttrClusterName = "kafka.cluster.name"

	// attrLinkDirection = linkDirectionChild marks the lineage processor's reverse links (link
	// mode): they point from a cause to its effect.
	attrLinkDirection  = "lineage.link_direction"
	linkDirectionChild = "child"
)

var (
	partitionAttrs = [...]string{AttrPartitionID, AttrKafkaDestinationPartition, AttrKafkaPartition}
	offsetAttrs    = [...]string{AttrOffsetOld, AttrOffset}
)

// Coord names a record within one cluster: topic, partition and offset.
type Coord struct {
	Topic     string
	Partition int32
	Offset    int64
}

func (c Coord) String() string { return fmt.Sprintf("%s/%d/%d", c.Topic, c.Partition, c.Offset) }

// ParseSpanRecord reads the Kafka record a span names from its attributes.
//
// It returns ok=false and a nil error for a record-less span: no offset attribute (poll/receive
// spans, Connect sink batches, sends that failed) or offset -1 (acks=0). It returns an error when
// the attributes are present but unusable: a wrong value type, a value out of range, an offset
// without topic or partition, or two spellings of the same coordinate that disagree.
func ParseSpanRecord(attrs pcommon.Map) (c Coord, ok bool, err error) {
	topic, hasTopic, err := stringAttr(attrs, AttrTopic)
	if err != nil {
		return Coord{}, false, err
	}
	part, hasPart, err := firstIntAttr(attrs, partitionAttrs[:], 0, math.MaxInt32)
	if err != nil {
		return Coord{}, false, err
	}
	off, hasOff, err := firstIntAttr(attrs, offsetAttrs[:], -1, math.MaxInt64)
	if err != nil {
		return Coord{}, false, err
	}
	switch {
	case !hasOff || off == -1:
		return Coord{}, false, nil
	case !hasTopic:
		return Coord{}, false, errors.New("offset without " + AttrTopic)
	case !hasPart:
		return Coord{}, false, fmt.Errorf("offset without partition (%s)", AttrPartitionID)
	}
	return Coord{Topic: topic, Partition: int32(part), Offset: off}, true, nil
}

// stringAttr returns a string attribute; an empty string counts as absent.
func stringAttr(attrs pcommon.Map, key string) (string, bool, error) {
	v, ok := attrs.Get(key)
	if !ok {
		return "", false, nil
	}
	if v.Type() != pcommon.ValueTypeStr {
		return "", false, fmt.Errorf("%s: want a string, got %s", key, v.Type())
	}
	return v.Str(), v.Str() != "", nil
}

// firstIntAttr reads the first present attribute of keys as an integer in [lo, hi]. Every
// spelling present must agree.
func firstIntAttr(attrs pcommon.Map, keys []string, lo, hi int64) (int64, bool, error) {
	var (
		val   int64
		found string
	)
	for _, key := range keys {
		v, ok := attrs.Get(key)
		if !ok {
			continue
		}
		n, err := intValue(v)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", key, err)
		}
		if n < lo || n > hi {
			return 0, false, fmt.Errorf("%s: %d out of range", key, n)
		}
		if found != "" && n != val {
			return 0, false, fmt.Errorf("%s=%d disagrees with %s=%d", key, n, found, val)
		}
		if found == "" {
			val, found = n, key
		}
	}
	return val, found != "", nil
}

// intValue accepts an int, a decimal string or an integral double.
func intValue(v pcommon.Value) (int64, error) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), nil
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(v.Str(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("not an integer: %q", truncate(v.Str(), 40))
		}
		return n, nil
	case pcommon.ValueTypeDouble:
		d := v.Double()
		// 2^63 is exactly representable; anything at or above it does not fit.
		if d != math.Trunc(d) || d < math.MinInt64 || d >= math.MaxInt64 {
			return 0, fmt.Errorf("not an integer: %v", d)
		}
		return int64(d), nil
	default:
		return 0, fmt.Errorf("want an integer, got %s", v.Type())
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
