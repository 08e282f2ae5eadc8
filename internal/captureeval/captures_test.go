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
	for _, scenario := range []string{"withdrawal", "multicluster"} {
		for _, config := range []string{"a", "b", "c"} {
			name := scenario + "-" + config
			t.Run(name, func(t *testing.T) {
				dir := filepath.Join(capturesDir, name)
				rep, err := EvaluateDir(dir, Options{})
				require.NoError(t, err)
				assert.Equal(t, scenario, rep.Scenario)
				assert.Equal(t, config, rep.Config)
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
}
