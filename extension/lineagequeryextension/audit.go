package lineagequeryextension // import "github.com/eventlineage/lineage/extension/lineagequeryextension"

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Roles of an event in an audit trail.
const (
	roleStart      = "start"
	roleUpstream   = "upstream"
	roleDownstream = "downstream"
)

// auditRow is one touchpoint of an audit trail: a span that produced, consumed, stored, copied
// or transformed the start event or an event of its lineage.
type auditRow struct {
	Record lineagestore.RecordID `json:"record"`
	// Role is start, upstream or downstream; Depth the number of edges from the start event.
	Role       string    `json:"role"`
	Depth      int       `json:"depth"`
	Service    string    `json:"service"`
	Operation  string    `json:"operation"`
	Kind       string    `json:"kind"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	DurationMS float64   `json:"duration_ms"`
	// Cluster is the touching service's home cluster (its kafka.cluster.name).
	Cluster        string `json:"cluster,omitempty"`
	Connector      string `json:"connector,omitempty"`
	StateStore     string `json:"state_store,omitempty"`
	StoreOperation string `json:"store_operation,omitempty"`
	Rule           string `json:"rule,omitempty"`
	TraceID        string `json:"trace_id"`
	SpanID         string `json:"span_id"`
}

// auditTrail is the JSON answer of the audit route.
type auditTrail struct {
	Start     lineagestore.RecordID    `json:"start"`
	Direction lineagestore.Direction   `json:"direction"`
	Truncated bool                     `json:"truncated"`
	Rows      []auditRow               `json:"touchpoints"`
	Edges     []lineagestore.GraphEdge `json:"edges"`
}

// auditRows flattens a lineage graph into its touchpoints in chronological order (ties: end,
// record, span id, so that the order is stable).
func auditRows(g lineagestore.Graph) []auditRow {
	rows := []auditRow{}
	for _, n := range g.Nodes {
		role, depth := roleStart, n.Depth
		switch {
		case n.Depth < 0:
			role, depth = roleUpstream, -n.Depth
		case n.Depth > 0:
			role = roleDownstream
		}
		for _, tp := range n.Touchpoints {
			rows = append(rows, auditRow{
				Record: n.Event.Record, Role: role, Depth: depth,
				Service: tp.Service, Operation: tp.Operation, Kind: tp.Kind,
				Start: tp.Start.UTC(), End: tp.End.UTC(),
				DurationMS: float64(tp.End.Sub(tp.Start)) / float64(time.Millisecond),
				Cluster:    tp.ClusterName, Connector: tp.Connector,
				StateStore: tp.StateStore, StoreOperation: tp.StoreOperation,
				Rule: tp.Rule, TraceID: tp.TraceID, SpanID: tp.SpanID,
			})
		}
	}
	slices.SortFunc(rows, func(a, b auditRow) int {
		return cmp.Or(a.Start.Compare(b.Start), a.End.Compare(b.End),
			cmp.Compare(a.Record.String(), b.Record.String()), cmp.Compare(a.SpanID, b.SpanID))
	})
	return rows
}

// auditColumns is the CSV header.
var auditColumns = []string{
	"record", "role", "depth", "service", "operation", "kind", "start", "end", "duration_ms",
	"cluster", "connector", "state_store", "store_operation", "rule", "trace_id", "span_id",
}

// writeAuditCSV writes the rows as RFC 4180 CSV with a header line.
func writeAuditCSV(rows []auditRow) ([]byte, error) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true // RFC 4180
	if err := cw.Write(auditColumns); err != nil {
		return nil, err
	}
	for _, r := range rows {
		// Numbers and times are formatted here; every other cell is stored text.
		err := cw.Write([]string{
			cell(r.Record.String()), r.Role, strconv.Itoa(r.Depth), cell(r.Service), cell(r.Operation), cell(r.Kind),
			r.Start.Format(time.RFC3339Nano), r.End.Format(time.RFC3339Nano),
			strconv.FormatFloat(r.DurationMS, 'f', -1, 64),
			cell(r.Cluster), cell(r.Connector), cell(r.StateStore), cell(r.StoreOperation), cell(r.Rule),
			cell(r.TraceID), cell(r.SpanID),
		})
		if err != nil {
			return nil, err
		}
	}
	cw.Flush()
	return buf.Bytes(), cw.Error()
}

// cell neutralises CSV formula injection: a spreadsheet evaluates a cell starting with = + - @
// (or a tab or carriage return before one), so such a cell gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditFilename is the CSV attachment's name; topic names and the digits are safe in a header,
// the cluster is reduced to the characters of a topic name.
func auditFilename(id lineagestore.RecordID) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, id.Cluster)
	return fmt.Sprintf("audit-%s-%s-%d-%d.csv", safe, id.Topic, id.Partition, id.Offset)
}

func (a *api) audit(w http.ResponseWriter, r *http.Request, q query) error {
	format, err := q.oneOf("format", "json", "json", "csv")
	if err != nil {
		return err
	}
	g, err := a.graph(r, q)
	if err != nil {
		return err
	}
	rows := auditRows(g)
	if g.Truncated {
		w.Header().Set("X-Lineage-Truncated", "true")
	}
	if format == "json" {
		return writeJSON(w, auditTrail{Start: g.Start, Direction: g.Direction, Truncated: g.Truncated, Rows: rows, Edges: g.Edges})
	}
	body, err := writeAuditCSV(rows)
	if err != nil {
		return fmt.Errorf("writing the audit CSV: %w", err)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+auditFilename(g.Start)+`"`)
	writeBody(w, http.StatusOK, "text/csv", body)
	return nil
}
