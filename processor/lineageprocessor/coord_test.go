package lineageprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestParseCoordinate(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  coordinate
		ok    bool
	}{
		{"old conventions, span cluster id", map[string]any{attrDestination: "t", attrPartition: "2", attrOffsetOld: int64(7), attrClusterID: "abc"}, coordinate{"abc", "t", 2, 7}, true},
		{"v1.43 offset, resource cluster", map[string]any{attrDestination: "t", attrPartition: "0", attrOffsetV143: int64(3)}, coordinate{"dc1", "t", 0, 3}, true},
		{"int partition, string offset", map[string]any{attrDestination: "t", attrPartition: int64(1), attrOffsetOld: "9"}, coordinate{"dc1", "t", 1, 9}, true},
		{"old offset wins", map[string]any{attrDestination: "t", attrPartition: "1", attrOffsetOld: int64(1), attrOffsetV143: int64(2)}, coordinate{"dc1", "t", 1, 1}, true},
		{"empty cluster id falls back", map[string]any{attrDestination: "t", attrPartition: "1", attrOffsetOld: int64(1), attrClusterID: ""}, coordinate{"dc1", "t", 1, 1}, true},
		{"acks=0 offset -1", map[string]any{attrDestination: "t", attrPartition: "1", attrOffsetOld: int64(-1)}, coordinate{}, false},
		{"no topic", map[string]any{attrPartition: "1", attrOffsetOld: int64(1)}, coordinate{}, false},
		{"no partition", map[string]any{attrDestination: "t", attrOffsetOld: int64(1)}, coordinate{}, false},
		{"no offset", map[string]any{attrDestination: "t", attrPartition: "1"}, coordinate{}, false},
		{"bad partition", map[string]any{attrDestination: "t", attrPartition: "x", attrOffsetOld: int64(1)}, coordinate{}, false},
		{"partition overflow", map[string]any{attrDestination: "t", attrPartition: "99999999999", attrOffsetOld: int64(1)}, coordinate{}, false},
		{"double offset", map[string]any{attrDestination: "t", attrPartition: "1", attrOffsetOld: 1.5}, coordinate{}, false},
		{"topic not a string", map[string]any{attrDestination: int64(1), attrPartition: "1", attrOffsetOld: int64(1)}, coordinate{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pcommon.NewMap()
			assert.NoError(t, m.FromRaw(tt.attrs))
			got, ok := parseCoordinate(m, "dc1")
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

// FuzzParseCoordinate feeds arbitrary attribute values (external input from agents) to the parser.
func FuzzParseCoordinate(f *testing.F) {
	f.Add("transactions", "0", int64(5), "", "abc", "dc1", true)
	f.Add("", "1", int64(-1), "3", "", "", false)
	f.Add("t", " 2 ", int64(0), "x", "id", "c", true)
	f.Fuzz(func(t *testing.T, topic, partition string, offset int64, offsetStr, clusterID, resCluster string, intPartition bool) {
		m := pcommon.NewMap()
		m.PutStr(attrDestination, topic)
		if intPartition {
			m.PutInt(attrPartition, offset)
		} else {
			m.PutStr(attrPartition, partition)
		}
		if offsetStr != "" {
			m.PutStr(attrOffsetV143, offsetStr)
		} else {
			m.PutInt(attrOffsetOld, offset)
		}
		if clusterID != "" {
			m.PutStr(attrClusterID, clusterID)
		}
		c, ok := parseCoordinate(m, resCluster)
		if !ok {
			return
		}
		if c.topic != topic || c.topic == "" || c.partition < 0 || c.offset < 0 {
			t.Fatalf("inconsistent coordinate %+v from topic=%q", c, topic)
		}
		if clusterID != "" && c.cluster != clusterID || clusterID == "" && c.cluster != resCluster {
			t.Fatalf("wrong cluster %q (span %q, resource %q)", c.cluster, clusterID, resCluster)
		}
		_ = c.String()
	})
}

func TestStoreName(t *testing.T) {
	assert.Equal(t, "balances", storeName("withdrawal-processor-balances-changelog", "withdrawal-processor"))
	assert.Equal(t, "withdrawal-windows-suppress-store",
		storeName("withdrawal-processor-withdrawal-windows-suppress-store-changelog", "withdrawal-processor"))
	assert.Equal(t, "other-app-x", storeName("other-app-x-changelog", "withdrawal-processor"))
	assert.Equal(t, "withdrawal-processor",
		appIDFromThread("withdrawal-processor-c0ef6131-cfca-4b12-98c9-c5e41f02633f-StreamThread-1"))
	assert.Empty(t, appIDFromThread("withdrawal-processor-0d7c-StreamThread-1"))
	assert.Empty(t, appIDFromThread("main"))
}
