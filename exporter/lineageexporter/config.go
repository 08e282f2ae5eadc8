package lineageexporter // import "github.com/eventlineage/lineage/exporter/lineageexporter"

import (
	"errors"

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
	if c.Storage == (component.ID{}) {
		return errors.New("storage: required: the id of a lineage_storage extension (e.g. lineage_storage)")
	}
	return nil
}
