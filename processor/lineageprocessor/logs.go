package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
)

// Log records follow their spans: in rewrite mode a log record whose trace was merged into
// another takes the merged trace id (span ids never change), so that filtering a backend's logs
// by the event's trace id finds the logs of every service on the journey. A log record is passed
// on as soon as the fate of its span (or, when the span is unknown, of its trace) is decided; until
// then it is held, at most decision_wait beyond the release of its trace.

type logResHandle struct {
	rl plog.ResourceLogs // resource + schema URL only, never records
}

type logScopeHandle struct {
	res *logResHandle
	sl  plog.ScopeLogs // scope + schema URL only
}

// heldLog is one held log record, owned by the processor.
type heldLog struct {
	rec      plog.LogRecord
	scope    *logScopeHandle
	deadline time.Time
	done     bool
}

// logBuffer holds the log records whose trace is undecided. Guarded by lineageProcessor.mu.
type logBuffer struct {
	queue    []*heldLog // arrival order = deadline order (decision_wait is constant)
	head     int
	held     int
	byTrace  map[pcommon.TraceID][]*heldLog
	check    map[pcommon.TraceID]struct{} // traces whose fate changed since the last check
	released []*heldLog
}

func newLogBuffer() *logBuffer {
	return &logBuffer{byTrace: map[pcommon.TraceID][]*heldLog{}, check: map[pcommon.TraceID]struct{}{}}
}

// traceChanged notes that the held log records of trace t (if any) may be decidable now.
func (b *logBuffer) traceChanged(t pcommon.TraceID) {
	if _, ok := b.byTrace[t]; ok {
		b.check[t] = struct{}{}
	}
}

// logTrace returns the trace id a log record of (t, s) belongs to now, and whether that is
// final. A held span, or a held trace, is not final yet. A span moved on its own (a consumer span
// re-parented into another trace) takes its new trace; otherwise the decision of the trace counts.
// A record whose trace was never seen is undecided (its spans may still be on their way).
func (p *lineageProcessor) logTrace(t pcommon.TraceID, s pcommon.SpanID, now time.Time) (pcommon.TraceID, bool) {
	if !s.IsEmpty() {
		k := spanKey{t, s}
		if e := p.held[k]; e != nil {
			return t, false
		}
		if f, ok := p.spanRemap.get(k, now); ok {
			return p.final(f, now), true
		}
	}
	if u := p.traces[t]; u != nil && !u.released {
		return t, false
	}
	if _, ok := p.decided.get(t, now); ok {
		return p.final(t, now), true
	}
	return t, false
}

// rewriteLog moves a log record into trace f, keeping its original trace id as an attribute.
func (p *lineageProcessor) rewriteLog(rec plog.LogRecord, f pcommon.TraceID) {
	if rec.TraceID() == f {
		return
	}
	if _, ok := rec.Attributes().Get(attrOriginalTraceID); !ok {
		rec.Attributes().PutStr(attrOriginalTraceID, rec.TraceID().String())
	}
	rec.SetTraceID(f)
	p.stats.logsRewritten++
	p.tel.logsRewritten.Add(context.Background(), 1)
}

// ConsumeLogs indexes record facts (passed on unchanged), rewrites the log records of decided
// traces and holds the others.
func (p *lineageProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	p.tel.logsReceived.Add(ctx, int64(n))
	p.mu.Lock()
	now := p.clock.Now()
	// Link mode changes no ids; without a traces pipeline there is nothing to follow.
	follow := p.cfg.Mode == ModeRewrite && p.tracesAttached()
	b := p.logs
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		var rh *logResHandle
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			var sh *logScopeHandle
			sl.LogRecords().RemoveIf(func(rec plog.LogRecord) bool {
				if isFact(rec) {
					p.consumeFact(rec, rl.Resource(), now)
					return false
				}
				t := rec.TraceID()
				if !follow || t.IsEmpty() {
					return false
				}
				if f, ok := p.logTrace(t, rec.SpanID(), now); ok {
					p.rewriteLog(rec, f)
					return false
				}
				if sh == nil {
					if rh == nil {
						rh = &logResHandle{rl: plog.NewResourceLogs()}
						rl.Resource().CopyTo(rh.rl.Resource())
						rh.rl.SetSchemaUrl(rl.SchemaUrl())
					}
					sh = &logScopeHandle{res: rh, sl: plog.NewScopeLogs()}
					sl.Scope().CopyTo(sh.sl.Scope())
					sh.sl.SetSchemaUrl(sl.SchemaUrl())
				}
				h := &heldLog{rec: plog.NewLogRecord(), scope: sh, deadline: now.Add(p.cfg.DecisionWait)}
				rec.CopyTo(h.rec)
				b.queue = append(b.queue, h)
				b.byTrace[t] = append(b.byTrace[t], h)
				b.held++
				return true
			})
		}
		sls.RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
	}
	rls.RemoveIf(func(rl plog.ResourceLogs) bool { return rl.ScopeLogs().Len() == 0 })
	p.resolveWaiting(now) // facts may decide held spans
	p.enforceLogBounds(now)
	p.checkLogs(now)
	releasedSpans := p.takeReleased()
	released := p.takeReleasedLogs()
	p.mu.Unlock()

	if releasedSpans.SpanCount() > 0 {
		if err := p.next.ConsumeTraces(ctx, releasedSpans); err != nil {
			p.logger.Error("Failed to pass on released spans", zap.Error(err), zap.Int("spans", releasedSpans.SpanCount()))
		}
	}
	released.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
	if ld.LogRecordCount() == 0 {
		return nil
	}
	p.tel.logsSent.Add(ctx, int64(ld.LogRecordCount()))
	return p.nextLogs.ConsumeLogs(ctx, ld)
}

// checkLogs releases the held log records of the traces whose fate changed and, at deadline,
// those whose trace never showed up. Records of a trace still held wait for its release.
func (p *lineageProcessor) checkLogs(now time.Time) {
	b := p.logs
	for t := range b.check {
		rest := b.byTrace[t][:0]
		for _, h := range b.byTrace[t] {
			if f, ok := p.logTrace(t, h.rec.SpanID(), now); ok {
				p.rewriteLog(h.rec, f)
				p.releaseLog(h)
				continue
			}
			rest = append(rest, h)
		}
		p.setTraceLogs(t, rest)
	}
	clear(b.check)
	for b.head < len(b.queue) {
		h := b.queue[b.head]
		if !h.done && now.Before(h.deadline) {
			break
		}
		b.queue[b.head] = nil
		b.head++
		if h.done {
			continue
		}
		t, s := h.rec.TraceID(), h.rec.SpanID()
		switch f, ok := p.logTrace(t, s, now); {
		case ok:
			p.rewriteLog(h.rec, f)
		case p.traceHeld(t, s):
			// It goes out with its span or trace (their own deadline bounds the wait); queued
			// again so that the bounds and the shutdown still see it.
			h.deadline = now.Add(p.cfg.DecisionWait)
			b.queue = append(b.queue, h)
			continue
		default:
			p.stats.logsUnmatched++
			p.tel.logsUnmatched.Add(context.Background(), 1)
		}
		p.releaseLog(h)
		p.setTraceLogs(t, removeLog(b.byTrace[t], h))
	}
	p.compactLogQueue()
}

// traceHeld reports whether the span (t, s) or the trace t is held.
func (p *lineageProcessor) traceHeld(t pcommon.TraceID, s pcommon.SpanID) bool {
	if p.held[spanKey{t, s}] != nil {
		return true
	}
	u := p.traces[t]
	return u != nil && !u.released
}

func (p *lineageProcessor) setTraceLogs(t pcommon.TraceID, list []*heldLog) {
	if len(list) == 0 {
		delete(p.logs.byTrace, t)
		return
	}
	p.logs.byTrace[t] = list
}

func removeLog(list []*heldLog, h *heldLog) []*heldLog {
	for i, x := range list {
		if x == h {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

func (p *lineageProcessor) releaseLog(h *heldLog) {
	h.done = true
	p.logs.held--
	p.logs.released = append(p.logs.released, h)
}

// compactLogQueue drops the consumed front of the queue once it dominates.
func (p *lineageProcessor) compactLogQueue() {
	b := p.logs
	if b.head > 1024 && b.head*2 > len(b.queue) {
		n := copy(b.queue, b.queue[b.head:])
		clear(b.queue[n:])
		b.queue = b.queue[:n]
		b.head = 0
	}
}

// enforceLogBounds releases the oldest held log records, unchanged, while more than
// max_buffered_log_records are held.
func (p *lineageProcessor) enforceLogBounds(now time.Time) {
	b := p.logs
	evicted := 0
	for b.held > p.cfg.MaxBufferedLogRecords && b.head < len(b.queue) {
		h := b.queue[b.head]
		b.queue[b.head] = nil
		b.head++
		if h.done {
			continue
		}
		t := h.rec.TraceID()
		p.releaseLog(h)
		p.setTraceLogs(t, removeLog(b.byTrace[t], h))
		evicted++
	}
	if evicted == 0 {
		return
	}
	p.compactLogQueue()
	p.stats.logsEvicted += int64(evicted)
	p.tel.logsEvicted.Add(context.Background(), int64(evicted))
	if now.Sub(p.lastLogWarn) >= warnEvery {
		p.logger.Warn("Lineage log buffer full: released the oldest held log records without waiting for their traces",
			zap.Int("evicted_log_records", evicted), zap.Int("max_buffered_log_records", p.cfg.MaxBufferedLogRecords))
		p.lastLogWarn = now
	}
}

// flushLogs releases every held log record, rewritten where its trace is decided (shutdown,
// after all spans were released).
func (p *lineageProcessor) flushLogs(now time.Time) int {
	b := p.logs
	n := b.held
	for _, h := range b.queue[b.head:] {
		if h == nil || h.done {
			continue
		}
		if f, ok := p.logTrace(h.rec.TraceID(), h.rec.SpanID(), now); ok {
			p.rewriteLog(h.rec, f)
		}
		p.releaseLog(h)
	}
	clear(b.queue)
	b.queue, b.head = b.queue[:0], 0
	clear(b.byTrace)
	clear(b.check)
	return n
}

// takeReleasedLogs builds the output of the released log records, grouped by resource and scope.
func (p *lineageProcessor) takeReleasedLogs() plog.Logs {
	b := p.logs
	p.tel.heldLogs.Store(int64(b.held))
	out := plog.NewLogs()
	if len(b.released) == 0 {
		return out
	}
	rlOf := map[*logResHandle]plog.ResourceLogs{}
	slOf := map[*logScopeHandle]plog.ScopeLogs{}
	for _, h := range b.released {
		sl, ok := slOf[h.scope]
		if !ok {
			rl, ok := rlOf[h.scope.res]
			if !ok {
				rl = out.ResourceLogs().AppendEmpty()
				h.scope.res.rl.Resource().CopyTo(rl.Resource())
				rl.SetSchemaUrl(h.scope.res.rl.SchemaUrl())
				rlOf[h.scope.res] = rl
			}
			sl = rl.ScopeLogs().AppendEmpty()
			h.scope.sl.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(h.scope.sl.SchemaUrl())
			slOf[h.scope] = sl
		}
		h.rec.MoveTo(sl.LogRecords().AppendEmpty())
	}
	clear(b.released)
	b.released = b.released[:0]
	return out
}

// passLogs hands log records released outside ConsumeLogs (by span decisions, the ticker,
// shutdown) to the next consumer. Their producer has long returned, so a failure can only be
// logged.
func (p *lineageProcessor) passLogs(ctx context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	if n == 0 {
		return nil
	}
	p.tel.logsSent.Add(ctx, int64(n))
	err := p.nextLogs.ConsumeLogs(ctx, ld)
	if err != nil {
		p.logger.Error("Failed to pass on released log records", zap.Error(err), zap.Int("log_records", n))
	}
	return err
}
