package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"
)

// LoadConfig reads a lineage processor configuration file (the YAML under `lineage:` in a
// collector configuration) over the defaults, for offline stitching (lineage-eval, tests); ""
// gives the defaults.
func LoadConfig(file string) (*Config, error) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if file == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return cfg, nil
}

// Stitch runs the processor offline over a complete set of spans (e.g. a whole capture, for
// `lineage-eval --stitch`): the record facts (kafka_records receiver output; may be empty) and
// then the spans are consumed as one batch each, decision_wait is let expire on a synthetic clock
// and everything is flushed. td is consumed (mutated); the result holds every span. cfg nil means
// the default configuration.
func Stitch(cfg *Config, td ptrace.Traces, facts plog.Logs) (ptrace.Traces, error) {
	if cfg == nil {
		cfg = createDefaultConfig().(*Config)
	}
	if err := cfg.Validate(); err != nil {
		return ptrace.Traces{}, err
	}
	var set processor.Settings
	set.ID = component.NewID(componentType)
	set.TelemetrySettings = component.TelemetrySettings{Logger: zap.NewNop(), MeterProvider: noop.NewMeterProvider()}
	collect := &collector{out: ptrace.NewTraces()}
	clk := &stepClock{t: time.Unix(0, 0)}
	p, err := newLineageProcessor(set, cfg, collect, clk)
	if err != nil {
		return ptrace.Traces{}, err
	}
	p.nextLogs = consumertest.NewNop()
	ctx := context.Background()
	err = p.ConsumeLogs(ctx, facts)
	err = errors.Join(err, p.ConsumeTraces(ctx, td))
	clk.set(clk.Now().Add(cfg.DecisionWait + time.Second))
	p.tick(ctx)
	err = errors.Join(err, p.Shutdown(ctx))
	return collect.out, err
}

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// collector appends everything it consumes to one Traces.
type collector struct {
	mu  sync.Mutex
	out ptrace.Traces
}

func (c *collector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (c *collector) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.mu.Lock()
	td.ResourceSpans().MoveAndAppendTo(c.out.ResourceSpans())
	c.mu.Unlock()
	return nil
}
