package lineageprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestStitchWholeCapture(t *testing.T) {
	all := ptrace.NewTraces()
	for _, td := range loadCapture(t, "withdrawal-b") {
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	}
	n := all.SpanCount()
	out, err := Stitch(nil, all, plog.NewLogs())
	require.NoError(t, err)
	synth := synthCount(out)
	assert.Equal(t, n, out.SpanCount()-synth, "originals in == originals out")
	rules := map[string]int{}
	forEachSpan(out, func(_ pcommon.Resource, s ptrace.Span) {
		if r := strAttr(s, attrRule); r != "" && !isSynthesized(s) {
			rules[r]++
		}
	})
	// withdrawal-b as recorded on 2026-11-26 at 09:37, spans only: 10 flush outputs
	// (balance-updates 8, type-totals 2) by streams_key; streams_changelog: their 10 changelog
	// writes plus 78 writes made inside process spans moved under their state-store span; the 10
	// withdrawal-windows outputs emitted by suppress() under a later record's process span,
	// re-parented.
	assert.Equal(t, map[string]int{ruleOffsetHop: 110, ruleStreamsKey: 10, ruleStreamsChangelog: 88, ruleStreamsMisparented: 10}, rules)

	_, err = Stitch(&Config{}, ptrace.NewTraces(), plog.NewLogs())
	assert.Error(t, err)
}
