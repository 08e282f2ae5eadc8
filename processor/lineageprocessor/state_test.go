package lineageprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestExpiringMap(t *testing.T) {
	now := time.Unix(0, 0)
	m := newExpiringMap[int, string](time.Minute, 3)
	// times never go backwards in the processor, so the queue is in expiry order
	m.set(1, "a", now)
	m.set(2, "b", now)
	m.set(3, "c", now.Add(10*time.Second))
	m.set(1, "a2", now.Add(30*time.Second)) // refresh
	m.set(4, "d", now.Add(30*time.Second))  // bound: the oldest live entry (2) goes
	_, ok := m.get(2, now)
	assert.False(t, ok)
	v, ok := m.get(1, now)
	assert.True(t, ok)
	assert.Equal(t, "a2", v)
	assert.Equal(t, 3, m.len())

	m.expire(now.Add(71 * time.Second)) // 3 expires, the refreshed 1 and 4 stay
	assert.Equal(t, 2, m.len())
	_, ok = m.get(1, now.Add(71*time.Second))
	assert.True(t, ok)
	_, ok = m.get(1, now.Add(91*time.Second)) // expired even before expire() runs
	assert.False(t, ok)
	m.expire(now.Add(91 * time.Second))
	assert.Equal(t, 0, m.len())
}

func TestCoordIndexBoundsAndExpiry(t *testing.T) {
	now := time.Unix(0, 0)
	ix := newCoordIndex(time.Minute, 2)
	touched := map[wakeKey]int{}
	touch := func(k wakeKey) { touched[k]++ }
	p1 := spanInfo{traceID: tid(1), spanID: sid(1), kind: ptrace.SpanKindProducer, hasCoord: true, coord: coordinate{"c", "t", 0, 1}}
	c1 := spanInfo{traceID: tid(2), spanID: sid(2), parentID: sid(9), kind: ptrace.SpanKindConsumer, hasCoord: true, coord: coordinate{"c", "t", 0, 1}}
	p2 := spanInfo{traceID: tid(3), spanID: sid(3), kind: ptrace.SpanKindProducer, hasCoord: true, coord: coordinate{"c", "t", 0, 2}}
	ix.observe(&p1, now, touch)
	ix.observe(&c1, now.Add(10*time.Second), touch)
	assert.Equal(t, 2, touched[coordWake(p1.coord)])
	assert.Equal(t, 1, touched[spanWake(p1.key())])
	require.NotNil(t, ix.producer(p1.coord))
	ix.observe(&p2, now.Add(20*time.Second), touch) // bound 2: p1 goes
	assert.Nil(t, ix.producer(p1.coord))
	_, ok := ix.producerCoord(p1.key())
	assert.False(t, ok)
	assert.Len(t, ix.consumersAt(c1.coord), 1)
	ix.expire(now.Add(71 * time.Second)) // c1 expires
	assert.Empty(t, ix.consumersAt(c1.coord))
	assert.NotNil(t, ix.producer(p2.coord))
	ix.expire(now.Add(81 * time.Second))
	assert.Equal(t, 0, ix.len())
	// spans without a coordinate or of other kinds are not indexed
	ix.observe(&spanInfo{kind: ptrace.SpanKindInternal, hasCoord: true}, now, touch)
	ix.observe(&spanInfo{kind: ptrace.SpanKindProducer}, now, touch)
	assert.Equal(t, 0, ix.len())
}

func TestEvictionWarningIsRateLimited(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	set := processortest.NewNopSettings(componentType)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig().(*Config)
	cfg.MaxBufferedSpans = 1
	clk := newFakeClock()
	sink := &consumertest.TracesSink{}
	p, err := newLineageProcessor(set, cfg, sink, clk)
	require.NoError(t, err)
	h := &harness{t: t, p: p, sink: sink, clock: clk}
	for i := byte(1); i <= 5; i++ {
		h.feed(tracesOf(prodOrphan(i)))
		clk.Advance(time.Second)
	}
	assert.Equal(t, 1, logs.Len(), "one warning per 10 s")
	clk.Advance(10 * time.Second)
	h.feed(tracesOf(prodOrphan(6)))
	assert.Equal(t, 2, logs.Len())
	assert.Equal(t, int64(3), logs.All()[1].ContextMap()["suppressed_warnings"])
	h.shutdown()
	assert.Equal(t, 6, h.sink.SpanCount())
}
