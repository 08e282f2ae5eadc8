package extract

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

func TestFacts(t *testing.T) {
	ld := plog.NewLogs()
	add := func(name, id string, facts ...recordfact.Fact) plog.LogRecordSlice {
		rl := ld.ResourceLogs().AppendEmpty()
		recordfact.PutResource(rl.Resource(), name, id)
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for _, f := range facts {
			f.Write(lrs.AppendEmpty(), t0)
		}
		return lrs
	}
	ts := time.UnixMilli(1795686371349).UTC()
	add("dc1", "C1",
		recordfact.Fact{Topic: "accounts", Partition: 0, Offset: 3, KeyHash: "abc", Timestamp: ts},
		recordfact.Fact{Topic: "accounts", Partition: 0, Offset: 4, Tombstone: true, Timestamp: ts},
		recordfact.Fact{Topic: "accounts", Partition: 0, Offset: 3, Timestamp: ts}, // again: merged
	)
	lrs := add("dc2", "", recordfact.Fact{Topic: "dc1.accounts", Partition: 1, Offset: 0, KeyHash: strings.Repeat("f", MaxStringBytes+1), Timestamp: ts})
	lrs.AppendEmpty().Body().SetStr("an application's log line") // not a fact
	bad := lrs.AppendEmpty()
	recordfact.Fact{Topic: "t", Timestamp: ts}.Write(bad, t0)
	bad.Attributes().PutStr(recordfact.AttrPartition, "minus one") // malformed
	add("dc/3", "", recordfact.Fact{Topic: "t", Timestamp: ts})    // a cluster name no record id can hold
	add("dc1", "C1", recordfact.Fact{Topic: "x", Timestamp: ts})   // the same cluster again: listed once

	b, st := Facts(ld)
	assert.Equal(t, FactStats{Facts: 5, NotFacts: 1, Malformed: 2, Truncated: 1}, st)
	assert.Equal(t, []lineagestore.Cluster{{ID: "C1", Name: "dc1"}}, b.Clusters)
	assert.Equal(t, []lineagestore.Event{
		{Record: rid("C1", "accounts", 0, 3), ClusterName: "dc1", KeyHash: "abc", Timestamp: ts},
		{Record: rid("C1", "accounts", 0, 4), ClusterName: "dc1", Timestamp: ts, Tombstone: true},
		{Record: rid("dc2", "dc1.accounts", 1, 0), ClusterName: "dc2", Timestamp: ts},
		{Record: rid("C1", "x", 0, 0), ClusterName: "dc1", Timestamp: ts},
	}, b.Events)
	assert.Empty(t, b.Touchpoints)
	assert.Empty(t, b.Edges)
}
