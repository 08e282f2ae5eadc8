package kafkarecordsreceiver // import "github.com/eventlineage/lineage/receiver/kafkarecordsreceiver"

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eventlineage/lineage/internal/recordfact"
)

// changelogSuffix ends the name of a Kafka Streams changelog topic.
const changelogSuffix = "-changelog"

// factBuilder turns records into facts. It keeps a hash state, so each tailer has its own.
type factBuilder struct {
	key     KeyMode
	hash    hash.Hash
	sum     []byte
	headers map[string]bool // reported headers: trace context and the configured business ones
}

func newFactBuilder(cfg *Config) *factBuilder {
	b := &factBuilder{key: cfg.Key, headers: map[string]bool{
		recordfact.HeaderTraceparent: true, recordfact.HeaderTracestate: true, recordfact.HeaderBaggage: true,
	}}
	for _, h := range cfg.Headers {
		b.headers[h] = true
	}
	// Validate guarantees a valid algorithm and secret unless key is "none", when no key is hashed.
	if h, err := recordfact.NewKeyHasher(cfg.KeyHash.Algorithm, string(cfg.KeyHash.Secret)); err == nil {
		b.hash = h.New()
	}
	return b
}

// build returns the fact of a record (cluster fields aside). malformedTraceparent reports a
// traceparent header that is present but not valid; the fact then carries its value but no
// trace context.
func (b *factBuilder) build(r *kgo.Record) (f recordfact.Fact, malformedTraceparent bool) {
	f = recordfact.Fact{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Tombstone: r.Value == nil,
		BodySize:  int64(len(r.Value)),
		Timestamp: r.Timestamp,
	}
	// A null key has no hash; an empty key has the hash of nothing.
	if r.Key != nil && b.key != KeyNone {
		b.hash.Reset()
		b.hash.Write(r.Key)
		b.sum = b.hash.Sum(b.sum[:0])
		f.KeyHash = hex.EncodeToString(b.sum)
		if b.key == KeyRaw {
			f.Key = r.Key
		}
		if len(r.Key) > recordfact.WindowStartSize && strings.HasSuffix(r.Topic, changelogSuffix) {
			b.hash.Reset()
			b.hash.Write(r.Key[:len(r.Key)-recordfact.WindowStartSize])
			b.sum = b.hash.Sum(b.sum[:0])
			f.UnwindowedKeyHash = hex.EncodeToString(b.sum)
			f.WindowStart = int64(binary.BigEndian.Uint64(r.Key[len(r.Key)-recordfact.WindowStartSize:]))
		}
	}
	if len(r.Headers) == 0 {
		return f, false
	}
	f.HeaderNames = make([]string, len(r.Headers))
	for i, h := range r.Headers {
		f.HeaderNames[i] = h.Key
		if h.Key == recordfact.SuppressBufferHeader && bytes.Equal(h.Value, recordfact.SuppressBufferV3) && r.Value != nil {
			// A Kafka Streams suppress buffer changelog value: its record context names the input
			// the buffered value stands for. A value that does not decode is left out (the fact
			// stays valid; the lineage processor then lacks this evidence).
			if c, err := recordfact.DecodeSuppressBufferContext(r.Value); err == nil {
				f.Context = &c
			}
		}
		if b.headers[h.Key] {
			if f.Headers == nil {
				f.Headers = make(map[string][]byte, 3)
			}
			// The last value wins, as with Kafka's Headers.lastHeader.
			f.Headers[h.Key] = h.Value
		}
	}
	if tp, ok := f.Headers[recordfact.HeaderTraceparent]; ok {
		tid, sid, sampled, err := recordfact.ParseTraceparent(string(tp))
		if err != nil {
			return f, true
		}
		f.TraceID, f.SpanID, f.Sampled = tid, sid, sampled
	}
	return f, false
}
