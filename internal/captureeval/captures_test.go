package captureeval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capturesDir holds the captures recorded by the real-world harness (make e2e) and committed.
const capturesDir = "../../testdata/captures"

// TestRecordedCaptures evaluates every committed capture: each must be complete and clean (no
// malformed input, a consistent truth, spans for every origin event) and must reproduce the
// baseline line recorded next to it (baseline.txt), which docs/baseline.md reports.
func TestRecordedCaptures(t *testing.T) {
	type capture struct{ dir, scenario, config string }
	var captures []capture
	for _, scenario := range []string{"withdrawal", "multicluster"} {
		for _, config := range []string{"a", "b", "c", "d"} {
			captures = append(captures, capture{scenario + "-" + config, scenario, config})
		}
	}
	// The Streams app restarted with a wiped state dir between two bursts (state restoration).
	captures = append(captures, capture{"withdrawal-restart-a", "withdrawal", "a"})
	for _, c := range captures {
		t.Run(c.dir, func(t *testing.T) {
			dir := filepath.Join(capturesDir, c.dir)
			rep, err := EvaluateDir(dir, Options{})
			require.NoError(t, err)
			assert.Equal(t, c.scenario, rep.Scenario)
			assert.Equal(t, c.config, rep.Config)
			assert.Zero(t, rep.Input.MalformedLines, "malformed lines")
			assert.Zero(t, rep.Spans.Malformed, "malformed spans")
			assert.Zero(t, rep.Truth.Problems, "truth problems: %v", rep.TruthProblems)
			assert.Zero(t, rep.EventsWithoutSpans, "origin events without any span")
			assert.Positive(t, rep.Events)

			raw, err := os.ReadFile(filepath.Join(dir, "truth.json"))
			require.NoError(t, err)
			var recorder struct {
				Warnings []string `json:"warnings"`
			}
			require.NoError(t, json.Unmarshal(raw, &recorder))
			assert.Empty(t, recorder.Warnings, "the truth recorder could not derive every parent")

			want, err := os.ReadFile(filepath.Join(dir, "baseline.txt"))
			require.NoError(t, err)
			assert.Equal(t, strings.TrimSpace(string(want)), rep.FinalLine())
		})
	}
}
