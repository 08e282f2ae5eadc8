package counters

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCounterNamesAndErrors(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { require.NoError(t, provider.Shutdown(context.Background())) })
	set := New(provider.Meter("test"), "otelcol_test_")
	set.Counter("spans", "Spans seen.", "{span}").Add(context.Background(), 3)
	require.NoError(t, set.Err())

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	m := rm.ScopeMetrics[0].Metrics[0]
	require.Equal(t, "otelcol_test_spans", m.Name)
	require.Equal(t, "Spans seen.", m.Description)
	require.Equal(t, "{span}", m.Unit)
	require.Equal(t, int64(3), m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)

	// An invalid instrument name is an error kept for Err, and the counter is still usable.
	bad := set.Counter("not a valid name!", "", "")
	require.Error(t, set.Err())
	require.NotPanics(t, func() { bad.Add(context.Background(), 1) })
	var _ metric.Int64Counter = bad
}
