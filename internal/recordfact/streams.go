package recordfact // import "github.com/eventlineage/lineage/internal/recordfact"

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Kafka Streams keeps the record context (topic, partition, offset, timestamp of the input record
// being processed) with every value it buffers for suppress(), and logs it into the buffer's
// changelog. A fact of such a changelog record reports that context: the exact input a buffered
// value stands for, which spans never tell (the buffer is flushed at commit, outside any process
// span, with the commit time as timestamp).
const (
	// AttrContextTopic, AttrContextPartition (int), AttrContextOffset (int) and
	// AttrContextTimestamp (int, ms since the epoch) report the record context of a Kafka Streams
	// suppress buffer changelog value.
	AttrContextTopic     = "kafka.streams.record_context.topic"
	AttrContextPartition = "kafka.streams.record_context.partition"
	AttrContextOffset    = "kafka.streams.record_context.offset"
	AttrContextTimestamp = "kafka.streams.record_context.timestamp"

	// AttrUnwindowedKeyHash is, for a record of a Kafka Streams changelog topic (name ending in
	// "-changelog") whose key is longer than 8 bytes, the keyed hash of the key without its last 8
	// bytes: the record key of a time-windowed key (Kafka Streams serializes a windowed key as the
	// key followed by the 8-byte window start, e.g. in suppress buffers). It ties a suppress
	// buffer's records — tombstones carry no other clue — to the window result of that key.
	AttrUnwindowedKeyHash = "kafka.streams.unwindowed_key_hash"
	// AttrWindowStart (int, ms since the epoch) is, reported with AttrUnwindowedKeyHash, the last 8
	// bytes of the key read as a window start: which window of the record key the record is about.
	AttrWindowStart = "kafka.streams.window_start"

	// SuppressBufferHeader is the header Kafka Streams (2.4+) puts on its suppress buffer
	// changelog records; SuppressBufferV3 is its value for the format DecodeSuppressBufferContext
	// reads (Kafka 3.x and 4.x).
	SuppressBufferHeader = "v"
)

// WindowStartSize is the size of the window start that Kafka Streams appends to a time-windowed
// key.
const WindowStartSize = 8

// SuppressBufferV3 is the value of SuppressBufferHeader on suppress buffer changelog records in
// format 3.
var SuppressBufferV3 = []byte{3}

// RecordContext is the record context Kafka Streams stored with a buffered value.
type RecordContext struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64 // ms since the epoch
}

// ErrMalformedBuffer is wrapped by DecodeSuppressBufferContext for a value it cannot read.
var ErrMalformedBuffer = errors.New("malformed suppress buffer value")

// maxContextTopic bounds the topic length read from a value (Kafka topic names have at most 249).
const maxContextTopic = 249

// DecodeSuppressBufferContext reads the record context at the start of a suppress buffer
// changelog value in format 3: timestamp (int64), offset (int64), topic (int32 length + UTF-8
// bytes), partition (int32), all big-endian. The rest (headers, prior/old/new values, buffer time)
// is not needed. A tombstone (nil) has no context.
func DecodeSuppressBufferContext(value []byte) (RecordContext, error) {
	var c RecordContext
	if value == nil {
		return c, fmt.Errorf("%w: tombstone", ErrMalformedBuffer)
	}
	if len(value) < 8+8+4 {
		return c, fmt.Errorf("%w: %d bytes, too short for a record context", ErrMalformedBuffer, len(value))
	}
	c.Timestamp = int64(binary.BigEndian.Uint64(value[0:8]))
	c.Offset = int64(binary.BigEndian.Uint64(value[8:16]))
	n := int32(binary.BigEndian.Uint32(value[16:20]))
	if n <= 0 || n > maxContextTopic {
		return c, fmt.Errorf("%w: topic length %d", ErrMalformedBuffer, n)
	}
	rest := value[20:]
	if int(n)+4 > len(rest) {
		return c, fmt.Errorf("%w: topic of %d bytes and partition do not fit in %d bytes", ErrMalformedBuffer, n, len(rest))
	}
	c.Topic = string(rest[:n])
	c.Partition = int32(binary.BigEndian.Uint32(rest[n : n+4]))
	if c.Offset < 0 || c.Partition < 0 {
		return c, fmt.Errorf("%w: offset %d, partition %d", ErrMalformedBuffer, c.Offset, c.Partition)
	}
	return c, nil
}

func (c *RecordContext) write(a pcommon.Map) {
	a.PutStr(AttrContextTopic, c.Topic)
	a.PutInt(AttrContextPartition, int64(c.Partition))
	a.PutInt(AttrContextOffset, c.Offset)
	a.PutInt(AttrContextTimestamp, c.Timestamp)
}

// parseContext reads the record context attributes; nil when absent.
func parseContext(a pcommon.Map) (*RecordContext, error) {
	if _, ok := a.Get(AttrContextTopic); !ok {
		return nil, nil
	}
	var c RecordContext
	var err error
	if c.Topic, err = str(a, AttrContextTopic, true); err != nil {
		return nil, err
	}
	p, err := integer(a, AttrContextPartition, true)
	if err != nil {
		return nil, err
	}
	if p < 0 || p > 1<<31-1 {
		return nil, fmt.Errorf("%s: not a partition: %d", AttrContextPartition, p)
	}
	c.Partition = int32(p)
	if c.Offset, err = integer(a, AttrContextOffset, true); err != nil {
		return nil, err
	}
	if c.Offset < 0 {
		return nil, fmt.Errorf("%s: negative offset %d", AttrContextOffset, c.Offset)
	}
	if c.Timestamp, err = integer(a, AttrContextTimestamp, true); err != nil {
		return nil, err
	}
	return &c, nil
}
