package lineageprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestStitchWholeCapture(t *testing.T) {
	all := ptrace.NewTraces()
	for _, td := range loadCapture(t, "withdrawal-b") {
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	}
	n := all.SpanCount()
	out, err := Stitch(nil, all)
	require.NoError(t, err)
	assert.Equal(t, n, out.SpanCount())
	rules := map[string]int{}
	forEachSpan(out, func(_ pcommon.Resource, s ptrace.Span) {
		if r := strAttr(s, attrRule); r != "" {
			rules[r]++
		}
	})
	assert.Equal(t, map[string]int{ruleOffsetHop: 79, ruleStreamsForwardedHeader: 9}, rules)

	_, err = Stitch(&Config{}, ptrace.NewTraces())
	assert.Error(t, err)
}
