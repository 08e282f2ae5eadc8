//go:build integration

package kafkarecordsreceiver

// Against a real Apache Kafka broker started by the project's harness (e2e/bin/kafka.sh; the
// distribution comes from e2e/bin/fetch.sh, which `make integration` runs). Run with
// `go test -race -tags integration ./receiver/...`.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/eventlineage/lineage/internal/recordfact"
)

const (
	// Ports of this test's broker; other harness runs use 19092/19093 and 29092/29093. All below
	// Linux's ephemeral port range (32768-60999), where a client socket of an earlier test could
	// hold the port.
	itPort     = "24092"
	itCtrlPort = "24093"
	itBroker   = "recv-it"
	itAddr     = "127.0.0.1:" + itPort
)

func kafkaSh(t *testing.T, args ...string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "e2e", "bin", "kafka.sh"))
	require.NoError(t, err)
	cmd := exec.Command(script, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Run(), "kafka.sh %v", args)
}

// coord is a record's coordinates, the identity of its fact.
type coord struct {
	topic     string
	partition int32
	offset    int64
}

// produceBatch writes n records spread over the topic's partitions, each with a traceparent and
// an event-id header, and returns their coordinates with the trace id each carries.
func produceBatch(t *testing.T, p *kgo.Client, topic string, partitions int32, n int, tag string) map[coord]string {
	t.Helper()
	var rs []*kgo.Record
	for i := range n {
		tid := fmt.Sprintf("%08x%024x", len(tag), i+1)
		rs = append(rs, &kgo.Record{
			Topic: topic, Partition: int32(i) % partitions,
			Key: []byte(fmt.Sprintf("acct-%02d", i%8)), Value: []byte(`{"amount":1}`),
			Headers: []kgo.RecordHeader{
				{Key: "traceparent", Value: []byte("00-" + tid + "-00000000000000aa-01")},
				{Key: "event-id", Value: []byte(fmt.Sprintf("%s-%d", tag, i))},
			},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := p.ProduceSync(ctx, rs...)
	require.NoError(t, res.FirstErr())
	out := map[coord]string{}
	for _, r := range res {
		tp := string(r.Record.Headers[0].Value)
		out[coord{r.Record.Topic, r.Record.Partition, r.Record.Offset}] = tp[3:35]
	}
	return out
}

// TestIntegrationBrokerRestart tails a real broker across a restart on the same storage: every
// record written before and after it has exactly one fact, with its trace context.
func TestIntegrationBrokerRestart(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	if libs, _ := filepath.Glob(filepath.Join(root, "e2e", ".work", "kafka", "libs", "kafka_2.13-*.jar")); len(libs) == 0 {
		t.Fatal("no Kafka distribution in e2e/.work/kafka: run e2e/bin/fetch.sh (make integration does)")
	}
	kafkaSh(t, "start", itBroker, itPort, itCtrlPort)
	t.Cleanup(func() { kafkaSh(t, "stop", itBroker) })

	p, err := kgo.NewClient(kgo.SeedBrokers(itAddr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer p.Close()
	adm := kadm.NewClient(p)
	ctx := context.Background()
	_, err = adm.CreateTopic(ctx, 3, 1, nil, "orders")
	require.NoError(t, err)
	_, err = adm.CreateTopic(ctx, 2, 1, nil, "app-store-changelog")
	require.NoError(t, err)

	want := map[coord]string{}
	add := func(m map[coord]string) {
		for k, v := range m {
			want[k] = v
		}
	}
	// Written before the receiver starts: read because start_at is earliest; timed for the
	// throughput number.
	const bulk = 20000
	add(produceBatch(t, p, "orders", 3, bulk, "bulk"))

	cfg := testConfig("orders", "^.*-changelog$")
	cfg.TopicDiscoveryInterval = time.Second
	cfg.Fetch.MaxWait = 100 * time.Millisecond
	cc := defaultClusterConfig()
	cc.Brokers = []string{itAddr}
	cc.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Clusters = map[string]ClusterConfig{"dc1": cc}
	sink := &consumertest.LogsSink{}
	t0 := time.Now()
	h := start(t, cfg, sink)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= bulk }, time.Minute, 10*time.Millisecond)
	took := time.Since(t0)
	t.Logf("MEASURED: %d facts from a real broker in %s (%.0f facts/s, start-up included)", bulk, took.Round(time.Millisecond), float64(bulk)/took.Seconds())

	add(produceBatch(t, p, "orders", 3, 300, "before-restart"))
	add(produceBatch(t, p, "app-store-changelog", 2, 100, "before-restart"))
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= len(want) }, time.Minute, 10*time.Millisecond)

	// The broker goes away under the receiver and comes back on the same storage.
	kafkaSh(t, "stop", itBroker)
	time.Sleep(3 * time.Second) // the receiver's fetches and metadata reads fail meanwhile
	restarted := time.Now()
	kafkaSh(t, "restart", itBroker)
	back := time.Now()
	t.Logf("MEASURED: broker restart took %s", back.Sub(restarted).Round(time.Millisecond))

	add(produceBatch(t, p, "orders", 3, 300, "after-restart"))
	add(produceBatch(t, p, "app-store-changelog", 2, 100, "after-restart"))
	// A topic created after the restart is found and read from its start.
	_, err = adm.CreateTopic(ctx, 1, 1, nil, "app-other-changelog")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return p.ProduceSync(ctx, &kgo.Record{Topic: "app-other-changelog"}).FirstErr() == nil
	}, time.Minute, 100*time.Millisecond)
	want[coord{"app-other-changelog", 0, 0}] = ""

	require.Eventually(t, func() bool { return sink.LogRecordCount() >= len(want) }, 2*time.Minute, 10*time.Millisecond,
		"want %d facts", len(want))
	t.Logf("MEASURED: all facts of the records written after the restart within %s of the broker answering again", time.Since(back).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // nothing more may arrive

	got := map[coord]recordfact.Fact{}
	for _, f := range factsOf(t, sink) {
		k := coord{f.Topic, f.Partition, f.Offset}
		_, dup := got[k]
		require.False(t, dup, "duplicate fact %s", f)
		got[k] = f
		assert.Equal(t, "dc1", f.ClusterName)
		assert.NotEmpty(t, f.ClusterID, "cluster id from the metadata")
	}
	for k, tid := range want {
		f, ok := got[k]
		if !assert.True(t, ok, "no fact for %v", k) || tid == "" {
			continue
		}
		assert.Equal(t, tid, f.TraceID.String(), "trace id of %v", k)
		assert.NotEmpty(t, f.KeyHash)
		assert.Contains(t, f.HeaderNames, "event-id")
	}
	assert.Len(t, got, len(want), "no fact for a record that was not written")
	// Read-only: the receiver joined no consumer group and committed nothing.
	groups, err := adm.ListGroups(ctx)
	require.NoError(t, err)
	assert.Empty(t, groups.Groups(), "consumer groups on the broker")
	assert.Equal(t, int64(0), h.metric(t, metricPfx+"lag"))
	t.Logf("MEASURED: %d facts, %d duplicates skipped, %d fetch errors during the restart",
		len(got), h.metric(t, metricPfx+"duplicates"), h.metric(t, metricPfx+"fetch_errors"))
}
