package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
)

// One lineage processor instance serves every pipeline its component id appears in: the logs
// pipeline needs the decisions the traces pipeline makes. The collector hands both factory calls
// the same *Config, which keys the instance (as the OTLP receiver shares its server).
var instances = struct {
	sync.Mutex
	m map[*Config]*sharedProcessor
}{m: map[*Config]*sharedProcessor{}}

type sharedProcessor struct {
	p       *lineageProcessor
	users   int
	started bool
}

// pipelineProcessor is one pipeline's handle on the shared instance: Start starts the instance
// once, the last Shutdown shuts it down (and flushes it).
type pipelineProcessor struct {
	*lineageProcessor
	shared   *sharedProcessor
	cfg      *Config
	shutdown sync.Once
}

var (
	_ processor.Traces = (*pipelineProcessor)(nil)
	_ processor.Logs   = (*pipelineProcessor)(nil)
)

// acquire returns a handle on the instance of cfg, creating it with set when it does not exist;
// attach connects the handle's pipeline to it.
func acquire(set processor.Settings, cfg *Config, attach func(*lineageProcessor)) (*pipelineProcessor, error) {
	instances.Lock()
	defer instances.Unlock()
	sp := instances.m[cfg]
	if sp == nil {
		p, err := newLineageProcessor(set, cfg, nil, realClock{})
		if err != nil {
			return nil, err
		}
		sp = &sharedProcessor{p: p}
		instances.m[cfg] = sp
	}
	attach(sp.p)
	sp.users++
	return &pipelineProcessor{lineageProcessor: sp.p, shared: sp, cfg: cfg}, nil
}

func (h *pipelineProcessor) Start(ctx context.Context, host component.Host) error {
	instances.Lock()
	defer instances.Unlock()
	if h.shared.started {
		return nil
	}
	h.shared.started = true
	return h.lineageProcessor.Start(ctx, host)
}

func (h *pipelineProcessor) Shutdown(ctx context.Context) error {
	var last bool
	h.shutdown.Do(func() {
		instances.Lock()
		h.shared.users--
		if last = h.shared.users == 0; last {
			delete(instances.m, h.cfg)
		}
		instances.Unlock()
	})
	if !last {
		return nil
	}
	return h.lineageProcessor.Shutdown(ctx)
}
