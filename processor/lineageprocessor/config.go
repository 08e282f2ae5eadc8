package lineageprocessor // import "github.com/eventlineage/lineage/processor/lineageprocessor"

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// Mode selects how a recovered parent is written into the telemetry.
type Mode string

const (
	// ModeRewrite re-parents the span: it takes the parent's (final) trace id and span id, and every
	// span of its old trace follows it into the new trace.
	ModeRewrite Mode = "rewrite"
	// ModeLink leaves all ids untouched and records the recovered edge as span links.
	ModeLink Mode = "link"
)

// Config configures the lineage processor.
type Config struct {
	// Mode is "rewrite" (default) or "link".
	Mode Mode `mapstructure:"mode"`

	// DecisionWait is the longest time a trace (or a span waiting for its same-coordinate producer)
	// is held while its parent is undecided. Afterwards it is released unstitched. The default
	// covers Kafka Streams' default 30 s commit interval, the agent's 5 s export delay and a margin.
	DecisionWait time.Duration `mapstructure:"decision_wait"`

	// MaxBufferedSpans bounds the number of held spans. When it is reached the oldest held traces
	// are released unstitched.
	MaxBufferedSpans int `mapstructure:"max_buffered_spans"`

	// MaxBufferedBytes bounds the estimated size of the held spans (same eviction as above).
	MaxBufferedBytes int64 `mapstructure:"max_buffered_bytes"`

	// MappingTTL is how long a decided trace (and, in rewrite mode, the trace it was merged into)
	// is remembered, so that its late spans pass at once and are rewritten the same way.
	MappingTTL time.Duration `mapstructure:"mapping_ttl"`

	// MaxMappings bounds the number of remembered decisions; the oldest are forgotten first. It
	// also bounds the coordinate index.
	MaxMappings int `mapstructure:"max_mappings"`

	// IndexTTL is how long a producer or process span stays in the record coordinate index.
	IndexTTL time.Duration `mapstructure:"index_ttl"`

	// ClusterAttribute is the resource attribute naming the Kafka cluster, used for a span's
	// record coordinate when the span lacks messaging.kafka.cluster.id.
	ClusterAttribute string `mapstructure:"cluster_attribute"`

	// TableJoins declares the stream-table joins of Kafka Streams apps. A join reads the table's
	// entry for the stream record's key inside the stream record's process span, and nothing of
	// that read is observable (no span, no header): only this declaration lets the processor link
	// a join output to the table record it read (rule table_join, needs record facts).
	TableJoins []TableJoin `mapstructure:"table_joins"`

	// Connect names the Kafka Connect REST endpoints to read connector configurations from, so
	// that the spans of a connector's task threads carry its transform chain (SMTs leave no span).
	Connect ConnectConfig `mapstructure:"connect"`

	// MaxBufferedLogRecords bounds the number of log records held while their trace is
	// undecided (logs pipeline, rewrite mode). When it is reached the oldest are passed on with
	// their original ids.
	MaxBufferedLogRecords int `mapstructure:"max_buffered_log_records"`

	// FlushPairingWindow is the longest gap between the start of a changelog write at a Kafka
	// Streams cache flush and the start of the downstream forward of the same key (rule
	// streams_changelog). The captures show at most 28 ms.
	FlushPairingWindow time.Duration `mapstructure:"flush_pairing_window"`
}

// ConnectConfig configures reading connector configurations from Kafka Connect REST APIs.
type ConnectConfig struct {
	// URLs are REST base URLs of Connect clusters (one worker each), e.g. http://connect-1:8083.
	// None: no connector is described.
	URLs []string `mapstructure:"urls"`
	// RefreshInterval is how often the connectors are read again.
	RefreshInterval time.Duration `mapstructure:"refresh_interval"`
	// Timeout bounds one request.
	Timeout time.Duration `mapstructure:"timeout"`
}

// TableJoin is one declared stream-table join of a Kafka Streams app.
type TableJoin struct {
	// Service is the app's service.name.
	Service string `mapstructure:"service"`
	// Table is the topic the joined KTable (or GlobalKTable) is built from.
	Table string `mapstructure:"table"`
	// Outputs are the topics the app writes the join's results to.
	Outputs []string `mapstructure:"outputs"`
}

// maxFlushPairingWindow: a cache flush writes its records within milliseconds; a window longer
// than this would pair records of different flushes (punctuations run every few seconds).
const maxFlushPairingWindow = time.Second

var _ confmap.Validator = (*Config)(nil)

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	switch c.Mode {
	case ModeRewrite, ModeLink:
	default:
		errs = append(errs, fmt.Errorf("mode: must be %q or %q, got %q", ModeRewrite, ModeLink, c.Mode))
	}
	if c.DecisionWait <= 0 {
		errs = append(errs, fmt.Errorf("decision_wait: must be positive, got %s", c.DecisionWait))
	}
	if c.MaxBufferedSpans <= 0 {
		errs = append(errs, fmt.Errorf("max_buffered_spans: must be positive, got %d", c.MaxBufferedSpans))
	}
	if c.MaxBufferedBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_buffered_bytes: must be positive, got %d", c.MaxBufferedBytes))
	}
	if c.MaxBufferedLogRecords <= 0 {
		errs = append(errs, fmt.Errorf("max_buffered_log_records: must be positive, got %d", c.MaxBufferedLogRecords))
	}
	if c.MappingTTL <= 0 {
		errs = append(errs, fmt.Errorf("mapping_ttl: must be positive, got %s", c.MappingTTL))
	} else if c.DecisionWait > 0 && c.MappingTTL < c.DecisionWait {
		errs = append(errs, fmt.Errorf("mapping_ttl: must be at least decision_wait (%s), got %s", c.DecisionWait, c.MappingTTL))
	}
	if c.MaxMappings <= 0 {
		errs = append(errs, fmt.Errorf("max_mappings: must be positive, got %d", c.MaxMappings))
	}
	if c.IndexTTL <= 0 {
		errs = append(errs, fmt.Errorf("index_ttl: must be positive, got %s", c.IndexTTL))
	} else if c.DecisionWait > 0 && c.IndexTTL < c.DecisionWait {
		errs = append(errs, fmt.Errorf("index_ttl: must be at least decision_wait (%s), got %s", c.DecisionWait, c.IndexTTL))
	}
	if c.FlushPairingWindow <= 0 || c.FlushPairingWindow > maxFlushPairingWindow {
		errs = append(errs, fmt.Errorf("flush_pairing_window: must be positive and at most %s, got %s", maxFlushPairingWindow, c.FlushPairingWindow))
	}
	for i, j := range c.TableJoins {
		if j.Service == "" || j.Table == "" || len(j.Outputs) == 0 {
			errs = append(errs, fmt.Errorf("table_joins[%d]: service, table and outputs are required", i))
		}
		if slices.Contains(j.Outputs, j.Table) {
			errs = append(errs, fmt.Errorf("table_joins[%d]: the table topic %q cannot be an output", i, j.Table))
		}
	}
	for i, u := range c.Connect.URLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("connect::urls[%d]: want an http(s) URL, got %q", i, u))
		}
	}
	if len(c.Connect.URLs) > 0 && (c.Connect.RefreshInterval <= 0 || c.Connect.Timeout <= 0) {
		errs = append(errs, fmt.Errorf("connect: refresh_interval and timeout must be positive, got %s and %s", c.Connect.RefreshInterval, c.Connect.Timeout))
	}
	if c.ClusterAttribute == "" {
		errs = append(errs, errors.New("cluster_attribute: must not be empty"))
	}
	return errors.Join(errs...)
}
