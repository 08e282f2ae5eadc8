package lineagequeryextension

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap"
)

// BenchmarkRoutes measures whole requests (routing, parameter checks, the SQLite store, JSON or
// CSV encoding) on the fixture, without the network.
func BenchmarkRoutes(b *testing.B) {
	p := openFixtureStore(b)
	a := &api{cfg: testConfig(), provider: p, logger: zap.NewNop(), now: func() time.Time { return fixtureT0.Add(time.Hour) }}
	h := a.handler()
	for _, path := range []string{
		"/api/v1/events?topic=transactions&limit=50",
		"/api/v1/events?key=acct-1",
		"/api/v1/events/dc1/withdrawals-approved/0/0",
		"/api/v1/events/dc1/transactions/0/1/lineage",
		"/api/v1/events/dc1/transactions/0/1/audit?format=csv",
		"/api/v1/topology",
		"/api/v1/outliers",
	} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, w.Code, w.Body)
				}
				_, _ = io.Copy(io.Discard, w.Body)
			}
		})
	}
}

// BenchmarkParseEventQuery measures the parameter checks alone.
func BenchmarkParseEventQuery(b *testing.B) {
	h := fixtureHasher(b)
	raw := "cluster=dc1&topic=transactions&partition=0&offset=5&key=acct-1&from=2026-11-26T10:00:00Z&to=1795690800000&limit=100"
	for b.Loop() {
		q, err := parseQuery(raw, eventQueryParams, nil)
		if err == nil {
			_, err = parseEventQuery(q, h)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
