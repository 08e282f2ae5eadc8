package kafkarecordsreceiver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/eventlineage/lineage/internal/recordfact"
)

const testSecret = "s3cret"

// newFake starts an in-process Kafka cluster with the given topics.
func newFake(t *testing.T, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID("fake-"+t.Name()), kfake.SeedTopics(partitions, topics...))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func newProducer(t *testing.T, c *kfake.Cluster) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func produce(t *testing.T, cl *kgo.Client, rs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, rs...).FirstErr())
}

// produceEventually retries while the producer's metadata lags behind topics or partitions
// created a moment ago.
func produceEventually(t *testing.T, cl *kgo.Client, rs ...*kgo.Record) {
	t.Helper()
	done := 0
	require.Eventually(t, func() bool {
		for ; done < len(rs); done++ {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := cl.ProduceSync(ctx, rs[done]).FirstErr()
			cancel()
			if err != nil {
				cl.ForceMetadataRefresh()
				return false
			}
		}
		return true
	}, 15*time.Second, 50*time.Millisecond)
}

func testConfig(topics ...string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Topics = topics
	cfg.StartAt = StartEarliest
	cfg.KeyHash.Secret = testSecret
	cfg.TopicDiscoveryInterval = 100 * time.Millisecond
	cfg.Fetch.MaxWait = 50 * time.Millisecond
	cfg.RetryOnFailure = RetryConfig{InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond}
	return cfg
}

func withCluster(cfg *Config, name string, c *kfake.Cluster) *Config {
	if cfg.Clusters == nil {
		cfg.Clusters = map[string]ClusterConfig{}
	}
	cc := defaultClusterConfig()
	cc.Brokers = c.ListenAddrs()
	cfg.Clusters[name] = cc
	return cfg
}

type running struct {
	r   *kafkaRecordsReceiver
	tel *componenttest.Telemetry
}

func start(t *testing.T, cfg *Config, next consumer.Logs) *running {
	t.Helper()
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	set := receivertest.NewNopSettings(componentType)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	r, err := newReceiver(set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		require.NoError(t, r.Shutdown(context.Background()))
		require.NoError(t, tel.Shutdown(context.Background()))
	})
	return &running{r: r, tel: tel}
}

// assigned waits until the receiver consumes n partitions in all.
func (h *running) assigned(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		got := 0
		h.r.tailersMu.Lock()
		defer h.r.tailersMu.Unlock()
		for _, tl := range h.r.tailers {
			tl.mu.Lock()
			for _, st := range tl.parts {
				if st.assigned {
					got++
				}
			}
			tl.mu.Unlock()
		}
		return got == n
	}, 10*time.Second, 10*time.Millisecond)
}

func (h *running) metric(t *testing.T, name string) int64 {
	t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil { // not recorded yet
		return 0
	}
	var total int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			total += p.Value
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			total += p.Value
		}
	default:
		t.Fatalf("%s: unexpected data %T", name, m.Data)
	}
	return total
}

// factsOf parses every fact the sink received, in arrival order.
func factsOf(t *testing.T, sink *consumertest.LogsSink) []recordfact.Fact {
	t.Helper()
	var out []recordfact.Fact
	for _, ld := range sink.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				assert.Equal(t, scopeName, sl.Scope().Name())
				for _, lr := range sl.LogRecords().All() {
					f, err := recordfact.Parse(lr, rl.Resource())
					require.NoError(t, err)
					out = append(out, f)
				}
			}
		}
	}
	return out
}

func waitFacts(t *testing.T, sink *consumertest.LogsSink, n int) []recordfact.Fact {
	t.Helper()
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= n }, 15*time.Second, 10*time.Millisecond,
		"want %d facts", n)
	// Nothing more may arrive.
	time.Sleep(200 * time.Millisecond)
	facts := factsOf(t, sink)
	require.Len(t, facts, n)
	return facts
}

// offsets lists "topic/partition@offset" of the facts, sorted, and fails on a duplicate.
func offsets(t *testing.T, facts []recordfact.Fact) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for _, f := range facts {
		k := f.String()
		require.False(t, seen[k], "duplicate fact %s", k)
		seen[k] = true
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestFacts(t *testing.T) {
	c := newFake(t, 1, "orders")
	p := newProducer(t, c)
	ts := time.UnixMilli(1795676070552).UTC()
	const tp = "00-79d1bd80a03e206975fdab7107cc5378-799b2bab82a54cbb-01"
	produce(t, p,
		&kgo.Record{Topic: "orders", Key: []byte("acct-1"), Value: []byte("value"), Timestamp: ts, Headers: []kgo.RecordHeader{
			{Key: "traceparent", Value: []byte(tp)}, {Key: "tracestate", Value: []byte("a=b")},
			{Key: "event-id", Value: []byte("e-0")}, {Key: "event-id", Value: []byte("e-1")}, {Key: "other", Value: []byte("x")},
		}},
		&kgo.Record{Topic: "orders", Timestamp: ts}, // null key, tombstone
		&kgo.Record{Topic: "orders", Key: []byte{0xff}, Value: []byte{}, Timestamp: ts, Headers: []kgo.RecordHeader{
			{Key: "traceparent", Value: []byte("00-garbage")},
		}},
	)

	cfg := withCluster(testConfig("orders"), "dc1", c)
	cfg.Key = KeyRaw
	cfg.Headers = []string{"event-id"}
	sink := &consumertest.LogsSink{}
	h := start(t, cfg, sink)
	facts := waitFacts(t, sink, 3)

	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte("acct-1"))
	f := facts[0]
	assert.Equal(t, "dc1", f.ClusterName)
	assert.Equal(t, "fake-TestFacts", f.ClusterID)
	assert.Equal(t, "orders", f.Topic)
	assert.Equal(t, int64(0), f.Offset)
	assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), f.KeyHash)
	assert.Equal(t, []byte("acct-1"), f.Key)
	assert.False(t, f.Tombstone)
	assert.Equal(t, int64(5), f.BodySize)
	assert.Equal(t, ts, f.Timestamp.UTC())
	assert.Equal(t, []string{"traceparent", "tracestate", "event-id", "event-id", "other"}, f.HeaderNames)
	assert.Equal(t, map[string][]byte{"traceparent": []byte(tp), "tracestate": []byte("a=b"), "event-id": []byte("e-1")}, f.Headers,
		"trace context and configured headers only, the last value of a repeated one")
	assert.Equal(t, "79d1bd80a03e206975fdab7107cc5378", f.TraceID.String())
	assert.Equal(t, "799b2bab82a54cbb", f.SpanID.String())
	assert.True(t, f.Sampled)

	f = facts[1]
	assert.Equal(t, int64(1), f.Offset)
	assert.Empty(t, f.KeyHash, "a null key has no hash")
	assert.Nil(t, f.Key)
	assert.True(t, f.Tombstone)
	assert.Empty(t, f.HeaderNames)

	f = facts[2]
	assert.NotEmpty(t, f.KeyHash)
	assert.False(t, f.Tombstone, "an empty value is not a tombstone")
	assert.Equal(t, map[string][]byte{"traceparent": []byte("00-garbage")}, f.Headers)
	assert.True(t, f.TraceID.IsEmpty(), "a malformed traceparent gives no trace context")

	lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, recordfact.EventName, lr.EventName())
	assert.WithinDuration(t, time.Now(), lr.ObservedTimestamp().AsTime(), time.Minute)

	assert.Equal(t, int64(3), h.metric(t, metricPfx+"facts"))
	assert.Equal(t, int64(1), h.metric(t, metricPfx+"malformed_headers"))
	assert.Equal(t, int64(3), h.metric(t, "otelcol_receiver_accepted_log_records"))
	assert.Equal(t, int64(0), h.metric(t, metricPfx+"lag"))
}

func TestKeyModes(t *testing.T) {
	r := &kgo.Record{Topic: "t", Key: []byte("k")}
	cfg := testConfig("t")
	cfg.KeyHash = KeyHashConfig{Algorithm: AlgorithmSHA256}
	f, _ := newFactBuilder(cfg).build(r)
	sum := sha256.Sum256([]byte("k"))
	assert.Equal(t, hex.EncodeToString(sum[:]), f.KeyHash)
	assert.Nil(t, f.Key, "key: hash does not report the key")

	cfg.Key = KeyNone
	f, _ = newFactBuilder(cfg).build(r)
	assert.Empty(t, f.KeyHash)
	assert.Nil(t, f.Key)
}

func TestStartLatestAndDiscovery(t *testing.T) {
	c := newFake(t, 1, "app-a-changelog", "unrelated")
	p := newProducer(t, c)
	produce(t, p, &kgo.Record{Topic: "app-a-changelog", Value: []byte("before start")})

	cfg := withCluster(testConfig("^app-.*-changelog$", "app-b-repartition"), "dc1", c)
	cfg.StartAt = StartLatest
	sink := &consumertest.LogsSink{}
	h := start(t, cfg, sink)
	h.assigned(t, 1)
	// The client lists the end offset of the assigned partition before it fetches; until then a
	// record may fall before the start. Write one record at a time until one has a fact.
	written := int64(0)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if p.ProduceSync(ctx, &kgo.Record{Topic: "app-a-changelog", Value: []byte("after start")},
			&kgo.Record{Topic: "unrelated", Value: []byte("x")}).FirstErr() != nil {
			return false
		}
		written++
		time.Sleep(50 * time.Millisecond)
		return sink.LogRecordCount() > 0
	}, 10*time.Second, time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	first := factsOf(t, sink)
	last := first[len(first)-1]
	assert.Equal(t, "dc1/app-a-changelog/0@"+strconv.FormatInt(written, 10), last.String(), "the newest record has a fact")
	for i, f := range first {
		// Facts of a contiguous run of the newest records; "before start" (offset 0) has none.
		assert.Equal(t, written-int64(len(first)-1-i), f.Offset)
		assert.NotZero(t, f.Offset)
	}

	// A new topic matched by name and a partition added later are read from their beginning,
	// even if written to before the receiver noticed them.
	adm := kadm.NewClient(p)
	ctx := context.Background()
	_, err := adm.CreateTopic(ctx, 2, 1, nil, "app-b-repartition")
	require.NoError(t, err)
	_, err = adm.CreatePartitions(ctx, 1, "app-a-changelog")
	require.NoError(t, err)
	produceEventually(t, p,
		&kgo.Record{Topic: "app-b-repartition", Partition: 0, Value: []byte("new topic")},
		&kgo.Record{Topic: "app-b-repartition", Partition: 1, Value: []byte("new topic")},
		&kgo.Record{Topic: "app-a-changelog", Partition: 1, Value: []byte("new partition")})
	facts := waitFacts(t, sink, len(first)+3)
	assert.Equal(t, []string{
		"dc1/app-a-changelog/1@0", "dc1/app-b-repartition/0@0", "dc1/app-b-repartition/1@0",
	}, offsets(t, facts[len(first):]))
	h.assigned(t, 4)
}

func TestStartAtTimestamp(t *testing.T) {
	c := newFake(t, 1, "t")
	p := newProducer(t, c)
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
	for i := range 3 {
		produce(t, p, &kgo.Record{Topic: "t", Timestamp: base.Add(time.Duration(i) * time.Hour)})
	}
	cfg := withCluster(testConfig("t"), "dc1", c)
	cfg.StartAt = base.Add(90 * time.Minute).Format(time.RFC3339Nano)
	sink := &consumertest.LogsSink{}
	start(t, cfg, sink)
	assert.Equal(t, []string{"dc1/t/0@2"}, offsets(t, waitFacts(t, sink, 1)))
}

func TestTwoClusters(t *testing.T) {
	c1, c2 := newFake(t, 2, "orders"), newFake(t, 1, "dc1.orders")
	p1, p2 := newProducer(t, c1), newProducer(t, c2)
	produce(t, p1, &kgo.Record{Topic: "orders", Partition: 1})
	produce(t, p2, &kgo.Record{Topic: "dc1.orders"}, &kgo.Record{Topic: "dc1.orders"})
	cfg := withCluster(withCluster(testConfig("orders"), "dc1", c1), "dc2", c2)
	cc := cfg.Clusters["dc2"]
	cc.Topics = []string{`^dc1\.`}
	cfg.Clusters["dc2"] = cc
	sink := &consumertest.LogsSink{}
	start(t, cfg, sink)
	assert.Equal(t, []string{"dc1/orders/1@0", "dc2/dc1.orders/0@0", "dc2/dc1.orders/0@1"}, offsets(t, waitFacts(t, sink, 3)))
}

// flaky refuses the first `fails` batches with a retryable (or permanent) error.
type flaky struct {
	consumertest.LogsSink
	fails     atomic.Int32
	permanent bool
}

func (f *flaky) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if f.fails.Add(-1) >= 0 {
		err := errors.New("downstream full")
		if f.permanent {
			return consumererror.NewPermanent(err)
		}
		return err
	}
	return f.LogsSink.ConsumeLogs(ctx, ld)
}

func TestBackpressureRetries(t *testing.T) {
	c := newFake(t, 1, "t")
	p := newProducer(t, c)
	var rs []*kgo.Record
	for range 50 {
		rs = append(rs, &kgo.Record{Topic: "t", Value: []byte("v")})
	}
	produce(t, p, rs...)
	cfg := withCluster(testConfig("t"), "dc1", c)
	cfg.Fetch.MaxRecords = 10
	sink := &flaky{}
	sink.fails.Store(3)
	h := start(t, cfg, sink)
	facts := waitFacts(t, &sink.LogsSink, 50)
	assert.Len(t, offsets(t, facts), 50)
	assert.Equal(t, int64(3), h.metric(t, metricPfx+"delivery_retries"))
	assert.Equal(t, int64(50), h.metric(t, "otelcol_receiver_accepted_log_records"))
	assert.Equal(t, int64(0), h.metric(t, "otelcol_receiver_refused_log_records"))
}

func TestPermanentErrorDrops(t *testing.T) {
	c := newFake(t, 1, "t")
	p := newProducer(t, c)
	produce(t, p, &kgo.Record{Topic: "t"})
	cfg := withCluster(testConfig("t"), "dc1", c)
	sink := &flaky{permanent: true}
	sink.fails.Store(1)
	h := start(t, cfg, sink)
	require.Eventually(t, func() bool { return sink.fails.Load() == 0 }, 10*time.Second, 10*time.Millisecond)
	produce(t, p, &kgo.Record{Topic: "t"})
	assert.Equal(t, []string{"dc1/t/0@1"}, offsets(t, waitFacts(t, &sink.LogsSink, 1)))
	assert.Equal(t, int64(1), h.metric(t, "otelcol_receiver_refused_log_records"))
	assert.Equal(t, int64(0), h.metric(t, metricPfx+"delivery_retries"))
}

// TestRereadSkipped moves the client back as an offset reset would: the records already emitted
// are read again and skipped, and the receiver moves the client on.
func TestRereadSkipped(t *testing.T) {
	c := newFake(t, 1, "t")
	p := newProducer(t, c)
	var rs []*kgo.Record
	for range 20 {
		rs = append(rs, &kgo.Record{Topic: "t"})
	}
	produce(t, p, rs...)
	cfg := withCluster(testConfig("t"), "dc1", c)
	sink := &consumertest.LogsSink{}
	h := start(t, cfg, sink)
	waitFacts(t, sink, 20)

	h.r.tailers[0].cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{"t": {0: {Epoch: -1, Offset: 0}}})
	require.Eventually(t, func() bool { return h.metric(t, metricPfx+"duplicates") > 0 }, 10*time.Second, 10*time.Millisecond)
	produce(t, p, &kgo.Record{Topic: "t"}, &kgo.Record{Topic: "t"})
	facts := waitFacts(t, sink, 22)
	assert.Len(t, offsets(t, facts), 22)
	assert.Equal(t, "dc1/t/0@21", facts[21].String())
}

func TestTopicRecreated(t *testing.T) {
	c := newFake(t, 1, "t")
	p := newProducer(t, c)
	produce(t, p, &kgo.Record{Topic: "t"}, &kgo.Record{Topic: "t"}, &kgo.Record{Topic: "t"})
	cfg := withCluster(testConfig("t"), "dc1", c)
	sink := &consumertest.LogsSink{}
	start(t, cfg, sink)
	waitFacts(t, sink, 3)

	adm := kadm.NewClient(p)
	ctx := context.Background()
	_, err := adm.DeleteTopic(ctx, "t")
	require.NoError(t, err)
	_, err = adm.CreateTopic(ctx, 1, 1, nil, "t")
	require.NoError(t, err)
	// A fresh producer: the first one holds the old topic id.
	produceEventually(t, newProducer(t, c), &kgo.Record{Topic: "t", Value: []byte("second life")})
	facts := waitFacts(t, sink, 4)
	assert.Equal(t, "dc1/t/0@0", facts[3].String())
}

// blocking holds every batch until released, as a saturated pipeline would.
type blocking struct {
	consumertest.LogsSink
	entered chan struct{} // closed when the first batch arrives
	once    sync.Once
	release chan struct{}
}

func (b *blocking) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.LogsSink.ConsumeLogs(ctx, ld)
}

// TestLagUnderBackpressure: while the next consumer holds a batch, nothing more is read, and the
// lag gauge shows the records waiting; once released, all arrive and the lag is 0.
func TestLagUnderBackpressure(t *testing.T) {
	c := newFake(t, 1, "t")
	p := newProducer(t, c)
	produce(t, p, &kgo.Record{Topic: "t"})
	cfg := withCluster(testConfig("t"), "dc1", c)
	sink := &blocking{entered: make(chan struct{}), release: make(chan struct{})}
	h := start(t, cfg, sink)
	<-sink.entered // the batch of offset 0 is held
	var rs []*kgo.Record
	for range 30 {
		rs = append(rs, &kgo.Record{Topic: "t"})
	}
	produce(t, p, rs...)
	// The high watermark (31) is listed at the next discovery round: 30 records wait.
	require.Eventually(t, func() bool { return h.metric(t, metricPfx+"lag") == 30 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 0, sink.LogRecordCount())
	close(sink.release)
	assert.Len(t, offsets(t, waitFacts(t, &sink.LogsSink, 31)), 31)
	require.Eventually(t, func() bool { return h.metric(t, metricPfx+"lag") == 0 }, 10*time.Second, 10*time.Millisecond)
}

func TestLag(t *testing.T) {
	tl := &tailer{name: "dc1", parts: map[topicPartition]*partState{
		{"a", 0}: {next: 5, hw: 12, assigned: true},
		{"a", 1}: {next: -1, hw: 3, assigned: true}, // nothing read yet: unknown
		{"b", 0}: {next: 7, hw: 7, assigned: false}, // no longer consumed
	}}
	var got []string
	var mu sync.Mutex
	tl.eachLag(func(cluster, topic string, partition int32, lag int64) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, cluster+"/"+topic+"/"+string(rune('0'+partition))+"="+string(rune('0'+lag)))
	})
	assert.Equal(t, []string{"dc1/a/0=7"}, got)
}

func TestUnreachableClusterIsNotAnError(t *testing.T) {
	cfg := testConfig("t")
	cc := defaultClusterConfig()
	cc.Brokers = []string{"127.0.0.1:1"}
	cc.DialTimeout = 100 * time.Millisecond
	cfg.Clusters = map[string]ClusterConfig{"dc1": cc}
	start(t, cfg, consumertest.NewNop())
	time.Sleep(300 * time.Millisecond)
}

func TestFactoryCreatesLogs(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, componentType, f.Type())
	cfg := withCluster(testConfig("t"), "dc1", newFake(t, 1, "t"))
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(componentType), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
}
