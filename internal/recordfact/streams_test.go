package recordfact

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bufferValue lays out a suppress buffer changelog value (format 3) as Kafka Streams writes it:
// the record context, then headers, prior/old/new values and the buffer time.
func bufferValue(ts, offset int64, topic string, partition int32) []byte {
	be := binary.BigEndian
	var b []byte
	b = be.AppendUint64(b, uint64(ts))
	b = be.AppendUint64(b, uint64(offset))
	b = be.AppendUint32(b, uint32(len(topic)))
	b = append(b, topic...)
	b = be.AppendUint32(b, uint32(partition))
	b = be.AppendUint32(b, 0)          // no headers
	b = be.AppendUint32(b, 0xffffffff) // prior value: null
	b = be.AppendUint32(b, 0xffffffff) // old value: null
	b = be.AppendUint32(b, 2)
	b = append(b, "{}"...) // new value
	return be.AppendUint64(b, uint64(ts+10_000))
}

func TestDecodeSuppressBufferContext(t *testing.T) {
	c, err := DecodeSuppressBufferContext(bufferValue(1795678417000, 6, "transactions", 1))
	require.NoError(t, err)
	assert.Equal(t, RecordContext{Topic: "transactions", Partition: 1, Offset: 6, Timestamp: 1795678417000}, c)

	for name, v := range map[string][]byte{
		"tombstone":     nil,
		"short":         make([]byte, 19),
		"empty topic":   bufferValue(1, 1, "", 0),
		"topic too big": append(binary.BigEndian.AppendUint32(make([]byte, 16), 1000), make([]byte, 1004)...),
		"truncated":     bufferValue(1, 1, "transactions", 0)[:30],
		"negative":      bufferValue(1, -1, "transactions", 0),
	} {
		_, err := DecodeSuppressBufferContext(v)
		assert.True(t, errors.Is(err, ErrMalformedBuffer), "%s: %v", name, err)
	}
}

func TestContextRoundTrip(t *testing.T) {
	f := sampleFact()
	f.Context = &RecordContext{Topic: "transactions", Partition: 1, Offset: 6, Timestamp: 1795678417000}
	f.UnwindowedKeyHash, f.WindowStart = "4f1b", 1795678410000
	lr, res := write(f)
	got, err := Parse(lr, res)
	require.NoError(t, err)
	assert.Equal(t, f, got)

	lr.Attributes().PutStr(AttrContextOffset, "6")
	_, err = Parse(lr, res)
	assert.ErrorContains(t, err, AttrContextOffset)
}

// FuzzDecodeSuppressBufferContext: arbitrary bytes never panic; a decoded context is plausible.
func FuzzDecodeSuppressBufferContext(f *testing.F) {
	f.Add(bufferValue(1795678417000, 6, "transactions", 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		c, err := DecodeSuppressBufferContext(v)
		if err != nil {
			return
		}
		if c.Topic == "" || len(c.Topic) > maxContextTopic || c.Offset < 0 || c.Partition < 0 {
			t.Fatalf("implausible context %+v", c)
		}
	})
}
