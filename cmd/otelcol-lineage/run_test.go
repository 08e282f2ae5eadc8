package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/sqlstore"
)

// freeAddr returns a loopback address with a port nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// TestDefaultConfigReceivesSpans runs the collector exactly as `make run` does (the embedded
// default configuration; only the listen ports are moved so the test cannot collide with a
// running collector), sends one span over OTLP/HTTP and finds it in the data directory, where
// the README says it lands: in the OTLP JSON files and, as the event of the record it sent, in
// the lineage store (data/lineage.db).
func TestDefaultConfigReceivesSpans(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.MkdirAll(dataDir, 0o750))
	t.Setenv("LINEAGE_DATA_DIR", dataDir)
	httpAddr, grpcAddr, healthAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	t.Setenv("LINEAGE_HEALTH_ENDPOINT", healthAddr)
	ports := fmt.Sprintf("yaml:receivers::otlp::protocols: {grpc: {endpoint: %q}, http: {endpoint: %q}}", grpcAddr, httpAddr)

	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.NewDefaultBuildInfo(),
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs:              []string{"yaml:" + defaultConfig, ports},
				ProviderFactories: []confmap.ProviderFactory{yamlprovider.NewFactory(), envprovider.NewFactory()},
			},
		},
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	defer func() {
		col.Shutdown()
		require.NoError(t, <-done)
	}()

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + healthAddr + "/status")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "collector did not become healthy")

	const traceID = "5b8efff798038103d269b633813fc60c"
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"make-run-test"}}]},` +
		`"scopeSpans":[{"spans":[{"traceId":"` + traceID + `","spanId":"eee19b7ec3c1b174","name":"transactions publish","kind":4,` +
		`"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[` +
		`{"key":"messaging.kafka.cluster.id","value":{"stringValue":"run-test-cluster"}},` +
		`{"key":"messaging.destination.name","value":{"stringValue":"transactions"}},` +
		`{"key":"messaging.destination.partition.id","value":{"stringValue":"0"}},` +
		`{"key":"messaging.kafka.message.offset","value":{"intValue":"42"}}]}]}]}]}`
	resp, err := http.Post("http://"+httpAddr+"/v1/traces", "application/json", bytes.NewBufferString(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A log record of that span: the lineage processor in the logs pipeline passes it on as soon
	// as the span's trace is decided (an ordinary root: at once).
	logBody := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"make-run-test"}}]},` +
		`"scopeLogs":[{"logRecords":[{"traceId":"` + traceID + `","spanId":"eee19b7ec3c1b174","body":{"stringValue":"sent transaction tx-run-test"}}]}]}]}`
	resp, err = http.Post("http://"+httpAddr+"/v1/logs", "application/json", bytes.NewBufferString(logBody))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The batch processor and the file exporter's flush interval delay the writes.
	for file, want := range map[string]string{"traces.jsonl": traceID, "logs.jsonl": "tx-run-test"} {
		assert.Eventually(t, func() bool {
			got, err := os.ReadFile(filepath.Join(dataDir, file))
			return err == nil && bytes.Contains(got, []byte(want))
		}, 30*time.Second, 100*time.Millisecond, "%q not written to %s/%s", want, dataDir, file)
	}

	// The lineage store: the collector has the database open; a second connection reads it.
	store, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dataDir, "lineage.db"))
	require.NoError(t, err)
	defer store.Close()
	rec := lineagestore.RecordID{Cluster: "run-test-cluster", Topic: "transactions", Offset: 42}
	assert.Eventually(t, func() bool {
		d, err := store.Event(t.Context(), rec)
		return err == nil && d.Event.Producer == "make-run-test" && d.Event.TraceID == traceID
	}, 30*time.Second, 100*time.Millisecond, "event %s not in the lineage store", rec)
}
