package captureeval

import (
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestParseSpanRecord(t *testing.T) {
	tests := []struct {
		name    string
		attrs   map[string]any
		want    Coord
		ok      bool
		wantErr string
	}{
		{"old conventions", map[string]any{AttrTopic: "t", AttrPartitionID: "2", AttrOffsetOld: int64(7)}, Coord{"t", 2, 7}, true, ""},
		{"v1.43 conventions", map[string]any{AttrTopic: "t", AttrPartitionID: "2", AttrOffset: int64(7)}, Coord{"t", 2, 7}, true, ""},
		{"both offsets agree", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffsetOld: int64(7), AttrOffset: int64(7)}, Coord{"t", 0, 7}, true, ""},
		{"int partition id", map[string]any{AttrTopic: "t", AttrPartitionID: int64(3), AttrOffset: int64(1)}, Coord{"t", 3, 1}, true, ""},
		{"kafka.destination.partition", map[string]any{AttrTopic: "t", AttrKafkaDestinationPartition: int64(4), AttrOffsetOld: int64(1)}, Coord{"t", 4, 1}, true, ""},
		{"kafka.partition", map[string]any{AttrTopic: "t", AttrKafkaPartition: int64(5), AttrOffsetOld: int64(1)}, Coord{"t", 5, 1}, true, ""},
		{"string offset", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffsetOld: "12"}, Coord{"t", 0, 12}, true, ""},
		{"integral double", map[string]any{AttrTopic: "t", AttrPartitionID: 1.0, AttrOffsetOld: 12.0}, Coord{"t", 1, 12}, true, ""},
		{"large offset", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffsetOld: int64(math.MaxInt64)}, Coord{"t", 0, math.MaxInt64}, true, ""},

		{"no attributes", map[string]any{}, Coord{}, false, ""},
		{"topic only (sink batch)", map[string]any{AttrTopic: "t", "messaging.batch.message_count": int64(3)}, Coord{}, false, ""},
		{"partition without offset", map[string]any{AttrTopic: "t", AttrPartitionID: "1"}, Coord{}, false, ""},
		{"acks=0", map[string]any{AttrTopic: "t", AttrPartitionID: "1", AttrOffsetOld: int64(-1)}, Coord{}, false, ""},

		{"bool offset", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffsetOld: true}, Coord{}, false, "want an integer, got Bool"},
		{"map offset", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffset: map[string]any{}}, Coord{}, false, "got Map"},
		{"fractional offset", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffset: 1.5}, Coord{}, false, "not an integer: 1.5"},
		{"huge double offset", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffset: 1e19}, Coord{}, false, "not an integer"},
		{"NaN offset", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffset: math.NaN()}, Coord{}, false, "not an integer"},
		{"offset -2", map[string]any{AttrTopic: "t", AttrPartitionID: "0", AttrOffset: int64(-2)}, Coord{}, false, "out of range"},
		{"text partition", map[string]any{AttrTopic: "t", AttrPartitionID: "p1", AttrOffset: int64(0)}, Coord{}, false, `not an integer: "p1"`},
		{"negative partition", map[string]any{AttrTopic: "t", AttrPartitionID: "-1", AttrOffset: int64(0)}, Coord{}, false, "out of range"},
		{"partition beyond int32", map[string]any{AttrTopic: "t", AttrPartitionID: int64(math.MaxInt32) + 1, AttrOffset: int64(0)}, Coord{}, false, "out of range"},
		{"partitions disagree", map[string]any{AttrTopic: "t", AttrPartitionID: "1", AttrKafkaPartition: int64(2), AttrOffset: int64(0)}, Coord{}, false, "disagrees"},
		{"offsets disagree", map[string]any{AttrTopic: "t", AttrPartitionID: "1", AttrOffsetOld: int64(3), AttrOffset: int64(4)}, Coord{}, false, "disagrees"},
		{"no topic", map[string]any{AttrPartitionID: "1", AttrOffset: int64(4)}, Coord{}, false, "offset without messaging.destination.name"},
		{"empty topic", map[string]any{AttrTopic: "", AttrPartitionID: "1", AttrOffset: int64(4)}, Coord{}, false, "offset without messaging.destination.name"},
		{"no partition", map[string]any{AttrTopic: "t", AttrOffset: int64(4)}, Coord{}, false, "offset without partition"},
		{"bytes topic", map[string]any{AttrTopic: []byte("t"), AttrPartitionID: "1", AttrOffset: int64(4)}, Coord{}, false, "want a string, got Bytes"},
		{"wrong topic type, no record", map[string]any{AttrTopic: int64(1)}, Coord{}, false, "want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pcommon.NewMap()
			if err := m.FromRaw(tt.attrs); err != nil {
				t.Fatal(err)
			}
			got, ok, err := ParseSpanRecord(m)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if ok {
					t.Error("ok = true with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
