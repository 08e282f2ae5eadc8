package recordfact

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func sampleFact() Fact {
	return Fact{
		ClusterName: "dc1", ClusterID: "MjvviIsxTtmvAr6AG8bmoA",
		Topic: "withdrawal-processor-by-type-repartition", Partition: 2, Offset: 41,
		KeyHash:     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Key:         []byte{0xff, 0x00, 'k'},
		BodySize:    90,
		Timestamp:   time.UnixMilli(1795676070552).UTC(),
		HeaderNames: []string{"traceparent", "event-id", "event-id"},
		Headers: map[string][]byte{
			"traceparent": []byte("00-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01"),
			"event-id":    []byte("e-2"),
		},
		TraceID: pcommon.TraceID{0x79, 0xd1, 0xbd, 0x80, 0xa0, 0x3e, 0x20, 0x69, 0x75, 0xfd, 0xab, 0x71, 0x07, 0xcc, 0x53, 0x78},
		SpanID:  pcommon.SpanID{0x79, 0x9b, 0x2b, 0xab, 0x82, 0xa5, 0x4c, 0xbb},
		Sampled: true,
	}
}

func write(f Fact) (plog.LogRecord, pcommon.Resource) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	PutResource(rl.Resource(), f.ClusterName, f.ClusterID)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	f.Write(lr, time.Unix(1795676080, 0))
	return lr, rl.Resource()
}

func TestWriteParseRoundTrip(t *testing.T) {
	want := sampleFact()
	lr, res := write(want)
	assert.Equal(t, EventName, lr.EventName())
	assert.Equal(t, int64(1795676080), lr.ObservedTimestamp().AsTime().Unix())
	assert.Equal(t, pcommon.ValueTypeEmpty, lr.Body().Type(), "the body stays empty")
	got, err := Parse(lr, res)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	v, _ := lr.Attributes().Get(AttrKey)
	assert.Equal(t, pcommon.ValueTypeBytes, v.Type(), "a non-UTF-8 key is written as bytes")
	v, _ = lr.Attributes().Get(AttrHeaderPrefix + "event-id")
	assert.Equal(t, "e-2", v.Str())
	v, _ = lr.Attributes().Get(AttrPartition)
	assert.Equal(t, "2", v.Str(), "partition id is a string, as in the agent's spans")
	assert.Equal(t, "dc1/withdrawal-processor-by-type-repartition/2@41", got.String())
}

func TestWriteMinimal(t *testing.T) {
	// A tombstone with a null key, no headers and no trace context.
	want := Fact{ClusterName: "dc2", Topic: "t", Offset: 0, Tombstone: true, Timestamp: time.UnixMilli(5).UTC()}
	lr, res := write(want)
	for _, k := range []string{AttrKeyHash, AttrKey, AttrHeaderNames} {
		_, ok := lr.Attributes().Get(k)
		assert.False(t, ok, k)
	}
	_, ok := res.Attributes().Get(AttrClusterID)
	assert.False(t, ok)
	assert.True(t, lr.TraceID().IsEmpty())
	got, err := Parse(lr, res)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(lr plog.LogRecord, res pcommon.Resource)
		want   string
	}{
		{"other log", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().Remove(AttrFact) }, ErrNotAFact.Error()},
		{"other fact", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().PutStr(AttrFact, "span") }, ErrNotAFact.Error()},
		{"no cluster", func(_ plog.LogRecord, res pcommon.Resource) { res.Attributes().Remove(AttrClusterName) }, "kafka.cluster.name: missing"},
		{"empty topic", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().PutStr(AttrTopic, "") }, "messaging.destination.name: empty"},
		{"int partition", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().PutInt(AttrPartition, 2) }, "messaging.destination.partition.id: want a string, got Int"},
		{"bad partition", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().PutStr(AttrPartition, "-1") }, `not a partition number: "-1"`},
		{"no offset", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().Remove(AttrOffset) }, "messaging.kafka.offset: missing"},
		{"negative offset", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().PutInt(AttrOffset, -3) }, "negative offset -3"},
		{"tombstone string", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().PutStr(AttrTombstone, "true") }, "messaging.kafka.message.tombstone: want a bool, got Str"},
		{"header names", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().PutStr(AttrHeaderNames, "a") }, "want a string slice, got Str"},
		{"header name type", func(lr plog.LogRecord, _ pcommon.Resource) {
			lr.Attributes().PutEmptySlice(AttrHeaderNames).AppendEmpty().SetInt(1)
		}, "messaging.kafka.header_names[0]: want a string, got Int"},
		{"header value", func(lr plog.LogRecord, _ pcommon.Resource) { lr.Attributes().PutInt(AttrHeaderPrefix+"x", 1) }, "messaging.kafka.header.x: want a string or bytes, got Int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr, res := write(sampleFact())
			tt.mutate(lr, res)
			_, err := Parse(lr, res)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.want)
			assert.Equal(t, tt.want == ErrNotAFact.Error(), errors.Is(err, ErrNotAFact))
		})
	}
}

// FuzzParse feeds arbitrary OTLP/JSON logs to Parse: it must never panic, and every fact it
// accepts must survive a Write/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	lr, res := write(sampleFact())
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res.CopyTo(rl.Resource())
	lr.CopyTo(rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	seed, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"kafka.cluster.name","value":{"stringValue":"dc1"}}]},"scopeLogs":[{"logRecords":[{"attributes":[{"key":"lineage.fact","value":{"stringValue":"record"}},{"key":"messaging.destination.name","value":{"stringValue":"t"}},{"key":"messaging.destination.partition.id","value":{"stringValue":"0"}},{"key":"messaging.kafka.offset","value":{"intValue":"7"}}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(data)
		if err != nil {
			return
		}
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					fact, err := Parse(lr, rl.Resource())
					if err != nil {
						continue
					}
					lr2, res2 := write(fact)
					again, err := Parse(lr2, res2)
					require.NoError(t, err)
					assert.Equal(t, fact, again)
				}
			}
		}
	})
}
