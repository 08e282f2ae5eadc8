package extract // import "github.com/eventlineage/lineage/internal/lineagestore/extract"

import (
	"errors"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

// FactStats counts what Facts read.
type FactStats struct {
	Facts     int // record facts turned into events
	NotFacts  int // other log records (the agents' logs sharing the pipeline): ignored
	Malformed int // log records marked as facts that recordfact.Parse rejects, or naming no storable record
	Truncated int // key hashes longer than MaxStringBytes, dropped
}

// Facts extracts the events of the record facts among one export call's log records (the
// kafka_records receiver's output) and the cluster id → name pairs they carry. A fact's record
// is named by its cluster id when the receiver knows it (the agent's messaging.kafka.cluster.id,
// so that it meets the record's spans), else by its cluster name.
func Facts(ld plog.Logs) (*lineagestore.Batch, FactStats) {
	b := &lineagestore.Batch{}
	var st FactStats
	events := make(map[lineagestore.RecordID]int)
	clusters := make(map[lineagestore.Cluster]struct{})
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f, err := recordfact.Parse(lrs.At(k), rl.Resource())
				switch {
				case errors.Is(err, recordfact.ErrNotAFact):
					st.NotFacts++
					continue
				case err != nil, !storable(&f):
					st.Malformed++
					continue
				}
				st.Facts++
				ev := lineagestore.Event{
					Record:      lineagestore.RecordID{Cluster: f.ClusterName, Topic: f.Topic, Partition: f.Partition, Offset: f.Offset},
					ClusterName: f.ClusterName,
					KeyHash:     f.KeyHash,
					Timestamp:   f.Timestamp,
					Tombstone:   f.Tombstone,
				}
				if len(ev.KeyHash) > MaxStringBytes {
					ev.KeyHash = ""
					st.Truncated++
				}
				if f.ClusterID != "" {
					ev.Record.Cluster = f.ClusterID
					c := lineagestore.Cluster{ID: f.ClusterID, Name: f.ClusterName}
					if _, ok := clusters[c]; !ok {
						clusters[c] = struct{}{}
						b.Clusters = append(b.Clusters, c)
					}
				}
				if n, ok := events[ev.Record]; ok {
					b.Events[n].Merge(ev)
					continue
				}
				events[ev.Record] = len(b.Events)
				b.Events = append(b.Events, ev)
			}
		}
	}
	return b, st
}

// storable reports whether a parsed fact names a record the store can key: cluster names and
// ids without '/' (the record id separator) and of bounded size, a topic Kafka could hold.
func storable(f *recordfact.Fact) bool {
	ok := func(s string) bool { return len(s) <= MaxStringBytes && !strings.Contains(s, "/") }
	return ok(f.ClusterName) && ok(f.ClusterID) && len(f.Topic) <= maxTopicBytes && !strings.Contains(f.Topic, "/")
}
