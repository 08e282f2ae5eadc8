package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eventlineage/lineage/internal/captureeval"
	"github.com/eventlineage/lineage/processor/lineageprocessor"
)

// harnessProcessorConfig is the lineage processor configuration e2e.sh evaluates with: the
// harness apps' declared joins.
const harnessProcessorConfig = "../../e2e/config/lineage-processor.yaml"

// The floors `make e2e` enforces (e2e/thresholds.txt) hold on the committed captures after
// stitching: a floor above what the processor reaches would fail every CI run, one far below would
// let a regression through (checked by the margin).
func TestCommittedCapturesMeetE2EFloors(t *testing.T) {
	f, err := os.Open("../../e2e/thresholds.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 8 {
			t.Fatalf("thresholds.txt: want 8 fields, got %q", sc.Text())
		}
		num := make([]float64, 6)
		for i := range num {
			if num[i], err = strconv.ParseFloat(fields[2+i], 64); err != nil {
				t.Fatalf("thresholds.txt: %v in %q", err, sc.Text())
			}
		}
		rows++
		name := fields[0] + "-" + fields[1]
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("../../testdata/captures", name)
			rep, err := captureeval.EvaluateDir(dir, captureeval.Options{Stitch: processorStitch(lineageprocessor.ModeRewrite, harnessProcessorConfig, dir)})
			if err != nil {
				t.Fatal(err)
			}
			tpe, p, r := rep.TracesPerEvent.Mean, rep.Edges.Precision, rep.Edges.Recall
			if tpe > num[0] || p < num[1] || r < num[2] {
				t.Errorf("stitched %s misses its floor %v/%v/%v", rep.FinalLine(), num[0], num[1], num[2])
			}
			const margin = 0.5 // traces/event; precision and recall: a tenth of it
			if tpe < num[0]-margin || p > num[1]+margin/10 || r > num[2]+margin/10 {
				t.Errorf("stitched %s is far better than its floor %v/%v/%v: raise the floor", rep.FinalLine(), num[0], num[1], num[2])
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows == 0 {
		t.Fatal("no thresholds")
	}
}
