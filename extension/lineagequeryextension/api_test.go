package lineagequeryextension

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
	"github.com/eventlineage/lineage/internal/webui"
)

// apiClient calls an API server and checks every answer against the OpenAPI document.
type apiClient struct {
	t    *testing.T
	base string
	doc  *openAPI
}

// testConfig is the default configuration with a trace link template.
func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = component.MustNewID("lineage_storage")
	cfg.TraceURLTemplate = "http://localhost:16686/trace/{trace_id}"
	return cfg
}

// newTestAPI serves the API of p (logging to logger, nil: nowhere); now is an hour after the
// fixture's burst.
func newTestAPI(t *testing.T, cfg *Config, p lineagestore.Provider, logger ...*zap.Logger) *apiClient {
	a := &api{cfg: cfg, provider: p, logger: zap.NewNop(), version: "0.1.0-test",
		now: func() time.Time { return fixtureT0.Add(time.Hour) }}
	if len(logger) > 0 {
		a.logger = logger[0]
	}
	if cfg.UI.Enabled {
		a.ui = webui.Handler()
	}
	srv := httptest.NewServer(a.handler())
	t.Cleanup(srv.Close)
	doc, err := loadOpenAPI()
	require.NoError(t, err)
	return &apiClient{t: t, base: srv.URL, doc: doc}
}

// get calls path and returns the status, the headers and the body, after checking a JSON body
// against the schema the document gives for the route and status (error answers against Error).
func (c *apiClient) get(path string) (int, http.Header, []byte) {
	c.t.Helper()
	return c.do(http.MethodGet, path)
}

func (c *apiClient) do(method, path string) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	require.NoError(c.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	ct := resp.Header.Get("Content-Type")
	if method == http.MethodHead || strings.HasPrefix(ct, "text/csv") || strings.HasPrefix(ct, "text/html") {
		return resp.StatusCode, resp.Header, body
	}
	require.Equal(c.t, "application/json; charset=utf-8", ct, "%s %s: %s", method, path, body)
	s := c.doc.Components.Schemas["Error"]
	if tmpl := c.doc.matchPath(strings.SplitN(path, "?", 2)[0]); tmpl != "" && resp.StatusCode != http.StatusMethodNotAllowed {
		r, ok := c.doc.Paths[tmpl]["get"].Responses[strconv.Itoa(resp.StatusCode)]
		require.True(c.t, ok, "%s %s: status %d is not documented for %s", method, path, resp.StatusCode, tmpl)
		s = c.doc.response(r).Content["application/json"].Schema
	}
	require.NoError(c.t, c.doc.validateBody(s, body), "%s %s: %s", method, path, body)
	return resp.StatusCode, resp.Header, body
}

// getJSON calls path, requires status want and decodes the answer into v.
func (c *apiClient) getJSON(path string, want int, v any) {
	c.t.Helper()
	status, _, body := c.get(path)
	require.Equal(c.t, want, status, "GET %s: %s", path, body)
	require.NoError(c.t, json.Unmarshal(body, v))
}

// wantError calls path and requires status and an error message containing msg.
func (c *apiClient) wantError(path string, status int, msg string) {
	c.t.Helper()
	var e errorBody
	c.getJSON(path, status, &e)
	assert.Contains(c.t, e.Error, msg, "GET %s", path)
}

func records(events []lineagestore.Event) []lineagestore.RecordID {
	ids := make([]lineagestore.RecordID, len(events))
	for i, e := range events {
		ids[i] = e.Record
	}
	return ids
}

func TestFindEvents(t *testing.T) {
	p := openFixtureStore(t)
	c := newTestAPI(t, testConfig(), p)
	tests := []struct {
		query string
		want  []lineagestore.RecordID
	}{
		{"", []lineagestore.RecordID{recRejected, recTx3, recTx2, recBalance, recChangelog, recApproved, recTx1, recAccountsCL, recAccount}},
		{"topic=transactions", []lineagestore.RecordID{recTx3, recTx2, recTx1}},
		{"cluster=dc1&topic=transactions&partition=0", []lineagestore.RecordID{recTx2, recTx1}},
		{"cluster=" + fixtureClusterID + "&topic=transactions&partition=0&offset=1", []lineagestore.RecordID{recTx1}},
		{"key=acct-2", []lineagestore.RecordID{recTx3}},
		{"key_hash=" + p.hasher.HashKey([]byte("acct-2")), []lineagestore.RecordID{recTx3}},
		{"trace_id=" + traceTx2, []lineagestore.RecordID{recRejected, recTx2}},
		{"service=outcome-consumer", []lineagestore.RecordID{recApproved}},
		{"from=2026-11-26T10:00:02Z&to=" + strconv.Itoa(int(at(3_001).UnixMilli())), []lineagestore.RecordID{recTx3, recTx2}},
		{"topic=transactions&cluster=&key=", []lineagestore.RecordID{recTx3, recTx2, recTx1}}, // empty values are absent
		{"topic=summaries", []lineagestore.RecordID{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var page lineagestore.EventPage
			c.getJSON("/api/v1/events?"+tt.query, http.StatusOK, &page)
			assert.Equal(t, tt.want, records(page.Events))
			assert.Empty(t, page.NextPageToken)
		})
	}
}

func TestFindEventsPages(t *testing.T) {
	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	var all lineagestore.EventPage
	c.getJSON("/api/v1/events", http.StatusOK, &all)
	require.Len(t, all.Events, 9)

	var got []lineagestore.RecordID
	token := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5, "pagination does not end")
		var page lineagestore.EventPage
		c.getJSON("/api/v1/events?limit=2&page_token="+url.QueryEscape(token), http.StatusOK, &page)
		require.LessOrEqual(t, len(page.Events), 2)
		got = append(got, records(page.Events)...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	assert.Equal(t, records(all.Events), got)

	c.wantError("/api/v1/events?page_token=not-a-token", http.StatusBadRequest, `parameter "page_token"`)
}

func TestEventDetail(t *testing.T) {
	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	for _, cluster := range []string{fixtureClusterID, fixtureClusterName} {
		var d lineagestore.EventDetail
		c.getJSON("/api/v1/events/"+cluster+"/withdrawals-approved/0/0", http.StatusOK, &d)
		assert.Equal(t, recApproved, d.Event.Record)
		assert.Equal(t, "withdrawal-processor", d.Event.Producer)
		require.Len(t, d.Touchpoints, 2)
		assert.Equal(t, "withdrawals-approved publish", d.Touchpoints[0].Operation)
		assert.Equal(t, "outcome-consumer", d.Touchpoints[1].Service)
		assert.ElementsMatch(t, []lineagestore.RecordID{recTx1, recAccount}, []lineagestore.RecordID{d.Inputs[0].From, d.Inputs[1].From})
		assert.Empty(t, d.Outputs)
	}
	c.wantError("/api/v1/events/dc1/withdrawals-approved/0/99", http.StatusNotFound, "event dc1/withdrawals-approved/0/99 not found")
	c.wantError("/api/v1/events/dc9/transactions/0/1", http.StatusNotFound, "not found")
}

func TestLineage(t *testing.T) {
	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	depths := func(g lineagestore.Graph) map[string]int {
		m := map[string]int{}
		for _, n := range g.Nodes {
			m[n.Event.Record.Topic+"/"+strconv.Itoa(int(n.Event.Record.Partition))+"/"+strconv.Itoa(int(n.Event.Record.Offset))] = n.Depth
		}
		return m
	}
	var g lineagestore.Graph
	c.getJSON("/api/v1/events/dc1/transactions/0/1/lineage", http.StatusOK, &g)
	assert.Equal(t, recTx1, g.Start)
	assert.Equal(t, lineagestore.Both, g.Direction)
	assert.Equal(t, map[string]int{
		"transactions/0/1": 0, "withdrawals-approved/0/0": 1, "balance-updates/2/3": 1,
		"withdrawal-processor-balances-changelog/2/3": 1,
	}, depths(g))
	assert.Len(t, g.Edges, 3)
	assert.False(t, g.Truncated)

	c.getJSON("/api/v1/events/dc1/withdrawals-approved/0/0/lineage?direction=upstream&depth=3", http.StatusOK, &g)
	assert.Equal(t, map[string]int{"withdrawals-approved/0/0": 0, "transactions/0/1": -1, "accounts/1/0": -1}, depths(g))

	c.getJSON("/api/v1/events/dc1/transactions/0/1/lineage?direction=downstream&max_events=2", http.StatusOK, &g)
	assert.Len(t, g.Nodes, 2)
	assert.True(t, g.Truncated)

	c.wantError("/api/v1/events/dc1/transactions/0/9/lineage", http.StatusNotFound, "event dc1/transactions/0/9 not found")
}

func TestAuditJSON(t *testing.T) {
	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	var a auditTrail
	c.getJSON("/api/v1/events/dc1/withdrawals-approved/0/0/audit", http.StatusOK, &a)
	assert.Equal(t, recApproved, a.Start)
	assert.Len(t, a.Edges, 2) // tx1 -> approved, account -> approved (table join)
	var got []string
	for _, r := range a.Rows {
		got = append(got, r.Role+" "+strconv.Itoa(r.Depth)+" "+r.Service+" "+r.Operation)
	}
	assert.Equal(t, []string{
		"upstream 1 transaction-producer accounts publish",
		"upstream 1 withdrawal-processor accounts process",
		"upstream 1 transaction-producer transactions publish",
		"upstream 1 withdrawal-processor transactions process",
		"start 0 withdrawal-processor withdrawals-approved publish",
		"start 0 outcome-consumer withdrawals-approved process",
	}, got)
	first := a.Rows[4]
	assert.Equal(t, 2.0, first.DurationMS)
	assert.Equal(t, "streams_forward", first.Rule)
	assert.Equal(t, fixtureClusterName, first.Cluster)
	assert.Equal(t, traceTx1, first.TraceID)
	assert.Equal(t, at(1_050), first.Start)
}

func TestAuditCSV(t *testing.T) {
	p := openFixtureStore(t)
	// A touchpoint whose stored text a spreadsheet would run as a formula.
	evil := lineagestore.Touchpoint{Record: recBalance, TraceID: traceTx1, SpanID: "d1e2f3a4b5c6d7e8",
		Service: "=HYPERLINK(\"http://evil.example\",\"x\")", Operation: "+1 process", Kind: lineagestore.KindConsume,
		Start: at(1_300), End: at(1_301), Connector: "@sum", Rule: "-2", StateStore: "safe, \"quoted\"\nstore"}
	require.NoError(t, p.store.Write(context.Background(), &lineagestore.Batch{Touchpoints: []lineagestore.Touchpoint{evil}}))
	c := newTestAPI(t, testConfig(), p)

	status, h, body := c.get("/api/v1/events/dc1/transactions/0/1/audit?format=csv&direction=downstream&depth=1")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Equal(t, "text/csv; charset=utf-8", h.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="audit-`+fixtureClusterID+`-transactions-0-1.csv"`, h.Get("Content-Disposition"))
	assert.Empty(t, h.Get("X-Lineage-Truncated"))
	assert.Contains(t, string(body), "\r\n", "RFC 4180 line ends")

	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, auditColumns, rows[0])
	col := func(name string) int {
		for i, c := range auditColumns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	var ops []string
	for _, r := range rows[1:] {
		require.Len(t, r, len(auditColumns))
		ops = append(ops, r[col("operation")])
	}
	assert.Equal(t, []string{
		"transactions publish", "transactions process", "withdrawals-approved publish", "balances put",
		"withdrawal-processor-balances-changelog publish", "balance-updates publish", "withdrawals-approved process", "'+1 process",
	}, ops)
	last := rows[len(rows)-1]
	assert.Equal(t, fixtureClusterID+"/balance-updates/2/3", last[col("record")])
	assert.Equal(t, "downstream", last[col("role")])
	assert.Equal(t, "1", last[col("depth")])
	assert.Equal(t, `'=HYPERLINK("http://evil.example","x")`, last[col("service")])
	assert.Equal(t, "'@sum", last[col("connector")])
	assert.Equal(t, "'-2", last[col("rule")])
	assert.Equal(t, "safe, \"quoted\"\nstore", last[col("state_store")])
	assert.Equal(t, "2026-11-26T10:00:01.3Z", last[col("start")])
	assert.Equal(t, "1", last[col("duration_ms")])
	put := rows[4]
	assert.Equal(t, []string{"balances", "put"}, []string{put[col("state_store")], put[col("store_operation")]})

	_, h, _ = c.get("/api/v1/events/dc1/transactions/0/1/audit?format=csv&max_events=1")
	assert.Equal(t, "true", h.Get("X-Lineage-Truncated"))
}

func TestTopologyAndOutliers(t *testing.T) {
	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	var topo lineagestore.Topology
	c.getJSON("/api/v1/topology", http.StatusOK, &topo) // default: the hour before now
	assert.Equal(t, fixtureT0, topo.From)
	assert.Equal(t, fixtureT0.Add(time.Hour), topo.To)
	ids := map[string]string{}
	for _, n := range topo.Nodes {
		ids[n.ID] = n.Kind
	}
	assert.Equal(t, lineagestore.NodeService, ids["withdrawal-processor"])
	assert.Equal(t, lineagestore.NodeTopic, ids["dc1/transactions"])

	c.getJSON("/api/v1/topology?from=2026-11-26T11:00:00Z&to=2026-11-26T12:00:00Z", http.StatusOK, &topo)
	assert.Empty(t, topo.Nodes)

	var list outlierList
	c.getJSON("/api/v1/outliers?threshold_ms=2000&factor=0", http.StatusOK, &list)
	// The rejected withdrawal waited 4.1 s in transactions before withdrawal-processor polled it.
	require.Len(t, list.Outliers, 2)
	assert.Equal(t, recRejected, list.Outliers[0].Record)
	assert.Equal(t, &recTx2, list.Outliers[0].Input)
	assert.Equal(t, 4120.0, list.Outliers[0].LatencyMS)
	assert.Equal(t, recTx2, list.Outliers[1].Record)
	assert.Equal(t, "withdrawal-processor", list.Outliers[1].To)
	assert.Equal(t, 4100.0, list.Outliers[1].LatencyMS)
	assert.Equal(t, "threshold", list.Outliers[1].Reason)

	c.getJSON("/api/v1/outliers?from="+strconv.Itoa(int(at(7_000).UnixMilli())), http.StatusOK, &list)
	assert.Empty(t, list.Outliers)
}

func TestConfigAndOpenAPIRoutes(t *testing.T) {
	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	var cfg uiConfig
	c.getJSON("/api/v1/config", http.StatusOK, &cfg)
	assert.Equal(t, uiConfig{TraceURLTemplate: "http://localhost:16686/trace/{trace_id}", MaxLineageDepth: 20, MaxLineageEvents: 2000, Version: "0.1.0-test"}, cfg)
	status, _, body := c.get("/api/v1/openapi.json")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, string(openAPIDocument), string(body))
}

func TestBadRequests(t *testing.T) {
	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	long := strings.Repeat("x", 300)
	tests := []struct{ path, msg string }{
		{"/api/v1/events?topik=transactions", `parameter "topik": unknown parameter (accepted: cluster, topic,`},
		{"/api/v1/events?topic=a&topic=b", `parameter "topic": given 2 times, expected at most once`},
		{"/api/v1/events?topic=%zz", "malformed query string"},
		{"/api/v1/events?cluster=a/b", `parameter "cluster": expected 1 to 255 bytes of UTF-8 without '/'`},
		{"/api/v1/events?cluster=" + long, `parameter "cluster"`},
		{"/api/v1/events?service=%00", `parameter "service"`},
		{"/api/v1/events?topic=" + long, `parameter "topic": expected a Kafka topic name (1 to 249 characters`},
		{"/api/v1/events?topic=tr%C3%A4nsactions", `parameter "topic": expected a Kafka topic name`},
		{"/api/v1/events?topic=..", `parameter "topic"`},
		{"/api/v1/events?partition=0", `parameter "partition": requires topic`},
		{"/api/v1/events?topic=t&offset=0", `parameter "offset": requires partition`},
		{"/api/v1/events?topic=t&partition=-1", `parameter "partition": expected an integer from 0 to 2147483647, got "-1"`},
		{"/api/v1/events?topic=t&partition=2147483648", `parameter "partition"`},
		{"/api/v1/events?topic=t&partition=%2B1", `parameter "partition"`},
		{"/api/v1/events?topic=t&partition=0&offset=9223372036854775808", `parameter "offset": expected an integer from 0 to 9223372036854775807`},
		{"/api/v1/events?key=a&key_hash=ab", `parameter "key": give key or key_hash, not both`},
		{"/api/v1/events?key=" + strings.Repeat("k", maxKeyLen+1), `parameter "key": expected at most 65536 bytes, got 65537`},
		{"/api/v1/events?key_hash=ABCD", `parameter "key_hash": expected an even number (2 to 128) of lowercase hex digits, got "ABCD"`},
		{"/api/v1/events?key_hash=abc", `parameter "key_hash"`},
		{"/api/v1/events?trace_id=4BF92F3577B34DA6A3CE929D0E0E4736", `parameter "trace_id": expected a trace id of 32 lowercase hex digits`},
		{"/api/v1/events?trace_id=00000000000000000000000000000000", `parameter "trace_id": the all-zero trace id is invalid`},
		{"/api/v1/events?from=yesterday", `parameter "from": expected an RFC 3339 time (e.g. 2026-11-26T10:00:00Z) or integer unix milliseconds`},
		{"/api/v1/events?from=2026-11-26", `parameter "from"`},
		{"/api/v1/events?to=1960-01-01T00:00:00Z", `parameter "to"`},
		{"/api/v1/events?to=9999-12-31T23:00:00-05:00", `parameter "to"`},
		{"/api/v1/events?to=99999999999999999999", `parameter "to"`},
		{"/api/v1/events?from=2026-11-26T11:00:00Z&to=2026-11-26T10:00:00Z", `parameter "to": must be after from (2026-11-26T11:00:00Z), got 2026-11-26T10:00:00Z`},
		{"/api/v1/events?limit=0", `parameter "limit": expected an integer from 1 to 1000, got "0"`},
		{"/api/v1/events?limit=1001", `parameter "limit"`},
		{"/api/v1/events?limit=1e2", `parameter "limit"`},
		{"/api/v1/events?page_token=a%20b", `parameter "page_token"`},
		{"/api/v1/events/dc1/transactions/x/1", `parameter "partition": expected an integer from 0 to 2147483647, got "x"`},
		{"/api/v1/events/dc1/transactions/0/-1", `parameter "offset"`},
		{"/api/v1/events/dc1/bad%20topic/0/1", `parameter "topic"`},
		{"/api/v1/events/dc%2F1/transactions/0/1", `parameter "cluster"`},
		{"/api/v1/events/dc1/transactions/0/1?direction=up", `parameter "direction": unknown parameter: this route takes no query parameters`},
		{"/api/v1/events/dc1/transactions/0/1/lineage?direction=sideways", `parameter "direction": expected one of upstream, downstream, both, got "sideways"`},
		{"/api/v1/events/dc1/transactions/0/1/lineage?depth=21", `parameter "depth": expected an integer from 1 to 20, got "21"`},
		{"/api/v1/events/dc1/transactions/0/1/lineage?depth=0", `parameter "depth"`},
		{"/api/v1/events/dc1/transactions/0/1/lineage?max_events=2001", `parameter "max_events": expected an integer from 1 to 2000, got "2001"`},
		{"/api/v1/events/dc1/transactions/0/1/lineage?format=csv", `parameter "format": unknown parameter (accepted: direction, depth, max_events)`},
		{"/api/v1/events/dc1/transactions/0/1/audit?format=xml", `parameter "format": expected one of json, csv, got "xml"`},
		{"/api/v1/events/dc1/transactions/0/1/audit?depth=101", `parameter "depth"`},
		{"/api/v1/topology?from=2026-10-01T00:00:00Z&to=2026-11-26T00:00:00Z", `parameter "from": the range from 2026-10-01T00:00:00Z to 2026-11-26T00:00:00Z is longer than the maximum of 744h0m0s`},
		{"/api/v1/topology?from=2026-11-26T12:00:00Z", `parameter "from": must be before to (default now, 2026-11-26T11:00:00Z)`},
		{"/api/v1/topology?limit=5", `parameter "limit": unknown parameter (accepted: from, to)`},
		{"/api/v1/outliers?threshold_ms=-1", `parameter "threshold_ms": expected a decimal number from 0 to 1e+09, got "-1"`},
		{"/api/v1/outliers?threshold_ms=NaN", `parameter "threshold_ms"`},
		{"/api/v1/outliers?min_ms=Inf", `parameter "min_ms"`},
		{"/api/v1/outliers?factor=0x10", `parameter "factor"`},
		{"/api/v1/outliers?factor=0.5", `parameter "factor": expected 0 (no relative test) or at least 1, got 0.5`},
		{"/api/v1/outliers?factor=0", `parameter "factor": with threshold_ms 0 (none) factor must be at least 1`},
		{"/api/v1/outliers?limit=1001", `parameter "limit"`},
		{"/api/v1/config?x=1", `parameter "x": unknown parameter: this route takes no query parameters`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c.t = t
			c.wantError(tt.path, http.StatusBadRequest, tt.msg)
		})
	}
}

func TestRoutingErrors(t *testing.T) {
	c := newTestAPI(t, testConfig(), openFixtureStore(t))
	c.wantError("/api/v1/nothing", http.StatusNotFound, "no API route /api/v1/nothing (see /api/v1/openapi.json)")
	c.wantError("/api/v1/events/dc1/transactions/0", http.StatusNotFound, "no API route")

	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		status, h, body := c.do(m, "/api/v1/events/dc1/transactions/0/1")
		assert.Equal(t, http.StatusMethodNotAllowed, status, m)
		assert.Equal(t, "GET, HEAD", h.Get("Allow"))
		assert.Contains(t, string(body), `"error":"method `+m+` not allowed`)
	}
	status, _, body := c.do(http.MethodHead, "/api/v1/events")
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, body)

	// The UI serves its page for its own routes; /api/ stays the API's.
	for _, p := range []string{"/", "/events/dc1/transactions/0/1"} {
		status, h, body := c.get(p)
		assert.Equal(t, http.StatusOK, status, p)
		assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"), p)
		assert.Contains(t, string(body), "<html", p)
	}
	cfg := testConfig()
	cfg.UI.Enabled = false
	off := newTestAPI(t, cfg, openFixtureStore(t))
	off.wantError("/", http.StatusNotFound, "the web UI is disabled (lineage_query::ui::enabled: false)")
	off.wantError("/events/dc1/transactions/0/1", http.StatusNotFound, "the web UI is disabled")
}

func TestStoreUnavailable(t *testing.T) {
	p := openFixtureStore(t)
	c := newTestAPI(t, testConfig(), &fixtureProvider{hasher: p.hasher}) // no open store
	c.wantError("/api/v1/events", http.StatusServiceUnavailable, "the lineage store is unavailable")
	c.wantError("/api/v1/events/dc1/transactions/0/1/audit", http.StatusServiceUnavailable, "the lineage store is unavailable")
	// The configuration needs no store.
	status, _, _ := c.get("/api/v1/config")
	assert.Equal(t, http.StatusOK, status)
}

// A store that is not open yet (its server unreachable since the collector started) answers
// ErrUnavailable: 503, the same as no store at all.
func TestStoreNotOpenYet(t *testing.T) {
	p := openFixtureStore(t)
	c := newTestAPI(t, testConfig(), &fixtureProvider{store: unavailableStore{p.store}, hasher: p.hasher})
	c.wantError("/api/v1/events", http.StatusServiceUnavailable, "the lineage store is unavailable")
	c.wantError("/api/v1/topology", http.StatusServiceUnavailable, "the lineage store is unavailable")
}

// unavailableStore answers every query as a store whose server has not been reached yet.
type unavailableStore struct{ lineagestore.Store }

func (unavailableStore) FindEvents(context.Context, lineagestore.EventQuery) (lineagestore.EventPage, error) {
	return lineagestore.EventPage{}, fmt.Errorf("%w: not open yet", lineagestore.ErrUnavailable)
}

func (unavailableStore) Topology(context.Context, lineagestore.TopologyQuery) (lineagestore.Topology, error) {
	return lineagestore.Topology{}, fmt.Errorf("%w: not open yet", lineagestore.ErrUnavailable)
}

// A query that cannot finish before the answer's write timeout is cancelled and answered 503.
func TestStoreTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.WriteTimeout = time.Nanosecond
	c := newTestAPI(t, cfg, openFixtureStore(t))
	c.wantError("/api/v1/events/dc1/transactions/0/1/lineage", http.StatusServiceUnavailable, "the lineage store did not answer within 1ns")
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "closed.db"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	core, logs := observer.New(zapcore.ErrorLevel)
	c := newTestAPI(t, testConfig(), &fixtureProvider{store: s, hasher: fixtureHasher(t)}, zap.New(core))

	c.wantError("/api/v1/events?topic=transactions", http.StatusInternalServerError, "internal error; the collector log has the details")
	require.Equal(t, 1, logs.Len())
	entry := logs.All()[0]
	assert.Equal(t, "lineage query failed", entry.Message)
	assert.Equal(t, "topic=transactions", entry.ContextMap()["query"])
	assert.Contains(t, entry.ContextMap()["error"], "closed")
}
