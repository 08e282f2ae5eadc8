package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const connected = "../../internal/captureeval/testdata/connected"

func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// splitOutput returns the JSON document and the final line.
func splitOutput(t *testing.T, stdout string) (map[string]any, string) {
	t.Helper()
	if !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("output does not end with a newline: %q", stdout)
	}
	body := strings.TrimSuffix(stdout, "\n")
	i := strings.LastIndexByte(body, '\n')
	if i < 0 {
		t.Fatalf("no final line in %q", stdout)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body[:i]), &doc); err != nil {
		t.Fatalf("output before the final line is not one JSON document: %v\n%s", err, body[:i])
	}
	return doc, body[i+1:]
}

func TestRun(t *testing.T) {
	code, stdout, stderr := runArgs(t, connected)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	doc, final := splitOutput(t, stdout)
	if want := "events=1 traces_per_event=1.00 precision=1.000 recall=1.000"; final != want {
		t.Errorf("final line %q, want %q", final, want)
	}
	if doc["events"] != 1.0 || doc["events_without_spans"] != 0.0 {
		t.Errorf("events = %v / %v", doc["events"], doc["events_without_spans"])
	}
	edges := doc["edges"].(map[string]any)
	if edges["observed"] != 3.0 || edges["precision"] != 1.0 {
		t.Errorf("edges = %v", edges)
	}
	for _, typ := range []string{"producer_consumer", "streams", "state_store", "connect", "cluster"} {
		bt := edges["by_type"].(map[string]any)[typ].(map[string]any)
		for _, k := range []string{"truth", "observed", "correct", "recall", "precision"} {
			if _, ok := bt[k]; !ok {
				t.Errorf("by_type.%s.%s missing", typ, k)
			}
		}
	}
	if _, ok := doc["event_details"]; ok {
		t.Error("event_details without --events")
	}
}

func TestRunFlagsAfterDir(t *testing.T) {
	code, stdout, stderr := runArgs(t, connected, "--events")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	doc, _ := splitOutput(t, stdout)
	details, ok := doc["event_details"].([]any)
	if !ok || len(details) != 1 || details[0].(map[string]any)["event_id"] != "tx-0005" {
		t.Errorf("event_details = %v", doc["event_details"])
	}
}

// --stitch runs the real lineage processor: an already connected capture stays connected.
func TestStitchWithTheProcessor(t *testing.T) {
	for _, mode := range []string{"rewrite", "link"} {
		code, stdout, stderr := runArgs(t, "--stitch", "--mode", mode, connected)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", mode, code, stderr)
		}
		doc, final := splitOutput(t, stdout)
		if doc["stitched"] != true || final != "events=1 traces_per_event=1.00 precision=1.000 recall=1.000" {
			t.Errorf("%s: stitched %v, final %q", mode, doc["stitched"], final)
		}
	}
	code, _, stderr := runArgs(t, "--stitch", "--mode", "merge", connected)
	if code != 2 || !strings.Contains(stderr, `--mode must be "rewrite" or "link"`) {
		t.Errorf("bad mode: exit %d, stderr %q", code, stderr)
	}
}

func TestStitchHook(t *testing.T) {
	calls := 0
	stitch = func(td ptrace.Traces) (ptrace.Traces, error) { calls++; return td, nil }
	defer func() { stitch = nil }()
	code, stdout, stderr := runArgs(t, "--stitch", connected)
	if code != 0 || calls != 1 {
		t.Fatalf("exit %d, %d calls, stderr %q", code, calls, stderr)
	}
	doc, final := splitOutput(t, stdout)
	if doc["stitched"] != true || final != "events=1 traces_per_event=1.00 precision=1.000 recall=1.000" {
		t.Errorf("stitched %v, final %q", doc["stitched"], final)
	}
}

func TestUsageAndErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "want exactly one capture directory"},
		{[]string{connected, connected}, 2, "want exactly one capture directory"},
		{[]string{"--bogus", connected}, 2, "flag provided but not defined"},
		{[]string{filepath.Join(t.TempDir(), "nope")}, 1, "truth.json"},
	} {
		code, stdout, stderr := runArgs(t, tc.args...)
		if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, code, stdout, stderr)
		}
	}
	if code, _, _ := runArgs(t, "-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

func TestMalformedReasonsOnStderr(t *testing.T) {
	dir := t.TempDir()
	truth, err := os.ReadFile(filepath.Join(connected, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	spans, err := os.ReadFile(filepath.Join(connected, "spans.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	spans = append(spans, []byte("not json\n{\"resourceSpans\":[\n[]\nnull\nnope\nnope again\nnope 3\n")...)
	if err := os.WriteFile(filepath.Join(dir, "truth.json"), truth, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spans.jsonl"), spans, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runArgs(t, dir, "--problems", "3")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := "lineage-eval: 7 malformed lines/spans (counted, skipped); first 3:\n  spans line 4: not a JSON object\n  spans line 5: "
	if !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 4 {
		t.Errorf("stderr:\n%s", stderr)
	}
	doc, final := splitOutput(t, stdout)
	if in := doc["input"].(map[string]any); in["lines"] != 10.0 || in["malformed_lines"] != 7.0 {
		t.Errorf("input = %v", in)
	}
	if final != "events=1 traces_per_event=1.00 precision=1.000 recall=1.000" {
		t.Errorf("final %q", final)
	}
}

func TestDescribe(t *testing.T) {
	code, stdout, stderr := runArgs(t, "--describe", connected)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("output is not one JSON document: %v\n%s", err, stdout)
	}
	if strings.Contains(stdout, "events=") {
		t.Error("final metrics line in --describe output")
	}
	if doc["scenario"] != "withdrawal" || doc["agent_version"] != "2.31.0" {
		t.Errorf("scenario %v, agent_version %v", doc["scenario"], doc["agent_version"])
	}
	spans := doc["spans"].(map[string]any)
	if spans["total"] != 4.0 || spans["roots"] != 1.0 {
		t.Errorf("spans = %v", spans)
	}
	wp := doc["services"].(map[string]any)["withdrawal-processor"].(map[string]any)["shapes"].(map[string]any)
	if pub := wp["PRODUCER <topic> publish"].(map[string]any); pub["count"] != 1.0 || pub["roots"] != 0.0 {
		t.Errorf("withdrawal-processor PRODUCER shape = %v", pub)
	}
	roots := doc["roots"].(map[string]any)
	if other := roots["other_root"].(map[string]any); roots["total"] != 1.0 || other["count"] != 1.0 {
		t.Errorf("roots = %v", roots)
	}
	byRole := doc["truth"].(map[string]any)["by_role"].(map[string]any)
	if out := byRole["output"].(map[string]any); out["records"] != 1.0 || out["producer_span_root"] != 0.0 {
		t.Errorf("truth.by_role.output = %v", out)
	}
	// Flags after DIR; the same document.
	if code, again, _ := runArgs(t, connected, "--describe"); code != 0 || again != stdout {
		t.Errorf("flags after DIR: exit %d, output differs: %v", code, again != stdout)
	}
}

func TestDescribeWithoutTruth(t *testing.T) {
	dir := t.TempDir()
	spans, err := os.ReadFile(filepath.Join(connected, "spans.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	spans = append(spans, "nope\n"...)
	if err := os.WriteFile(filepath.Join(dir, "spans.jsonl"), spans, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runArgs(t, "--describe", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if want := "lineage-eval: 1 malformed lines/spans (counted, skipped); first 1:\n  spans line 4: not a JSON object\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["truth"] != nil || doc["noise"] != nil {
		t.Errorf("truth %v, noise %v", doc["truth"], doc["noise"])
	}
	if in := doc["input"].(map[string]any); in["lines"] != 4.0 || in["malformed_lines"] != 1.0 {
		t.Errorf("input = %v", in)
	}
}

func TestDescribeUsageAndErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--describe"}, 2, "want exactly one capture directory"},
		{[]string{"--describe", "--events", connected}, 2, "--events has no effect with --describe"},
		{[]string{"--describe", filepath.Join(t.TempDir(), "nope")}, 1, "spans.jsonl"},
	} {
		code, stdout, stderr := runArgs(t, tc.args...)
		if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, code, stdout, stderr)
		}
	}
}

func TestDescribeStitchHook(t *testing.T) {
	calls := 0
	stitch = func(td ptrace.Traces) (ptrace.Traces, error) { calls++; return td, nil }
	defer func() { stitch = nil }()
	code, stdout, stderr := runArgs(t, "--describe", "--stitch", connected)
	if code != 0 || calls != 1 {
		t.Fatalf("exit %d, %d calls, stderr %q", code, calls, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc["stitched"] != true {
		t.Errorf("stitched %v (%v)", doc["stitched"], err)
	}
}
