package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSinkCountsOriginalsAndLatency(t *testing.T) {
	sk, err := startSink()
	require.NoError(t, err)
	defer sk.stop()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	for i := 0; i < 3; i++ {
		rs.ScopeSpans().AppendEmpty() // one scope per iteration, one span each
		rs.ScopeSpans().At(i).Spans().AppendEmpty().SetName(fmt.Sprint(i))
	}
	rs.ScopeSpans().At(2).Scope().SetName(synthScope)
	stamp(td)
	conn, err := grpc.NewClient(sk.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)
	orig, synth := sk.counts()
	assert.Equal(t, 2, orig)
	assert.Equal(t, 1, synth)
	ps := sk.percentiles(0.5, 1)
	assert.Positive(t, ps[0])
	assert.GreaterOrEqual(t, ps[1], ps[0])
}

func TestProcReaders(t *testing.T) {
	c, err := cpuSeconds(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, c, 0.0)
	rss, hwm, err := memory(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, rss)
	assert.GreaterOrEqual(t, hwm, rss)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# HELP x\n# TYPE otelcol_processor_lineage_held_spans gauge\n"+
			`otelcol_processor_lineage_held_spans{otel_scope_name="a",processor="lineage"} 7`+"\n"+
			`otelcol_processor_lineage_held_spans{processor="lineage/2"} 5`+"\n"+
			"otelcol_process_runtime_heap_alloc_bytes 1.5e+06\n")
	}))
	defer srv.Close()
	m, err := scrape(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 12.0, metric(m, "otelcol_processor_lineage_held_spans"))
	assert.Equal(t, 1.5e6, heap(m))
	assert.Equal(t, 0.0, metric(m, "missing"))
}
