package extract

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/extract/extracttest"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGoldenCaptures")

// golden is a readable digest of what Traces and Facts extract from a stitched capture: the
// counters, the touchpoints per kind and every edge (cluster ids replaced by the facts' names).
type golden struct {
	Stats       Stats          `json:"stats"`
	FactStats   FactStats      `json:"fact_stats"`
	Events      int            `json:"events"`
	FactEvents  int            `json:"fact_events"`
	Touchpoints map[string]int `json:"touchpoints_by_kind"`
	Pending     int            `json:"pending_edges"`
	Edges       []string       `json:"edges"`
}

// TestGoldenCaptures pins the extraction of two stitched captures (one Kafka Streams scenario,
// one with MirrorMaker 2 and Connect across two clusters). Run with -update after a deliberate
// change, and review the diff.
func TestGoldenCaptures(t *testing.T) {
	for _, name := range []string{"withdrawal-a", "multicluster-b"} {
		t.Run(name, func(t *testing.T) {
			facts, fst := Facts(extracttest.Facts(t, name))
			spans, st := Traces(extracttest.Stitched(t, name), sha(t))
			names := map[string]string{}
			for _, c := range facts.Clusters {
				names[c.ID] = c.Name
			}
			readable := func(r lineagestore.RecordID) string {
				if n, ok := names[r.Cluster]; ok {
					r.Cluster = n
				}
				return r.String()
			}
			g := golden{Stats: st, FactStats: fst, Events: len(spans.Events), FactEvents: len(facts.Events),
				Touchpoints: map[string]int{}, Pending: len(spans.PendingEdges)}
			for _, tp := range spans.Touchpoints {
				g.Touchpoints[tp.Kind]++
			}
			for _, e := range spans.Edges {
				g.Edges = append(g.Edges, fmt.Sprintf("%s -> %s %s %s link=%t", readable(e.From), readable(e.To), e.Derivation, e.Rule, e.Link))
			}
			slices.Sort(g.Edges)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(g))
			got := buf.Bytes()
			file := filepath.Join("testdata", name+".golden.json")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(file, got, 0o644))
			}
			want, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.JSONEq(t, string(want), string(got))
		})
	}
}
