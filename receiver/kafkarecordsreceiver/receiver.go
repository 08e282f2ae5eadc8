package kafkarecordsreceiver // import "github.com/eventlineage/lineage/receiver/kafkarecordsreceiver"

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// kafkaRecordsReceiver tails the configured clusters, one tailer each.
type kafkaRecordsReceiver struct {
	set  receiver.Settings
	cfg  *Config
	next consumer.Logs
	obs  *receiverhelper.ObsReport
	tel  *telemetry

	tailersMu sync.Mutex // the lag gauge may read while Start adds tailers
	tailers   []*tailer
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*kafkaRecordsReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              transport,
		LongLivedCtx:           true,
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	r := &kafkaRecordsReceiver{set: set, cfg: cfg, next: next, obs: obs}
	if r.tel, err = newTelemetry(set.TelemetrySettings, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Start creates one client per cluster and starts tailing. Brokers that cannot be reached are
// not an error: the clients keep retrying, and the receiver logs it.
func (r *kafkaRecordsReceiver) Start(ctx context.Context, _ component.Host) error {
	start, err := startOffset(r.cfg.StartAt)
	if err != nil {
		return err
	}
	var tailers []*tailer
	for _, name := range slices.Sorted(maps.Keys(r.cfg.Clusters)) {
		t, err := r.newTailer(ctx, name, r.cfg.Clusters[name], start)
		if err != nil {
			for _, t := range tailers {
				t.cl.Close()
			}
			return fmt.Errorf("cluster %s: %w", name, err)
		}
		tailers = append(tailers, t)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.tailersMu.Lock()
	r.tailers = tailers
	r.tailersMu.Unlock()
	for _, t := range tailers {
		r.wg.Add(2)
		go func() { defer r.wg.Done(); t.discoverLoop(runCtx) }()
		go func() { defer r.wg.Done(); t.pollLoop(runCtx) }()
	}
	return nil
}

func (r *kafkaRecordsReceiver) newTailer(ctx context.Context, name string, cc ClusterConfig, start kgo.Offset) (*tailer, error) {
	logger := r.set.Logger.With(zap.String("kafka.cluster.name", name))
	opts, err := clientOpts(ctx, cc, r.cfg, logger)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	topics := r.cfg.Topics
	if len(cc.Topics) > 0 {
		topics = cc.Topics
	}
	return &tailer{
		name: name, cfg: r.cfg, match: newTopicMatcher(topics), start: start, cl: cl,
		facts: newFactBuilder(r.cfg), next: r.next, obs: r.obs, tel: r.tel, logger: logger,
		attrs:   metric.WithAttributes(clusterAttrKV(name)),
		version: r.set.BuildInfo.Version,
		parts:   map[topicPartition]*partState{}, topicIDs: map[string][16]byte{},
	}, nil
}

// Shutdown stops reading; a batch still being retried is given up (nothing was committed, and a
// restarted receiver starts again from start_at).
func (r *kafkaRecordsReceiver) Shutdown(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	r.tailersMu.Lock()
	for _, t := range r.tailers {
		t.cl.Close()
	}
	r.tailersMu.Unlock()
	return r.tel.shutdown()
}

func (r *kafkaRecordsReceiver) eachLag(fn func(cluster, topic string, partition int32, lag int64)) {
	r.tailersMu.Lock()
	defer r.tailersMu.Unlock()
	for _, t := range r.tailers {
		t.eachLag(fn)
	}
}

// startOffset is where the partitions of the first discovery are read from.
func startOffset(startAt string) (kgo.Offset, error) {
	switch startAt {
	case StartLatest:
		return kgo.NewOffset().AtEnd(), nil
	case StartEarliest:
		return kgo.NewOffset().AtStart(), nil
	}
	ts, err := parseStartAt(startAt)
	if err != nil {
		return kgo.Offset{}, err
	}
	return kgo.NewOffset().AfterMilli(ts.UnixMilli()), nil
}
