package lineageexporter // import "github.com/eventlineage/lineage/exporter/lineageexporter"

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/extract"
)

// warnEvery rate-limits the warning about skipped input.
const warnEvery = time.Minute

// lineageExporter extracts the lineage of each export call and writes it as one store batch.
type lineageExporter struct {
	cfg    *Config
	logger *zap.Logger
	tel    *telemetry

	store  lineagestore.Store
	hasher lineagestore.KeyHasher
	// spans remembers the recent spans' records across export calls (nil: disabled)
	spans *extract.SpanIndex

	warnMu   sync.Mutex
	lastWarn time.Time
}

func newExporter(cfg *Config, set exporter.Settings) (*lineageExporter, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &lineageExporter{cfg: cfg, logger: set.Logger, tel: tel}, nil
}

// start finds the store of the configured lineage_storage extension (extensions start first).
func (e *lineageExporter) start(_ context.Context, host component.Host) error {
	p, err := lineagestore.FromHost(host, e.cfg.Storage)
	if err != nil {
		return err
	}
	if e.store = p.LineageStore(); e.store == nil {
		return errors.New("lineage storage extension " + e.cfg.Storage.String() + " has no open store")
	}
	e.hasher = p.KeyHasher()
	return nil
}

// pushTraces writes the lineage of one export call's spans. A store error is returned to the
// exporter helper (retried, the data waiting in the sending queue); spans that cannot be used
// are counted and never fail the call.
func (e *lineageExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	b, st := extract.TracesWith(td, e.hasher, e.spans)
	if err := e.write(ctx, b); err != nil {
		return err
	}
	e.tel.spans.Add(ctx, int64(st.Spans))
	var skipped []extract.Reason
	for _, r := range st.Reasons() {
		if r.Count > 0 {
			e.tel.skipped.Add(ctx, int64(r.Count), reasonAttr(r.Name))
			skipped = append(skipped, r)
		}
	}
	e.warn(skipped)
	return nil
}

// pushLogs writes the events of one export call's record facts; other log records are ignored.
func (e *lineageExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	b, st := extract.Facts(ld)
	if err := e.write(ctx, b); err != nil {
		return err
	}
	e.tel.facts.Add(ctx, int64(st.Facts))
	var skipped []extract.Reason
	for _, r := range []extract.Reason{{Name: "malformed_facts", Count: st.Malformed}, {Name: "truncated_key_hashes", Count: st.Truncated}} {
		if r.Count > 0 {
			e.tel.skipped.Add(ctx, int64(r.Count), reasonAttr(r.Name))
			skipped = append(skipped, r)
		}
	}
	e.warn(skipped)
	return nil
}

func (e *lineageExporter) write(ctx context.Context, b *lineagestore.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if err := e.store.Write(ctx, b); err != nil {
		e.tel.writeFailures.Add(ctx, 1)
		if errors.Is(err, lineagestore.ErrInvalid) {
			// The store refuses the batch itself (extract bounds every name, so this means a
			// store limit extract does not know): retrying would block the queue forever.
			e.logger.Error("Lineage batch refused by the store as invalid; dropped", zap.Int("items", b.Len()), zap.Error(err))
			return consumererror.NewPermanent(err)
		}
		return err
	}
	for _, w := range []struct {
		item string
		n    int
	}{
		{"event", len(b.Events)}, {"touchpoint", len(b.Touchpoints)}, {"edge", len(b.Edges)},
		{"pending_edge", len(b.PendingEdges)}, {"cluster", len(b.Clusters)},
	} {
		if w.n > 0 {
			e.tel.written.Add(ctx, int64(w.n), itemAttr(w.item))
		}
	}
	return nil
}

// warn logs skipped input at most once per warnEvery (the counters have every occurrence).
func (e *lineageExporter) warn(skipped []extract.Reason) {
	if len(skipped) == 0 {
		return
	}
	e.warnMu.Lock()
	now := time.Now()
	if now.Sub(e.lastWarn) < warnEvery {
		e.warnMu.Unlock()
		return
	}
	e.lastWarn = now
	e.warnMu.Unlock()
	fields := make([]zap.Field, 0, len(skipped))
	for _, r := range skipped {
		fields = append(fields, zap.Int(r.Name, r.Count))
	}
	e.logger.Warn("Lineage exporter: input not fully usable (counted in otelcol_exporter_lineage_skipped; this warning is rate-limited)", fields...)
}
