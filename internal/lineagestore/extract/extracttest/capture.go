// Package extracttest loads the committed captures (testdata/captures) for the tests of the
// lineage store's writers: the spans as the lineage processor stitches them offline with the
// harness' configuration (as `lineage-eval --stitch --config e2e/config/lineage-processor.yaml`
// does), and the record facts.
package extracttest // import "github.com/eventlineage/lineage/internal/lineagestore/extract/extracttest"

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/captureeval"
	"github.com/eventlineage/lineage/processor/lineageprocessor"
)

// CapturesWithFacts are the committed captures recorded with the kafka_records receiver.
var CapturesWithFacts = []string{
	"withdrawal-a", "withdrawal-b", "withdrawal-c", "withdrawal-d",
	"multicluster-a", "multicluster-b", "multicluster-c", "multicluster-d",
}

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}

// Dir is the directory of a committed capture.
func Dir(name string) string { return filepath.Join(Root(), "testdata", "captures", name) }

// Spans reads a capture's spans.jsonl, one ptrace.Traces per line (one agent export each).
func Spans(tb testing.TB, name string) []ptrace.Traces {
	tb.Helper()
	f, err := os.Open(filepath.Join(Dir(name), captureeval.SpansFile))
	require.NoError(tb, err)
	defer f.Close()
	var out []ptrace.Traces
	var problems captureeval.Problems
	in, err := captureeval.ReadTraces(f, 0, &problems, func(_ int, td ptrace.Traces) { out = append(out, td) })
	require.NoError(tb, err)
	require.Zero(tb, in.MalformedLines, "%s: malformed spans lines", name)
	return out
}

// Facts reads a capture's facts.jsonl as one plog.Logs (empty when the capture has none).
func Facts(tb testing.TB, name string) plog.Logs {
	tb.Helper()
	all := plog.NewLogs()
	f, err := os.Open(filepath.Join(Dir(name), "facts.jsonl"))
	if os.IsNotExist(err) {
		return all
	}
	require.NoError(tb, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), captureeval.DefaultMaxLineBytes)
	var u plog.JSONUnmarshaler
	for sc.Scan() {
		ld, err := u.UnmarshalLogs(sc.Bytes())
		require.NoError(tb, err)
		ld.ResourceLogs().MoveAndAppendTo(all.ResourceLogs())
	}
	require.NoError(tb, sc.Err())
	return all
}

// Stitched runs the whole capture through the lineage processor offline (rewrite mode, the
// harness' configuration, the capture's facts) and returns its output as one ptrace.Traces.
func Stitched(tb testing.TB, name string) ptrace.Traces {
	tb.Helper()
	all := ptrace.NewTraces()
	for _, td := range Spans(tb, name) {
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	}
	out, err := lineageprocessor.Stitch(HarnessConfig(tb), all, Facts(tb, name))
	require.NoError(tb, err)
	return out
}

// HarnessConfig is the lineage processor's configuration of the harness' apps
// (e2e/config/lineage-processor.yaml) over the defaults.
func HarnessConfig(tb testing.TB) *lineageprocessor.Config {
	tb.Helper()
	cfg, err := lineageprocessor.LoadConfig(filepath.Join(Root(), "e2e", "config", "lineage-processor.yaml"))
	require.NoError(tb, err)
	return cfg
}
