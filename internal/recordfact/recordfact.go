// Package recordfact defines the "record fact": one OTLP log record per Kafka record, emitted by
// the kafka_records receiver and consumed by the lineage processor. The attribute names below are
// the contract between the two; Parse reads a fact back and rejects anything that is not one.
package recordfact // import "github.com/eventlineage/lineage/internal/recordfact"

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Resource attributes (one resource per cluster).
const (
	// AttrClusterName is the configured name of the cluster the record was read from ("dc1").
	// The same attribute names the cluster on the Java agent's spans in this project.
	AttrClusterName = "kafka.cluster.name"
	// AttrClusterID is the cluster id the brokers report (the one the agent puts into
	// messaging.kafka.cluster.id); absent until the receiver has read the cluster's metadata.
	AttrClusterID = "messaging.kafka.cluster.id"
)

// Log record attributes.
const (
	// AttrFact marks a log record as a record fact; its value is FactRecord. Pipelines can route
	// on it without relying on the event name.
	AttrFact = "lineage.fact"
	// AttrSystem is always SystemKafka.
	AttrSystem = "messaging.system"
	// AttrTopic is the topic name.
	AttrTopic = "messaging.destination.name"
	// AttrPartition is the partition number as a decimal string (as in the agent's spans).
	AttrPartition = "messaging.destination.partition.id"
	// AttrOffset is the record's offset (int).
	AttrOffset = "messaging.kafka.offset"
	// AttrKeyHash is the lowercase hex keyed hash of the record key; absent for a null key.
	AttrKeyHash = "messaging.kafka.message.key_hash"
	// AttrKey is the record key itself, only with `key: raw`: a string when the key is valid
	// UTF-8, bytes otherwise; absent for a null key.
	AttrKey = "messaging.kafka.message.key"
	// AttrTombstone is true when the record value is null.
	AttrTombstone = "messaging.kafka.message.tombstone"
	// AttrBodySize is the size of the record value in bytes (0 for a tombstone).
	AttrBodySize = "messaging.message.body.size"
	// AttrHeaderNames lists the record's header names in record order, repeats included.
	AttrHeaderNames = "messaging.kafka.header_names"
	// AttrHeaderPrefix prefixes the value of a reported header: the trace-context headers and the
	// configured business headers. When a header repeats, the last value is reported (as Kafka's
	// Headers.lastHeader, which the Java agent's propagator reads). A string when valid UTF-8,
	// bytes otherwise.
	AttrHeaderPrefix = "messaging.kafka.header."
)

// Constant values.
const (
	// EventName is the log record's event name.
	EventName = "kafka.record"
	// FactRecord is the value of AttrFact.
	FactRecord = "record"
	// SystemKafka is the value of AttrSystem.
	SystemKafka = "kafka"
)

// Trace-context header names whose values every fact reports.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
	HeaderBaggage     = "baggage"
)

// Fact is one record fact, read back from a log record.
type Fact struct {
	ClusterName string
	ClusterID   string // empty when unknown
	Topic       string
	Partition   int32
	Offset      int64
	// KeyHash is the hex keyed hash of the key; empty for a null key.
	KeyHash string
	// Key is the raw key (only with `key: raw`); nil when absent.
	Key       []byte
	Tombstone bool
	BodySize  int64
	// Timestamp is the record's timestamp (create or log-append time, as the topic says).
	Timestamp   time.Time
	HeaderNames []string
	// Headers holds the reported header values by header name (trace context and business headers).
	Headers map[string][]byte
	// TraceID, SpanID and Sampled come from a valid traceparent header; empty otherwise.
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID
	Sampled bool
	// Context is the record context of a Kafka Streams suppress buffer changelog value; nil
	// otherwise.
	Context *RecordContext
	// UnwindowedKeyHash and WindowStart: see AttrUnwindowedKeyHash and AttrWindowStart; empty
	// and 0 when not reported.
	UnwindowedKeyHash string
	WindowStart       int64
}

// Coordinates of the record, the key under which the lineage processor joins facts and spans.
func (f Fact) String() string {
	return fmt.Sprintf("%s/%s/%d@%d", f.ClusterName, f.Topic, f.Partition, f.Offset)
}

// ErrNotAFact is returned by Parse for a log record that does not carry AttrFact=FactRecord, so
// that a processor sharing a logs pipeline with other logs can skip them cheaply.
var ErrNotAFact = errors.New("not a record fact")

// Parse reads the fact of a log record and its resource. It returns ErrNotAFact (wrapped or not,
// test with errors.Is) for other log records and a descriptive error for a malformed fact.
func Parse(lr plog.LogRecord, res pcommon.Resource) (Fact, error) {
	attrs := lr.Attributes()
	if v, ok := attrs.Get(AttrFact); !ok || v.Type() != pcommon.ValueTypeStr || v.Str() != FactRecord {
		return Fact{}, ErrNotAFact
	}
	var f Fact
	var err error
	if f.ClusterName, err = str(res.Attributes(), AttrClusterName, true); err != nil {
		return Fact{}, err
	}
	if f.ClusterID, err = str(res.Attributes(), AttrClusterID, false); err != nil {
		return Fact{}, err
	}
	if f.Topic, err = str(attrs, AttrTopic, true); err != nil {
		return Fact{}, err
	}
	p, err := str(attrs, AttrPartition, true)
	if err != nil {
		return Fact{}, err
	}
	part, perr := strconv.ParseInt(p, 10, 32)
	if perr != nil || part < 0 {
		return Fact{}, fmt.Errorf("%s: not a partition number: %q", AttrPartition, p)
	}
	f.Partition = int32(part)
	if f.Offset, err = integer(attrs, AttrOffset, true); err != nil {
		return Fact{}, err
	}
	if f.Offset < 0 {
		return Fact{}, fmt.Errorf("%s: negative offset %d", AttrOffset, f.Offset)
	}
	if f.KeyHash, err = str(attrs, AttrKeyHash, false); err != nil {
		return Fact{}, err
	}
	if v, ok := attrs.Get(AttrKey); ok {
		if f.Key, err = bytesOf(AttrKey, v); err != nil {
			return Fact{}, err
		}
	}
	if v, ok := attrs.Get(AttrTombstone); ok {
		if v.Type() != pcommon.ValueTypeBool {
			return Fact{}, fmt.Errorf("%s: want a bool, got %s", AttrTombstone, v.Type())
		}
		f.Tombstone = v.Bool()
	}
	if f.BodySize, err = integer(attrs, AttrBodySize, false); err != nil {
		return Fact{}, err
	}
	if v, ok := attrs.Get(AttrHeaderNames); ok {
		if v.Type() != pcommon.ValueTypeSlice {
			return Fact{}, fmt.Errorf("%s: want a string slice, got %s", AttrHeaderNames, v.Type())
		}
		for i, n := range v.Slice().All() {
			if n.Type() != pcommon.ValueTypeStr {
				return Fact{}, fmt.Errorf("%s[%d]: want a string, got %s", AttrHeaderNames, i, n.Type())
			}
			f.HeaderNames = append(f.HeaderNames, n.Str())
		}
	}
	for k, v := range attrs.All() {
		name, ok := strings.CutPrefix(k, AttrHeaderPrefix)
		if !ok {
			continue
		}
		b, err := bytesOf(k, v)
		if err != nil {
			return Fact{}, err
		}
		if f.Headers == nil {
			f.Headers = make(map[string][]byte)
		}
		f.Headers[name] = b
	}
	if f.Context, err = parseContext(attrs); err != nil {
		return Fact{}, err
	}
	if f.UnwindowedKeyHash, err = str(attrs, AttrUnwindowedKeyHash, false); err != nil {
		return Fact{}, err
	}
	if f.WindowStart, err = integer(attrs, AttrWindowStart, false); err != nil {
		return Fact{}, err
	}
	f.Timestamp = lr.Timestamp().AsTime()
	// The receiver sets the span id and flags only together with a trace id.
	if tid := lr.TraceID(); !tid.IsEmpty() {
		f.TraceID, f.SpanID, f.Sampled = tid, lr.SpanID(), lr.Flags().IsSampled()
	}
	return f, nil
}

// PutResource writes the resource attributes of a cluster's facts.
func PutResource(res pcommon.Resource, clusterName, clusterID string) {
	res.Attributes().PutStr(AttrClusterName, clusterName)
	if clusterID != "" {
		res.Attributes().PutStr(AttrClusterID, clusterID)
	}
}

// Write writes the fact (all but the resource attributes) into an empty log record; observed
// is the time the receiver read the record. The body stays empty: everything is in attributes.
func (f Fact) Write(lr plog.LogRecord, observed time.Time) {
	lr.SetEventName(EventName)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(f.Timestamp))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	if !f.TraceID.IsEmpty() {
		lr.SetTraceID(f.TraceID)
		lr.SetSpanID(f.SpanID)
		lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(f.Sampled))
	}
	a := lr.Attributes()
	a.EnsureCapacity(10 + len(f.Headers))
	a.PutStr(AttrFact, FactRecord)
	a.PutStr(AttrSystem, SystemKafka)
	a.PutStr(AttrTopic, f.Topic)
	a.PutStr(AttrPartition, strconv.FormatInt(int64(f.Partition), 10))
	a.PutInt(AttrOffset, f.Offset)
	if f.KeyHash != "" {
		a.PutStr(AttrKeyHash, f.KeyHash)
	}
	if f.Key != nil {
		putBytes(a, AttrKey, f.Key)
	}
	a.PutBool(AttrTombstone, f.Tombstone)
	a.PutInt(AttrBodySize, f.BodySize)
	if len(f.HeaderNames) > 0 {
		s := a.PutEmptySlice(AttrHeaderNames)
		s.EnsureCapacity(len(f.HeaderNames))
		for _, n := range f.HeaderNames {
			s.AppendEmpty().SetStr(n)
		}
	}
	if f.Context != nil {
		f.Context.write(a)
	}
	if f.UnwindowedKeyHash != "" {
		a.PutStr(AttrUnwindowedKeyHash, f.UnwindowedKeyHash)
		a.PutInt(AttrWindowStart, f.WindowStart)
	}
	// Sorted so that equal facts serialize identically.
	for _, name := range slices.Sorted(maps.Keys(f.Headers)) {
		putBytes(a, AttrHeaderPrefix+name, f.Headers[name])
	}
}

func str(m pcommon.Map, key string, required bool) (string, error) {
	v, ok := m.Get(key)
	if !ok {
		if required {
			return "", fmt.Errorf("%s: missing", key)
		}
		return "", nil
	}
	if v.Type() != pcommon.ValueTypeStr {
		return "", fmt.Errorf("%s: want a string, got %s", key, v.Type())
	}
	if required && v.Str() == "" {
		return "", fmt.Errorf("%s: empty", key)
	}
	return v.Str(), nil
}

func integer(m pcommon.Map, key string, required bool) (int64, error) {
	v, ok := m.Get(key)
	if !ok {
		if required {
			return 0, fmt.Errorf("%s: missing", key)
		}
		return 0, nil
	}
	if v.Type() != pcommon.ValueTypeInt {
		return 0, fmt.Errorf("%s: want an int, got %s", key, v.Type())
	}
	return v.Int(), nil
}

// bytesOf reads a value that the receiver writes as a string (valid UTF-8) or as bytes.
func bytesOf(key string, v pcommon.Value) ([]byte, error) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return []byte(v.Str()), nil
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw(), nil
	default:
		return nil, fmt.Errorf("%s: want a string or bytes, got %s", key, v.Type())
	}
}

// putBytes writes b under key: a string when b is valid UTF-8, otherwise a bytes value
// (attribute values of type string must be UTF-8).
func putBytes(m pcommon.Map, key string, b []byte) {
	if utf8.Valid(b) {
		m.PutStr(key, string(b))
		return
	}
	m.PutEmptyBytes(key).FromRaw(b)
}
