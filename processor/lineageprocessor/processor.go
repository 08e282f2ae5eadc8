package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/eventlineage/lineage/internal/connectconfig"
)

// clock is the processor's only source of time, injectable for tests.
type clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

const (
	// maxTickInterval: how often expired units are looked for. A held span leaves up to this long
	// after its decision_wait; the sweep visits only units that may be due (see expire), so ten
	// times a second costs little.
	maxTickInterval  = 100 * time.Millisecond
	warnEvery        = 10 * time.Second
	maxMappingChain  = 64
	unitKindTrace    = 0
	unitKindSpan     = 1
	statePending     = 0 // trace unit: waiting for the root span
	stateRule        = 1 // waiting for a rule to find the parent of head
	stateParent      = 2 // rewrite mode: parent found, waiting for the parent's unit to be decided
	stateReleasedAll = 3
	stateLinkWait    = 4 // a span whose links point into a held group: released after that group
)

// resHandle / scopeHandle own a copy of the resource / scope of held spans.
type resHandle struct {
	rs ptrace.ResourceSpans // resource + schema URL only, never spans
}

type scopeHandle struct {
	res *resHandle
	ss  ptrace.ScopeSpans // scope + schema URL only
}

// entry is one held span, owned by the processor.
type entry struct {
	span  ptrace.Span
	scope *scopeHandle
	info  spanInfo
	size  int64
	unit  *unit
	// linkParent: link mode, the parent recovered for this span (written as a link)
	linkParent *spanInfo
}

// unit is a group of held spans that is released together: all held spans of one trace
// (kind trace), or a consumer span waiting for its same-coordinate producer span plus the
// descendants that arrived while it was held (kind span).
type unit struct {
	kind     int
	state    int
	traceID  pcommon.TraceID // original trace id
	head     *entry          // the span whose parent is being decided (trace root, or the consumer span)
	entries  []*entry
	deadline time.Time
	// due is the deadline at creation (creation + decision_wait): never after deadline, and
	// non-decreasing along the list of units
	due        time.Time
	parent     *spanInfo // the recovered parent (rewrite mode, stateParent)
	rule       string
	seq        uint64
	wakes      []wakeReg // the keys u is registered on while it waits for a rule
	waitingOn  *unit
	dependents []*unit
	released   bool
	// extended: a trace unit kept past decision_wait because span units of its trace (a poll's
	// process spans under receive telemetry) were still undecided
	extended bool
	// prev, next: the list of unreleased units in creation order. A released unit keeps next, so
	// that a walk standing on it goes on even when its successors were released meanwhile.
	prev, next *unit
}

type lineageProcessor struct {
	cfg   *Config
	joins tableJoins
	// openSpanUnits counts the unreleased span units per original trace
	openSpanUnits map[pcommon.TraceID]int
	connect       *connectconfig.Poller // nil without Config.Connect URLs
	logger        *zap.Logger
	next          consumer.Traces // nil when no traces pipeline uses the processor
	nextLogs      consumer.Logs   // nil when no logs pipeline uses the processor
	clock         clock
	rules         []Rule
	tel           *telemetry

	mu           sync.Mutex
	traces       map[pcommon.TraceID]*unit // held trace units
	held         map[spanKey]*entry
	first        *unit // unreleased units in creation order (the oldest first)
	last         *unit
	fresh        []*unit               // units that entered stateRule since the last resolve pass
	waiters      map[wakeKey]*waitList // units in stateRule by the index keys that may decide them
	wakeBuf      []wakeKey             // scratch for the rules' wake keys
	touched      map[wakeKey]struct{}  // index keys added since the last resolve pass
	seq          uint64
	decided      *expiringMap[pcommon.TraceID, pcommon.TraceID] // trace -> trace it was merged into (itself when unchanged)
	spanRemap    *expiringMap[spanKey, pcommon.TraceID]         // moved spans (rewrite mode) -> their new trace
	emitted      *expiringMap[pcommon.TraceID, struct{}]        // undecided traces some of whose spans were passed on
	index        *coordIndex
	heldSpans    int
	heldBytes    int64
	released     []*entry
	logs         *logBuffer
	lastWarn     time.Time
	lastLogWarn  time.Time
	lastFactWarn time.Time
	suppressed   int
	stats        stats

	stopOnce sync.Once
	stop     chan struct{}
	done     sync.WaitGroup
}

// stats mirrors the counters for tests and logs.
type stats struct {
	spansIn, spansOut, lateRewritten, evicted, flushed int64
	expiredTraces, expiredSpans, linkFallbacks         int64
	synthesized                                        int64
	logsRewritten, logsUnmatched, logsEvicted          int64
	facts, factsMalformed                              int64
	edges                                              map[string]int64
}

var _ processor.Traces = (*lineageProcessor)(nil)

func newLineageProcessor(set processor.Settings, cfg *Config, next consumer.Traces, clk clock) (*lineageProcessor, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &lineageProcessor{
		cfg:   cfg,
		joins: newTableJoins(cfg.TableJoins),

		openSpanUnits: map[pcommon.TraceID]int{},
		logger:        set.Logger,
		next:          next,
		clock:         clk,
		rules:         defaultRules(cfg),
		tel:           tel,
		traces:        map[pcommon.TraceID]*unit{},
		held:          map[spanKey]*entry{},
		decided:       newExpiringMap[pcommon.TraceID, pcommon.TraceID](cfg.MappingTTL, cfg.MaxMappings),
		spanRemap:     newExpiringMap[spanKey, pcommon.TraceID](cfg.MappingTTL, cfg.MaxMappings),
		emitted:       newExpiringMap[pcommon.TraceID, struct{}](cfg.MappingTTL, cfg.MaxMappings),
		index:         newCoordIndex(cfg.IndexTTL, cfg.MaxMappings),
		stats:         stats{edges: map[string]int64{}},
		waiters:       map[wakeKey]*waitList{},
		touched:       map[wakeKey]struct{}{},
		logs:          newLogBuffer(),
		stop:          make(chan struct{}),
	}
	p.index.onExpire = p.touch
	p.connect = newConnectPoller(cfg, p)
	return p, nil
}

func (p *lineageProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (p *lineageProcessor) Start(context.Context, component.Host) error {
	if p.connect != nil {
		p.connect.Start()
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(p.tickInterval())
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.tick(context.Background())
			}
		}
	}()
	return nil
}

// Shutdown stops the ticker and releases everything still held, unstitched.
func (p *lineageProcessor) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	p.done.Wait()
	if p.connect != nil {
		p.connect.Shutdown()
	}
	p.mu.Lock()
	n := p.heldSpans
	for u := p.first; u != nil; u = u.next {
		if !u.released {
			p.forceRelease(u)
		}
	}
	p.stats.flushed += int64(n)
	p.tel.flushedSpans.Add(ctx, int64(n))
	out := p.takeReleased()
	nLogs := p.flushLogs(p.clock.Now())
	outLogs := p.takeReleasedLogs()
	p.mu.Unlock()
	var err error
	if out.SpanCount() > 0 {
		err = p.next.ConsumeTraces(ctx, out)
	}
	err = errors.Join(err, p.passLogs(ctx, outLogs))
	if n > 0 || nLogs > 0 {
		p.logger.Info("Released held spans unstitched at shutdown", zap.Int("spans", n), zap.Int("log_records", nLogs))
	}
	return errors.Join(err, p.tel.shutdown())
}

func (p *lineageProcessor) tickInterval() time.Duration {
	return max(min(p.cfg.DecisionWait/4, maxTickInterval), time.Millisecond)
}

// tick releases what has expired and forgets old mappings and index entries.
func (p *lineageProcessor) tick(ctx context.Context) {
	p.mu.Lock()
	now := p.clock.Now()
	p.resolveWaiting(now)
	p.expire(ctx, now)
	p.decided.expire(now)
	p.spanRemap.expire(now)
	p.emitted.expire(now)
	p.index.expire(now)
	p.checkLogs(now)
	out := p.takeReleased()
	outLogs := p.takeReleasedLogs()
	p.mu.Unlock()
	if out.SpanCount() > 0 {
		if err := p.next.ConsumeTraces(ctx, out); err != nil {
			p.logger.Error("Failed to pass on released spans", zap.Error(err), zap.Int("spans", out.SpanCount()))
		}
	}
	_ = p.passLogs(ctx, outLogs) // logged there
}

// tracesAttached reports whether a traces pipeline feeds the processor.
func (p *lineageProcessor) tracesAttached() bool { return p.next != nil }

func (p *lineageProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	p.tel.spansReceived.Add(ctx, int64(n))
	p.mu.Lock()
	p.stats.spansIn += int64(n)
	now := p.clock.Now()
	synthAdded := 0
	var info spanInfo // one for the whole batch: read per span, copied where it is kept
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service := stringAttr(rs.Resource().Attributes(), attrServiceName)
		cluster := stringAttr(rs.Resource().Attributes(), p.cfg.ClusterAttribute)
		var rh *resHandle
		var synth []ptrace.Span
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			var sh *scopeHandle
			handle := func() *scopeHandle {
				if sh == nil {
					if rh == nil {
						rh = &resHandle{rs: ptrace.NewResourceSpans()}
						rs.Resource().CopyTo(rh.rs.Resource())
						rh.rs.SetSchemaUrl(rs.SchemaUrl())
					}
					sh = &scopeHandle{res: rh, ss: ptrace.NewScopeSpans()}
					ss.Scope().CopyTo(sh.ss.Scope())
					sh.ss.SetSchemaUrl(ss.SchemaUrl())
				}
				return sh
			}
			ss.Spans().RemoveIf(func(span ptrace.Span) bool {
				info = readSpanInfo(span, service, cluster)
				p.index.observe(&info, now, p.touch)
				if p.ingest(span, &info, now, handle) || p.holdForLinks(span, &info, now, handle) {
					return true
				}
				p.addJoinLinks(span, &info)
				p.retargetLinks(span, now)
				p.describeConnector(span, &info)
				if st, ok := p.synthesizeStateStore(span, &info, nil); ok {
					synth = append(synth, st)
				}
				return false
			})
		}
		sss.RemoveIf(func(ss ptrace.ScopeSpans) bool { return ss.Spans().Len() == 0 })
		appendSynthScope(rs, synth)
		synthAdded += len(synth)
	}
	rss.RemoveIf(func(rs ptrace.ResourceSpans) bool { return rs.ScopeSpans().Len() == 0 })
	passed := td.SpanCount() - synthAdded
	p.stats.spansOut += int64(passed)
	p.tel.spansSent.Add(ctx, int64(passed))
	p.resolveWaiting(now)
	p.enforceBounds(ctx, now)
	p.checkLogs(now)
	released := p.takeReleased()
	releasedLogs := p.takeReleasedLogs()
	p.mu.Unlock()

	_ = p.passLogs(ctx, releasedLogs) // logged there
	released.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	if td.SpanCount() == 0 {
		return nil
	}
	return p.next.ConsumeTraces(ctx, td)
}

// ingest decides what to do with one arriving span. It returns true when the span is held (then
// its content has been moved out and it must be removed from the batch).
func (p *lineageProcessor) ingest(span ptrace.Span, info *spanInfo, now time.Time, handle func() *scopeHandle) bool {
	rewrite := p.cfg.Mode == ModeRewrite
	hold := func(u *unit) *entry { return p.holdSpan(u, span, info, handle()) }

	// A descendant of a span that was moved to another trace follows it.
	if rewrite && !info.isRoot() {
		if t, ok := p.spanRemap.get(spanKey{info.traceID, info.parentID}, now); ok {
			p.moveSpan(span, t)
			p.spanRemap.set(info.key(), t, now)
			p.countLate()
			return false
		}
	}
	// A descendant of a held consumer span waits with it — unless record facts flow: then a
	// Streams send has evidence of its own (its record's timestamp) and is decided on its own
	// below; kept, it follows its parent anyway (releaseUnstitched).
	if !info.isRoot() && !(p.index.factsSeen() && isStreamsChildOutput(info)) {
		if pe := p.held[spanKey{info.traceID, info.parentID}]; pe != nil && pe.unit.kind == unitKindSpan && !pe.unit.released {
			hold(pe.unit)
			return true
		}
	}
	// A non-root span a rule applies to (a consumer span of a known record, a Streams send) is
	// decided on its own.
	if !info.isRoot() && p.applies(info) {
		if _, _, st, _ := p.resolve(info); st != statusKeep {
			u := p.newUnit(unitKindSpan, info.traceID, now)
			u.head = hold(u)
			u.state = stateRule
			p.fresh = append(p.fresh, u)
			return true
		}
	}
	// Kept while its parent is held: it waits with its parent.
	if !info.isRoot() {
		if pe := p.held[spanKey{info.traceID, info.parentID}]; pe != nil && pe.unit.kind == unitKindSpan && !pe.unit.released {
			hold(pe.unit)
			return true
		}
	}
	if u := p.traces[info.traceID]; u != nil {
		e := hold(u)
		if info.isRoot() {
			p.onRoot(u, e, now)
		}
		return true
	}
	if target, ok := p.decided.get(info.traceID, now); ok {
		if rewrite {
			if f := p.final(target, now); f != info.traceID {
				p.moveSpan(span, f)
				p.countLate()
			}
		}
		return false
	}
	if info.isRoot() && !isBreakPoint(info) {
		p.decided.set(info.traceID, info.traceID, now)
		p.logs.traceChanged(info.traceID)
		return false
	}
	u := p.newUnit(unitKindTrace, info.traceID, now)
	p.traces[info.traceID] = u
	e := hold(u)
	if info.isRoot() {
		p.onRoot(u, e, now)
	}
	return true
}

func (p *lineageProcessor) countLate() {
	p.stats.lateRewritten++
	p.tel.lateRewritten.Add(context.Background(), 1)
}

func (p *lineageProcessor) newUnit(kind int, traceID pcommon.TraceID, now time.Time) *unit {
	p.seq++
	u := &unit{kind: kind, traceID: traceID, deadline: now.Add(p.cfg.DecisionWait), seq: p.seq}
	u.due = u.deadline
	if kind == unitKindSpan {
		p.openSpanUnits[traceID]++
	}
	u.prev = p.last
	if p.last != nil {
		p.last.next = u
	} else {
		p.first = u
	}
	p.last = u
	return u
}

// unlink takes a released unit off the list of units (u.next is kept, see unit).
func (p *lineageProcessor) unlink(u *unit) {
	if u.prev == nil && p.first != u {
		return // not on the list (any more)
	}
	if u.prev != nil {
		u.prev.next = u.next
	} else {
		p.first = u.next
	}
	if u.next != nil {
		u.next.prev = u.prev
	} else {
		p.last = u.prev
	}
	u.prev = nil
}

func (p *lineageProcessor) onRoot(u *unit, e *entry, now time.Time) {
	if u.head != nil { // a second root with the same ids: keep the first decision
		return
	}
	u.head = e
	if !isBreakPoint(&e.info) {
		p.releaseUnstitched(u, now)
		return
	}
	u.state = stateRule
	if d := now.Add(p.cfg.DecisionWait); d.After(u.deadline) {
		u.deadline = d
	}
	p.fresh = append(p.fresh, u)
}

func (p *lineageProcessor) applies(s *spanInfo) bool {
	for _, r := range p.rules {
		if r.Applies(s) {
			return true
		}
	}
	return false
}

// resolve asks the rules in order; the first that finds a parent or keeps the span wins. While
// all wait, the union of their wake keys is returned (in a scratch buffer, valid until the next
// call).
func (p *lineageProcessor) resolve(s *spanInfo) (*spanInfo, string, resolveStatus, []wakeKey) {
	wake := p.wakeBuf[:0]
	for _, r := range p.rules {
		if !r.Applies(s) {
			continue
		}
		parent, st, w := r.Resolve(p.index, s, wake)
		if st != statusWait {
			p.wakeBuf = wake[:0]
			return parent, r.Name(), st, nil
		}
		wake = w
	}
	p.wakeBuf = wake[:0]
	return nil, "", statusWait, wake
}

func (p *lineageProcessor) touch(k wakeKey) {
	if _, ok := p.waiters[k]; ok {
		p.touched[k] = struct{}{}
	}
}

// waitList holds the units registered on one wake key, in no particular order (most keys have
// one waiter: the first one needs no allocation of its own).
type waitList struct {
	key wakeKey
	ws  []waiter
	one [1]waiter
}

// waiter is a unit registered on a wake key and the index of that registration in u.wakes.
type waiter struct {
	u   *unit
	reg int
}

// wakeReg is one registration of a unit: the key's waitList and the unit's position in it, so
// that removal is O(1) (swap with the last waiter) and needs no map lookup.
type wakeReg struct {
	wl  *waitList
	pos int
}

func (p *lineageProcessor) registerWake(u *unit, keys []wakeKey) {
	if cap(u.wakes) == 0 {
		u.wakes = make([]wakeReg, 0, len(keys)) // one allocation of the right size
	}
	for _, k := range keys {
		if u.registered(k) {
			continue
		}
		wl := p.waiters[k]
		if wl == nil {
			wl = &waitList{key: k}
			wl.ws = wl.one[:0]
			p.waiters[k] = wl
		}
		u.wakes = append(u.wakes, wakeReg{wl: wl, pos: len(wl.ws)})
		wl.ws = append(wl.ws, waiter{u: u, reg: len(u.wakes) - 1})
	}
}

func (u *unit) registered(k wakeKey) bool {
	for _, r := range u.wakes {
		if r.wl.key == k {
			return true
		}
	}
	return false
}

// sameWakes reports whether u is registered on exactly the keys of keys (duplicates allowed).
func (u *unit) sameWakes(keys []wakeKey) bool {
	for _, k := range keys {
		if !u.registered(k) {
			return false
		}
	}
	// every key is registered; registrations are distinct, so equal sets have equal counts
	n := 0
	for i, k := range keys {
		if !slices.Contains(keys[:i], k) {
			n++
		}
	}
	return n == len(u.wakes)
}

func (p *lineageProcessor) unregisterWake(u *unit) {
	for _, r := range u.wakes {
		wl := r.wl
		last := len(wl.ws) - 1
		if r.pos != last {
			moved := wl.ws[last]
			wl.ws[r.pos] = moved
			moved.u.wakes[moved.reg].pos = r.pos
		}
		wl.ws[last] = waiter{}
		wl.ws = wl.ws[:last]
		if last == 0 {
			delete(p.waiters, wl.key)
		}
	}
	clear(u.wakes) // drop the waitList pointers
	u.wakes = u.wakes[:0]
}

// resolveWaiting retries every unit waiting for a rule, in creation order. All edges are found
// first and applied afterwards, so that an edge whose parent is itself decided in the same pass
// still sees that parent held (reverse links in link mode).
func (p *lineageProcessor) resolveWaiting(now time.Time) {
	// The first pass may record edges that decide other waiting units (changelog writes waiting
	// for their flush partner): run again while that happens, bounded.
	for range maxMappingChain + 1 {
		cands := p.takeCandidates()
		if len(cands) == 0 {
			return
		}
		p.resolvePass(now, cands)
	}
}

// takeCandidates returns the units to retry — the new ones and those woken by index keys added
// since the last pass — and clears both lists.
func (p *lineageProcessor) takeCandidates() []*unit {
	cands := p.fresh
	p.fresh = nil
	for k := range p.touched {
		if wl := p.waiters[k]; wl != nil {
			for _, w := range wl.ws {
				cands = append(cands, w.u)
			}
		}
	}
	clear(p.touched)
	return cands
}

func (p *lineageProcessor) resolvePass(now time.Time, cands []*unit) {
	type found struct {
		u      *unit
		parent *spanInfo
		rule   string
		st     resolveStatus
	}
	slices.SortFunc(cands, func(a, b *unit) int { return cmp.Compare(a.seq, b.seq) })
	cands = slices.Compact(cands)
	var decided []found
	for _, u := range cands {
		if u.released || u.state != stateRule {
			continue
		}
		parent, rule, st, wake := p.resolve(&u.head.info)
		if st == statusWait {
			// usually still waiting for the same keys: keep the registrations
			if !u.sameWakes(wake) {
				p.unregisterWake(u)
				p.registerWake(u, wake)
			}
			continue
		}
		p.unregisterWake(u)
		decided = append(decided, found{u, parent, rule, st})
	}
	for _, d := range decided {
		if !d.u.released && d.st == statusFound {
			p.applyEdge(d.u, d.parent, d.rule, now)
		}
	}
	for _, d := range decided {
		if !d.u.released && (d.st == statusKeep || p.cfg.Mode == ModeLink) {
			p.releaseUnstitched(d.u, now)
		}
	}
}

// applyEdge writes a recovered edge head(u) -> parent. In rewrite mode it also releases u (or
// makes it wait for its parent's unit); in link mode the caller releases u.
func (p *lineageProcessor) applyEdge(u *unit, parent *spanInfo, rule string, now time.Time) {
	if pe := p.held[parent.key()]; pe != nil && pe.unit == u {
		// the parent is held with the span itself (it would become its own ancestor): leave it
		if p.cfg.Mode == ModeRewrite {
			p.releaseUnstitched(u, now)
		}
		return
	}
	p.stats.edges[rule]++
	p.tel.edges.Add(context.Background(), 1, ruleAttr(rule))
	head := u.head
	head.span.Attributes().PutStr(attrRule, rule)
	if head.info.kind == ptrace.SpanKindProducer && isStreamThread(head.info.thread) {
		p.index.recordEdge(head.info.key(), parent, p.touch)
	}
	p.addFanIn(head, parent, rule)
	if p.cfg.Mode == ModeLink {
		p.addLinks(head, parent, rule, true)
		head.linkParent = parent
		return // released by the caller once every edge of the pass is written
	}
	u.parent, u.rule = parent, rule
	if pe := p.held[parent.key()]; pe != nil && pe.unit != u && !waitsOn(pe.unit, u) {
		u.state = stateParent
		u.waitingOn = pe.unit
		pe.unit.dependents = append(pe.unit.dependents, u)
		return
	}
	p.finishEdge(u, now)
}

// addFanIn links a flushed output (or its changelog write) to the other inputs that fed it: those
// the deciding rule names, else the same-key process spans since the key's previous emission
// (fanInContributors). Links only: ids are never changed for fan-in.
func (p *lineageProcessor) addFanIn(head *entry, parent *spanInfo, rule string) {
	var cs []*spanInfo
	if r, ok := p.ruleNamed(rule).(contributing); ok {
		cs = r.Contributors(p.index, &head.info, parent)
	} else if isStreamsRootProducer(&head.info) {
		cs = fanInContributors(p.index, &head.info, parent, p.cfg.FlushPairingWindow)
	}
	for _, c := range cs {
		l := head.span.Links().AppendEmpty()
		l.SetTraceID(c.traceID)
		l.SetSpanID(c.spanID)
		l.Attributes().PutStr(attrRule, ruleFanIn)
	}
	if n := int64(len(cs)); n > 0 {
		p.stats.edges[ruleFanIn] += n
		p.tel.edges.Add(context.Background(), n, ruleAttr(ruleFanIn))
	}
}

func (p *lineageProcessor) ruleNamed(name string) Rule {
	for _, r := range p.rules {
		if r.Name() == name {
			return r
		}
	}
	return nil
}

// addLinks records the edge head -> parent as a link on head and, when reverse is set and the
// parent span is still held, as a reverse link on the parent (marked lineage.link_direction=child).
func (p *lineageProcessor) addLinks(head *entry, parent *spanInfo, rule string, reverse bool) {
	l := head.span.Links().AppendEmpty()
	l.SetTraceID(parent.traceID)
	l.SetSpanID(parent.spanID)
	l.Attributes().PutStr(attrRule, rule)
	if !reverse {
		return
	}
	if pe := p.held[parent.key()]; pe != nil {
		rl := pe.span.Links().AppendEmpty()
		rl.SetTraceID(head.info.traceID)
		rl.SetSpanID(head.info.spanID)
		rl.Attributes().PutStr(attrRule, rule)
		rl.Attributes().PutStr(attrLinkDirection, linkDirectionChild)
	}
}

// waitsOn reports whether v (transitively) waits for u.
func waitsOn(v, u *unit) bool {
	for i := 0; v != nil && i < maxMappingChain; i++ {
		if v == u {
			return true
		}
		v = v.waitingOn
	}
	return false
}

// finishEdge re-parents head(u) to u.parent in rewrite mode and releases u.
func (p *lineageProcessor) finishEdge(u *unit, now time.Time) {
	parent := u.parent
	var f pcommon.TraceID
	if pe := p.held[parent.key()]; pe != nil {
		f = p.final(pe.span.TraceID(), now) // held spans still carry their original ids
	} else if t, ok := p.spanRemap.get(parent.key(), now); ok {
		f = t
	} else {
		f = p.final(parent.traceID, now)
	}
	head := u.head
	// a span unit whose own trace has meanwhile been merged into f is re-parented in place
	if u.kind == unitKindSpan && f != p.final(u.traceID, now) {
		tu := p.traces[u.traceID]
		// A producer span unit (streams_misparented) holds every descendant its span got since
		// it arrived, and a producer span's descendants are consumer spans that arrive after it:
		// moving it tears nothing apart.
		if (tu == nil || tu.released) && p.traceEmitted(u.traceID, now) && head.info.kind != ptrace.SpanKindProducer {
			// The span sits in a trace whose other spans (possibly its own descendants) have been
			// passed on already: moving it would tear that trace apart. Record the edge as links
			// instead.
			p.addLinks(head, parent, u.rule, false)
			p.stats.linkFallbacks++
			p.tel.linkFallbacks.Add(context.Background(), 1)
			p.releaseUnstitched(u, now)
			return
		}
		if tu != nil && !tu.released {
			p.adoptDescendants(u, tu)
		}
	}
	if orig := head.span.ParentSpanID(); !orig.IsEmpty() {
		head.span.Attributes().PutStr(attrOriginalParentSpan, orig.String())
	}
	head.span.SetParentSpanID(parent.spanID)
	if f != u.traceID {
		for _, e := range u.entries {
			p.moveSpan(e.span, f)
			if u.kind == unitKindSpan {
				p.spanRemap.set(e.info.key(), f, now)
			}
		}
	}
	if u.kind == unitKindTrace {
		p.decided.set(u.traceID, f, now)
	}
	if pe := p.held[parent.key()]; pe != nil && pe.unit != u && !pe.unit.released {
		// Finished before its parent's group (decision_wait ran out first): it joins that group,
		// so that it goes wherever its parent still goes.
		p.joinUnit(u, pe.unit)
		return
	}
	p.release(u, now)
}

// retire counts a released span unit out of its trace's open span units.
func (p *lineageProcessor) retire(u *unit) {
	if u.kind != unitKindSpan {
		return
	}
	if n := p.openSpanUnits[u.traceID] - 1; n > 0 {
		p.openSpanUnits[u.traceID] = n
	} else {
		delete(p.openSpanUnits, u.traceID)
	}
}

// joinUnit moves u's held spans and the units waiting for u into the held unit to, and retires u.
func (p *lineageProcessor) joinUnit(u, to *unit) {
	for _, e := range u.entries {
		e.unit = to
	}
	to.entries = append(to.entries, u.entries...)
	u.entries = nil
	deps := u.dependents
	u.dependents = nil
	u.released = true
	p.retire(u)
	p.unlink(u)
	u.state = stateReleasedAll
	p.unregisterWake(u)
	for _, d := range deps {
		if !d.released && d.waitingOn == u {
			d.waitingOn = to
			to.dependents = append(to.dependents, d)
		}
	}
}

// traceEmitted reports whether spans of trace t may have been passed on: the trace was decided,
// or a span unit of it was released.
func (p *lineageProcessor) traceEmitted(t pcommon.TraceID, now time.Time) bool {
	if _, ok := p.decided.get(t, now); ok {
		return true
	}
	_, ok := p.emitted.get(t, now)
	return ok
}

// adoptDescendants moves the held descendants of u's spans from the trace unit tu into u, so
// that they follow u into its new trace.
func (p *lineageProcessor) adoptDescendants(u, tu *unit) {
	ids := map[pcommon.SpanID]bool{}
	for _, e := range u.entries {
		ids[e.info.spanID] = true
	}
	for changed := true; changed; {
		changed = false
		rest := tu.entries[:0]
		for _, e := range tu.entries {
			if !e.info.isRoot() && ids[e.info.parentID] {
				ids[e.info.spanID] = true
				e.unit = u
				u.entries = append(u.entries, e)
				changed = true
				continue
			}
			rest = append(rest, e)
		}
		clear(tu.entries[len(rest):])
		tu.entries = rest
	}
}

// retargetLinks points the links of a span that is passed on at the trace their target span has
// been moved into (rewrite mode): the agent's links (Connect sink batches, receive telemetry) and
// the processor's own would otherwise dangle. The original trace id is kept on the link. A target
// moved after this span was passed on is not followed.
func (p *lineageProcessor) retargetLinks(span ptrace.Span, now time.Time) {
	if p.cfg.Mode != ModeRewrite {
		return
	}
	links := span.Links()
	for i := 0; i < links.Len(); i++ {
		l := links.At(i)
		t := l.TraceID()
		if to, ok := p.spanRemap.get(spanKey{t, l.SpanID()}, now); ok {
			t = to
		}
		if f := p.final(t, now); f != l.TraceID() {
			if _, ok := l.Attributes().Get(attrOriginalTraceID); !ok {
				l.Attributes().PutStr(attrOriginalTraceID, l.TraceID().String())
			}
			l.SetTraceID(f)
		}
	}
}

// addJoinLinks links a declared join output to the table records the join read (rule
// table_join), when their facts and process spans are known as the span is passed on.
func (p *lineageProcessor) addJoinLinks(span ptrace.Span, info *spanInfo) {
	for _, t := range p.joins.tableRecords(p.index, info) {
		l := span.Links().AppendEmpty()
		l.SetTraceID(t.traceID)
		l.SetSpanID(t.spanID)
		l.Attributes().PutStr(attrRule, ruleTableJoin)
		l.Attributes().PutStr(attrDerivedFrom, derivedFromConfig)
		p.stats.edges[ruleTableJoin]++
		p.tel.edges.Add(context.Background(), 1, ruleAttr(ruleTableJoin))
	}
}

// moveSpan rewrites the trace id of a span, keeping the original.
func (p *lineageProcessor) moveSpan(span ptrace.Span, to pcommon.TraceID) {
	if span.TraceID() == to {
		return
	}
	if _, ok := span.Attributes().Get(attrOriginalTraceID); !ok {
		span.Attributes().PutStr(attrOriginalTraceID, span.TraceID().String())
	}
	span.SetTraceID(to)
}

// final follows the remembered merges of a trace.
func (p *lineageProcessor) final(t pcommon.TraceID, now time.Time) pcommon.TraceID {
	for i := 0; i < maxMappingChain; i++ {
		next, ok := p.decided.get(t, now)
		if !ok || next == t {
			return t
		}
		t = next
	}
	return t
}

// releaseUnstitched releases u without changing its parent. A trace unit becomes decided as
// itself; a span unit whose trace is still held joins that trace's unit instead.
func (p *lineageProcessor) releaseUnstitched(u *unit, now time.Time) {
	if u.kind == unitKindSpan {
		// Its parent is held in another group (a Streams send whose own parent is still being
		// decided): it goes wherever its parent goes. Else it joins its trace's held group.
		parentKey := spanKey{u.traceID, u.head.info.parentID}
		movedTo, parentMoved := p.spanRemap.get(parentKey, now)
		tu := p.traces[u.traceID]
		if parentMoved {
			tu = nil
		}
		if pe := p.held[parentKey]; pe != nil && pe.unit != u && !pe.unit.released && !waitsOn(pe.unit, u) {
			tu = pe.unit
		}
		if tu != nil && !tu.released {
			p.joinUnit(u, tu)
			return
		}
		if p.cfg.Mode == ModeRewrite {
			// It follows its parent if that was moved on its own, else its trace's merges.
			f := p.final(u.traceID, now)
			if parentMoved {
				f = p.final(movedTo, now)
			}
			if f != u.traceID {
				for _, e := range u.entries {
					p.moveSpan(e.span, f)
					p.spanRemap.set(e.info.key(), f, now)
				}
			}
		}
	} else if _, ok := p.decided.get(u.traceID, now); !ok {
		p.decided.set(u.traceID, u.traceID, now)
	}
	p.release(u, now)
}

// forceRelease releases u at once (bounds, shutdown): a waiting edge is finished with what is
// known, anything else goes out unstitched, never merged into another held unit.
func (p *lineageProcessor) forceRelease(u *unit) {
	now := p.clock.Now()
	if u.state == stateParent && p.cfg.Mode == ModeRewrite {
		p.finishEdge(u, now)
		return
	}
	if u.kind == unitKindTrace {
		if _, ok := p.decided.get(u.traceID, now); !ok {
			p.decided.set(u.traceID, u.traceID, now)
		}
	}
	p.release(u, now)
}

// release hands u's spans to the output and finishes the units waiting for it.
func (p *lineageProcessor) release(u *unit, now time.Time) {
	if u.released {
		return
	}
	if w := p.linkTargetGroup(u); w != nil && now.Before(u.deadline) {
		// a configured link would point into a group whose trace may still change: go after it
		p.unregisterWake(u)
		u.state = stateLinkWait
		u.waitingOn = w
		w.dependents = append(w.dependents, u)
		return
	}
	u.released = true
	p.retire(u)
	p.unlink(u)
	u.state = stateReleasedAll
	p.unregisterWake(u)
	p.logs.traceChanged(u.traceID)
	if u.kind == unitKindSpan && len(u.entries) > 0 {
		p.emitted.set(u.traceID, struct{}{}, now)
	}
	if u.kind == unitKindTrace && p.traces[u.traceID] == u {
		delete(p.traces, u.traceID)
	}
	for _, e := range u.entries {
		delete(p.held, e.info.key())
		p.heldSpans--
		p.heldBytes -= e.size
		p.released = append(p.released, e)
	}
	u.entries = nil
	deps := u.dependents
	u.dependents = nil
	for _, d := range deps {
		if d.released || d.waitingOn != u {
			continue
		}
		switch d.state {
		case stateParent:
			p.finishEdge(d, now)
		case stateLinkWait:
			p.releaseUnstitched(d, now)
		}
	}
}

// linkTargetGroup returns another held, undecided group holding a span that a configured link of
// one of u's spans points to, or nil.
func (p *lineageProcessor) linkTargetGroup(u *unit) *unit {
	pending := func(k spanKey) *unit {
		if pe := p.held[k]; pe != nil && pe.unit != u && !pe.unit.released && !waitsOn(pe.unit, u) {
			return pe.unit
		}
		return nil
	}
	for _, e := range u.entries {
		for _, t := range p.joins.tableRecords(p.index, &e.info) {
			if w := pending(t.key()); w != nil {
				return w
			}
		}
		if e == u.head && u.rule == ruleSinkBatch && p.cfg.Mode == ModeRewrite {
			// the batch's other records get their own spans in their traces (splitSinkBatch)
			for _, l := range e.info.links {
				if w := pending(l); w != nil {
					return w
				}
			}
		}
	}
	return nil
}

// holdSpan takes span out of its batch (the caller removes it) into the held unit u.
func (p *lineageProcessor) holdSpan(u *unit, span ptrace.Span, info *spanInfo, scope *scopeHandle) *entry {
	e := &entry{span: ptrace.NewSpan(), scope: scope, info: *info, size: estimateSpanSize(span), unit: u}
	span.MoveTo(e.span) // no deep copy: the batch gives the span up
	u.entries = append(u.entries, e)
	p.held[info.key()] = e
	p.heldSpans++
	p.heldBytes += e.size
	return e
}

// holdForLinks holds a span that would pass now while the span its configured links point to
// (table_join) sits in a held group whose trace may still change: a link written now could point
// at a trace the target then leaves. It is released unchanged (links retargeted) after that group.
func (p *lineageProcessor) holdForLinks(span ptrace.Span, info *spanInfo, now time.Time, handle func() *scopeHandle) bool {
	for _, t := range p.joins.tableRecords(p.index, info) {
		pe := p.held[t.key()]
		if pe == nil || pe.unit.released {
			continue
		}
		u := p.newUnit(unitKindSpan, info.traceID, now)
		u.head = p.holdSpan(u, span, info, handle())
		u.state = stateLinkWait
		u.waitingOn = pe.unit
		pe.unit.dependents = append(pe.unit.dependents, u)
		return true
	}
	return false
}

// expire releases the units whose decision_wait has run out. It visits only the units that may
// be due: the walk stops at the first unit created less than decision_wait ago (those after it
// are younger), so a tick costs what expires, not what is held.
func (p *lineageProcessor) expire(ctx context.Context, now time.Time) {
	for u := p.first; u != nil; u = u.next {
		if u.released {
			continue
		}
		if now.Before(u.deadline) {
			if now.Before(u.due) {
				break
			}
			if u.extended && p.openSpanUnits[u.traceID] == 0 {
				p.releaseUnstitched(u, now) // its last waiting span was decided
			}
			continue // its root arrived later and extended the wait
		}
		switch u.state {
		case stateParent:
			p.finishEdge(u, now)
		case stateLinkWait:
			p.releaseUnstitched(u, now)
		case stateRule:
			if p.lastChance(u, now) {
				continue
			}
			if u.kind == unitKindTrace && !u.extended && p.openSpanUnits[u.traceID] > 0 {
				// Spans of this trace (a poll's process spans) still wait for their parents:
				// passing the trace on now would leave them only a link. Once more decision_wait
				// at most.
				u.extended = true
				u.deadline = now.Add(p.cfg.DecisionWait)
				continue
			}
			fallthrough
		default:
			if u.kind == unitKindTrace {
				p.stats.expiredTraces++
				p.tel.expired.Add(ctx, 1, attrUnitTrace)
			} else {
				p.stats.expiredSpans++
				p.tel.expired.Add(ctx, 1, attrUnitSpan)
			}
			p.releaseUnstitched(u, now)
		}
	}
}

// lastChance asks the rules about u once more before decision_wait releases it, telling them
// that nothing more is coming (a rule waiting only for the end of a burst decides with what it
// has). It reports whether an edge was written; u is then released or waits for its parent.
func (p *lineageProcessor) lastChance(u *unit, now time.Time) bool {
	p.unregisterWake(u)
	p.index.lastChance = true
	defer func() { p.index.lastChance = false }() // also while the edge's fan-in is gathered
	parent, rule, st, _ := p.resolve(&u.head.info)
	if st != statusFound {
		return false
	}
	p.applyEdge(u, parent, rule, now)
	if !u.released && p.cfg.Mode == ModeLink {
		p.releaseUnstitched(u, now)
	}
	return true
}

// enforceBounds releases the oldest held units while a bound is exceeded.
func (p *lineageProcessor) enforceBounds(ctx context.Context, now time.Time) {
	if p.heldSpans <= p.cfg.MaxBufferedSpans && p.heldBytes <= p.cfg.MaxBufferedBytes {
		return
	}
	var evicted int
	for u := p.first; u != nil && (p.heldSpans > p.cfg.MaxBufferedSpans || p.heldBytes > p.cfg.MaxBufferedBytes); u = u.next {
		if u.released {
			continue
		}
		before := p.heldSpans
		p.forceRelease(u)
		evicted += before - p.heldSpans
	}
	p.stats.evicted += int64(evicted)
	p.tel.evictedSpans.Add(ctx, int64(evicted))
	if now.Sub(p.lastWarn) >= warnEvery {
		p.logger.Warn("Lineage buffer full: released the oldest held spans unstitched",
			zap.Int("evicted_spans", evicted), zap.Int("suppressed_warnings", p.suppressed),
			zap.Int("max_buffered_spans", p.cfg.MaxBufferedSpans), zap.Int64("max_buffered_bytes", p.cfg.MaxBufferedBytes))
		p.lastWarn = now
		p.suppressed = 0
	} else {
		p.suppressed++
	}
}

// takeReleased builds the output of the released entries, grouped by resource and scope.
func (p *lineageProcessor) takeReleased() ptrace.Traces {
	p.tel.heldSpans.Store(int64(p.heldSpans))
	p.tel.heldBytes.Store(p.heldBytes)
	out := ptrace.NewTraces()
	if len(p.released) == 0 {
		return out
	}
	rsOf := map[*resHandle]ptrace.ResourceSpans{}
	ssOf := map[*scopeHandle]ptrace.ScopeSpans{}
	synthOf := map[*resHandle][]ptrace.Span{}
	var synthRes []*resHandle // first-seen order, for a deterministic output
	now := p.clock.Now()
	for _, e := range p.released {
		p.addJoinLinks(e.span, &e.info)
		p.retargetLinks(e.span, now)
		p.describeConnector(e.span, &e.info)
		synth := p.splitSinkBatch(e.span, &e.info)
		if st, ok := p.synthesizeStateStore(e.span, &e.info, e.linkParent); ok {
			synth = append(synth, st)
		}
		if len(synth) > 0 {
			if _, seen := synthOf[e.scope.res]; !seen {
				synthRes = append(synthRes, e.scope.res)
			}
			synthOf[e.scope.res] = append(synthOf[e.scope.res], synth...)
		}
		ss, ok := ssOf[e.scope]
		if !ok {
			rs, ok := rsOf[e.scope.res]
			if !ok {
				rs = out.ResourceSpans().AppendEmpty()
				e.scope.res.rs.Resource().CopyTo(rs.Resource())
				rs.SetSchemaUrl(e.scope.res.rs.SchemaUrl())
				rsOf[e.scope.res] = rs
			}
			ss = rs.ScopeSpans().AppendEmpty()
			e.scope.ss.Scope().CopyTo(ss.Scope())
			ss.SetSchemaUrl(e.scope.ss.SchemaUrl())
			ssOf[e.scope] = ss
		}
		e.span.MoveTo(ss.Spans().AppendEmpty())
	}
	for _, rh := range synthRes {
		appendSynthScope(rsOf[rh], synthOf[rh])
	}
	p.stats.spansOut += int64(len(p.released))
	p.tel.spansSent.Add(context.Background(), int64(len(p.released)))
	clear(p.released)
	p.released = p.released[:0]
	return out
}
