package kafkarecordsreceiver

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/eventlineage/lineage/internal/recordfact"
)

// FuzzBuildFact feeds arbitrary keys and header names and values (external input: whatever the
// applications wrote) through the fact builder and the log record: never a panic, and the fact
// read back equals the fact built.
func FuzzBuildFact(f *testing.F) {
	f.Add([]byte("acct-1"), "traceparent", []byte("00-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01"), "event-id", []byte("e-1"))
	f.Add([]byte{0xff, 0xfe}, "traceparent", []byte("00-garbage"), "baggage", []byte{0xc3, 0x28})
	f.Add([]byte(nil), "", []byte(nil), "event-id", []byte{})
	cfg := testConfig("t")
	cfg.Key = KeyRaw
	cfg.Headers = []string{"event-id"}
	f.Fuzz(func(t *testing.T, key []byte, h1 string, v1 []byte, h2 string, v2 []byte) {
		b := newFactBuilder(cfg)
		r := &kgo.Record{Topic: "t", Partition: 1, Offset: 9, Key: key, Value: v2, Timestamp: time.UnixMilli(1).UTC(),
			Headers: []kgo.RecordHeader{{Key: h1, Value: v1}, {Key: h2, Value: v2}}}
		fact, malformed := b.build(r)
		if h1 == recordfact.HeaderTraceparent || h2 == recordfact.HeaderTraceparent {
			assert.Equal(t, malformed, fact.TraceID.IsEmpty())
		}
		fact.ClusterName = "dc1"
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		recordfact.PutResource(rl.Resource(), "dc1", "")
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		fact.Write(lr, time.Now())
		got, err := recordfact.Parse(lr, rl.Resource())
		require.NoError(t, err)
		// Empty and nil byte strings read back alike.
		norm := func(f *recordfact.Fact) {
			for k, v := range f.Headers {
				if len(v) == 0 {
					f.Headers[k] = []byte{}
				}
			}
			if f.Key != nil && len(f.Key) == 0 {
				f.Key = []byte{}
			}
		}
		norm(&fact)
		norm(&got)
		assert.Equal(t, fact, got)
	})
}

// A Kafka Streams suppress buffer changelog record (header v=3): the fact reports the record
// context at the start of its value; a value that does not decode leaves it out.
func TestBuildFactSuppressBufferContext(t *testing.T) {
	be := binary.BigEndian
	value := be.AppendUint64(nil, 1795678417000)
	value = be.AppendUint64(value, 6)
	value = be.AppendUint32(value, uint32(len("transactions")))
	value = append(value, "transactions"...)
	value = be.AppendUint32(value, 1)
	value = append(value, make([]byte, 24)...) // headers, values, buffer time: not read
	b := newFactBuilder(testConfig("t"))
	hdr := []kgo.RecordHeader{{Key: recordfact.SuppressBufferHeader, Value: recordfact.SuppressBufferV3}}
	f, _ := b.build(&kgo.Record{Topic: "app-suppress-store-changelog", Value: value, Headers: hdr})
	require.NotNil(t, f.Context)
	assert.Equal(t, recordfact.RecordContext{Topic: "transactions", Partition: 1, Offset: 6, Timestamp: 1795678417000}, *f.Context)

	tomb, _ := b.build(&kgo.Record{Topic: "app-suppress-store-changelog", Key: append([]byte("acct-1"), 0, 0, 0, 1, 0, 0, 0, 2)})
	plain, _ := b.build(&kgo.Record{Topic: "withdrawals", Key: []byte("acct-1")})
	assert.Equal(t, plain.KeyHash, tomb.UnwindowedKeyHash, "the windowed key's record key")
	assert.Equal(t, int64(1<<32+2), tomb.WindowStart)
	assert.Empty(t, plain.UnwindowedKeyHash, "not a changelog")

	f, _ = b.build(&kgo.Record{Topic: "app-suppress-store-changelog", Value: value[:10], Headers: hdr})
	assert.Nil(t, f.Context)
	f, _ = b.build(&kgo.Record{Topic: "other", Value: value, Headers: []kgo.RecordHeader{{Key: "v", Value: []byte{2}}}})
	assert.Nil(t, f.Context, "another format")
}

// BenchmarkFacts: the receiver's CPU per record, from a fetched record to its log record
// (key hash, headers, traceparent, attributes); reported per fact.
func BenchmarkFacts(b *testing.B) {
	cfg := testConfig("t")
	cfg.KeyHash.Secret = testSecret
	cfg.Headers = []string{"event-id"}
	fb := newFactBuilder(cfg)
	const n = 1000
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: "withdrawal-processor-balances-changelog", Partition: 2, Offset: int64(i),
			Key: []byte("acct-01"), Value: make([]byte, 90), Timestamp: time.UnixMilli(1795676070552),
			Headers: []kgo.RecordHeader{
				{Key: "traceparent", Value: []byte("00-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01")},
				{Key: "event-id", Value: []byte("e-1")},
				{Key: "v", Value: []byte{3}},
			}}
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		lrs.EnsureCapacity(n)
		for _, r := range rs {
			f, _ := fb.build(r)
			f.Write(lrs.AppendEmpty(), now)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fact")
}
