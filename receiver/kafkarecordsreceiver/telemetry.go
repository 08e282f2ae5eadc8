package kafkarecordsreceiver // import "github.com/eventlineage/lineage/receiver/kafkarecordsreceiver"

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/eventlineage/lineage/internal/counters"
	"github.com/eventlineage/lineage/internal/recordfact"
)

const (
	scopeName = "github.com/eventlineage/lineage/receiver/kafkarecordsreceiver"
	metricPfx = "otelcol_receiver_kafka_records_"
	// attrHeader names the header of a malformed_headers measurement.
	attrHeader = "header"
)

// telemetry holds the receiver's own metrics (created by hand: mdatagen is not available). The
// accepted/refused counts are the standard receiverhelper.ObsReport ones.
type telemetry struct {
	facts        metric.Int64Counter
	duplicates   metric.Int64Counter
	malformed    metric.Int64Counter
	fetchErrors  metric.Int64Counter
	retries      metric.Int64Counter
	lag          metric.Int64ObservableGauge
	registration metric.Registration
}

// lagSource reports, for the lag gauge, every partition whose high watermark and next offset are
// known.
type lagSource interface {
	eachLag(func(cluster, topic string, partition int32, lag int64))
}

func newTelemetry(set component.TelemetrySettings, src lagSource) (*telemetry, error) {
	m := set.MeterProvider.Meter(scopeName)
	t := &telemetry{}
	cs := counters.New(m, metricPfx)
	var errs, err error
	counter := cs.Counter
	t.facts = counter("facts", "Record facts the next consumer accepted, by cluster.", "{fact}")
	t.duplicates = counter("duplicates", "Records read again at an offset already emitted (after a broker restart or offset reset) and skipped, by cluster.", "{record}")
	t.malformed = counter("malformed_headers", "Records whose trace-context header is present but malformed (attribute header), by cluster; the fact then has no trace id.", "{record}")
	t.fetchErrors = counter("fetch_errors", "Errors returned by fetches, by cluster; the client retries them.", "{error}")
	t.retries = counter("delivery_retries", "Batches of facts retried after the next consumer refused them with a retryable error, by cluster.", "{batch}")
	t.lag, err = m.Int64ObservableGauge(metricPfx+"lag",
		metric.WithDescription("High watermark (from fetches and listed every topic_discovery_interval) minus the next offset to read, by cluster, topic and partition; known once a record of the partition was read."),
		metric.WithUnit("{record}"))
	errs = errors.Join(errs, err)
	if errs = errors.Join(cs.Err(), errs); errs != nil {
		return nil, errs
	}
	t.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		src.eachLag(func(cluster, topic string, partition int32, lag int64) {
			o.ObserveInt64(t.lag, lag, metric.WithAttributes(
				attribute.String(recordfact.AttrClusterName, cluster),
				attribute.String(recordfact.AttrTopic, topic),
				attribute.String(recordfact.AttrPartition, strconv.FormatInt(int64(partition), 10)),
			))
		})
		return nil
	}, t.lag)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func clusterAttrKV(name string) attribute.KeyValue {
	return attribute.String(recordfact.AttrClusterName, name)
}

func headerKV(name string) attribute.KeyValue {
	return attribute.String(attrHeader, name)
}

func (t *telemetry) shutdown() error {
	return t.registration.Unregister()
}
