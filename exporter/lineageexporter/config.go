package lineageexporter // import "github.com/eventlineage/lineage/exporter/lineageexporter"

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config configures the lineage exporter: it writes the lineage of the spans (stitched by the
// lineage processor) and of the record facts (kafka_records receiver) it receives into the
// lineage store of a lineage_storage extension.
type Config struct {
	// Storage names the lineage_storage extension to write to. Required.
	Storage component.ID `mapstructure:"storage"`

	// SpanIndexSize is how many recent spans the traces exporter remembers (their record, or
	// their nearest ancestor's), so that a span whose parent came in an earlier export call still
	// gets its touchpoint and its edge (150-200 bytes a span; 0 disables).
	SpanIndexSize int `mapstructure:"span_index_size"`

	// TimeoutConfig bounds one write attempt (timeout).
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`

	// QueueConfig is the sending queue: in memory by default; `storage: file_storage/<name>`
	// makes it persistent (see README: delivery guarantee).
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// RetryConfig retries failed writes (a store outage). The default retries without an elapsed
	// time limit (max_elapsed_time 0): lineage is not dropped while the queue has room.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the exporter's own settings; confmap validates the timeout, queue and retry
// settings themselves.
func (c *Config) Validate() error {
	var errs []error
	if c.Storage == (component.ID{}) {
		errs = append(errs, errors.New("storage: required: the id of a lineage_storage extension (e.g. lineage_storage)"))
	}
	if c.SpanIndexSize < 0 {
		errs = append(errs, fmt.Errorf("span_index_size: must not be negative (0 disables), got %d", c.SpanIndexSize))
	}
	return errors.Join(errs...)
}
