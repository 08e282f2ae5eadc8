package kafkarecordsreceiver // import "github.com/eventlineage/lineage/receiver/kafkarecordsreceiver"

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/eventlineage/lineage/internal/recordfact"
)

// transport is the ObsReport transport and format of the receiver's operations.
const transport = "kafka"

type topicPartition struct {
	topic     string
	partition int32
}

// partState is the receiver's own position in one partition. It survives the client's
// reconnects, offset resets and the topic leaving and returning to the metadata: a record below
// next has been emitted already and is skipped.
type partState struct {
	next     int64 // next offset to emit; -1 until the first record was read
	hw       int64 // high watermark from the last fetch or end-offset listing; -1 unknown
	assigned bool  // being consumed by the client
	// origin is where the partition is read from while nothing of it has been read: the
	// configured start for the first discovery's partitions, the beginning for later ones.
	origin kgo.Offset
}

// topicMatcher selects the tailed topics: exact names, and "^"-prefixed regular expressions.
type topicMatcher struct {
	names map[string]bool
	res   []*regexp.Regexp
}

func newTopicMatcher(topics []string) topicMatcher {
	m := topicMatcher{names: map[string]bool{}}
	for _, t := range topics {
		if strings.HasPrefix(t, "^") {
			m.res = append(m.res, regexp.MustCompile(t)) // validated by Config.Validate
		} else {
			m.names[t] = true
		}
	}
	return m
}

// match: internal topics (__consumer_offsets, __transaction_state) only by exact name, so that
// a broad pattern does not tail the brokers' own bookkeeping.
func (m topicMatcher) match(topic string, internal bool) bool {
	if m.names[topic] {
		return true
	}
	if internal {
		return false
	}
	for _, re := range m.res {
		if re.MatchString(topic) {
			return true
		}
	}
	return false
}

// tailer reads one cluster: a discovery loop assigns matching partitions to a group-less
// franz-go client, and a poll loop turns their records into facts.
type tailer struct {
	name    string
	cfg     *Config
	match   topicMatcher
	start   kgo.Offset // for the partitions of the first discovery
	cl      *kgo.Client
	facts   *factBuilder
	next    consumer.Logs
	obs     *receiverhelper.ObsReport
	tel     *telemetry
	logger  *zap.Logger
	attrs   metric.MeasurementOption
	version string

	mu       sync.Mutex // guards the fields below (the lag gauge reads them)
	parts    map[topicPartition]*partState
	topicIDs map[string][16]byte // of the topics whose partitions were assigned
	// initial holds the matching topics of the first successful metadata read (nil before it):
	// their partitions start at start_at, even if a topic-level error delays their assignment.
	initial   map[string]bool
	clusterID string
}

// discoverLoop reads the cluster metadata at once and then every topic_discovery_interval;
// failed reads are retried sooner, with backoff.
func (t *tailer) discoverLoop(ctx context.Context) {
	backoff := backoffFn(250*time.Millisecond, t.cfg.TopicDiscoveryInterval)
	fails := 0
	var warned time.Time
	for {
		wait := t.cfg.TopicDiscoveryInterval
		if err := t.discover(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			fails++
			wait = backoff(fails)
			// A cluster that is down for long (or not deployed yet) warns once a minute, not at
			// every retry.
			log := t.logger.Debug
			if time.Since(warned) >= time.Minute {
				log, warned = t.logger.Warn, time.Now()
			}
			log("reading the cluster metadata failed; retrying", zap.Int("failures", fails), zap.Duration("in", wait), zap.Error(err))
		} else {
			if fails > 0 {
				t.logger.Info("cluster metadata read again", zap.Int("after_failures", fails))
			}
			fails, warned = 0, time.Time{}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// discover assigns the partitions of matching topics that are not consumed yet.
func (t *tailer) discover(ctx context.Context) error {
	req := kmsg.NewPtrMetadataRequest() // no topics: all of them
	resp, err := req.RequestWith(ctx, t.cl)
	if err != nil {
		return err
	}
	add := map[string]map[int32]kgo.Offset{}
	// Topics to purge from the client: deleted ones, and re-created ones, which franz-go keeps
	// failing with UNKNOWN_TOPIC_ID until they are purged and added again.
	var purge []string
	present := map[string]bool{}

	t.mu.Lock()
	if resp.ClusterID != nil {
		t.clusterID = *resp.ClusterID
	}
	first := t.initial == nil
	if first {
		t.initial = map[string]bool{}
		for _, rt := range resp.Topics {
			if rt.Topic != nil && t.match.match(*rt.Topic, rt.IsInternal) {
				t.initial[*rt.Topic] = true
			}
		}
	}
	for _, rt := range resp.Topics {
		if rt.Topic == nil || !t.match.match(*rt.Topic, rt.IsInternal) {
			continue
		}
		topic := *rt.Topic
		present[topic] = true
		// A topic being created, or without a leader, answers with an error: the next round
		// assigns it, and what is assigned stays assigned.
		if rt.ErrorCode != 0 {
			continue
		}
		// Where a partition of this topic never read before starts: start_at for the topics of
		// the first read, until their partitions were first assigned; the beginning otherwise.
		old, had := t.topicIDs[topic]
		newOrigin := kgo.NewOffset().AtStart()
		if !had && t.initial[topic] {
			newOrigin = t.start
		}
		if had && old != rt.TopicID {
			// Deleted and created again: a new log whose offsets restart at 0.
			t.logger.Info("topic was re-created; reading it from the start", zap.String("topic", topic))
			t.forgetTopic(topic)
			purge = append(purge, topic)
		}
		t.topicIDs[topic] = rt.TopicID
		for _, p := range rt.Partitions {
			k := topicPartition{topic, p.Partition}
			st := t.parts[k]
			switch {
			case st == nil:
				st = &partState{next: -1, hw: -1, origin: newOrigin}
			case st.assigned:
				continue
			}
			off := st.origin
			if st.next >= 0 {
				// Back after a metadata round without it: continue where the receiver was.
				off = kgo.NewOffset().At(st.next)
			}
			st.assigned = true
			t.parts[k] = st
			if add[topic] == nil {
				add[topic] = map[int32]kgo.Offset{}
			}
			add[topic][p.Partition] = off
		}
	}
	gone := map[string]bool{}
	for k, st := range t.parts {
		if st.assigned && !present[k.topic] {
			st.assigned, st.hw = false, -1
			gone[k.topic] = true
		}
	}
	for topic := range gone {
		purge = append(purge, topic)
	}
	t.mu.Unlock()

	if len(purge) > 0 {
		t.cl.PurgeTopicsFromClient(purge...)
	}
	if len(add) > 0 {
		t.cl.AddConsumePartitions(add)
		n := 0
		for _, ps := range add {
			n += len(ps)
		}
		t.logger.Info("tailing partitions", zap.Int("partitions", n), zap.Int("topics", len(add)), zap.Bool("first_discovery", first))
	}
	t.refreshHighWatermarks(ctx)
	return nil
}

// refreshHighWatermarks lists the end offsets of the tailed partitions, so that the lag gauge
// keeps growing while the receiver is held back and reads nothing (backpressure): a fetch
// reports the high watermark only when it is read.
func (t *tailer) refreshHighWatermarks(ctx context.Context) {
	t.mu.Lock()
	topics := map[string]bool{}
	for k, st := range t.parts {
		if st.assigned {
			topics[k.topic] = true
		}
	}
	t.mu.Unlock()
	if len(topics) == 0 {
		return
	}
	ends, err := kadm.NewClient(t.cl).ListEndOffsets(ctx, slices.Collect(maps.Keys(topics))...)
	if err != nil {
		t.logger.Debug("listing end offsets for the lag failed", zap.Error(err))
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ends.Each(func(lo kadm.ListedOffset) {
		if st := t.parts[topicPartition{lo.Topic, lo.Partition}]; lo.Err == nil && st != nil && st.assigned {
			st.hw = max(st.hw, lo.Offset)
		}
	})
}

// forgetTopic drops the state of a topic's partitions. The caller holds t.mu.
func (t *tailer) forgetTopic(topic string) {
	for k := range t.parts {
		if k.topic == topic {
			delete(t.parts, k)
		}
	}
}

// pollLoop reads records, emits their facts and waits for the next consumer to accept them
// before reading more.
func (t *tailer) pollLoop(ctx context.Context) {
	backoff := backoffFn(250*time.Millisecond, 5*time.Second)
	fails := 0
	for {
		fetches := t.cl.PollRecords(ctx, t.cfg.Fetch.MaxRecords)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		errs := 0
		fetches.EachError(func(topic string, partition int32, err error) {
			errs++
			t.tel.fetchErrors.Add(ctx, 1, t.attrs)
			t.logger.Warn("fetch failed; the client retries", zap.String("topic", topic), zap.Int32("partition", partition), zap.Error(err))
		})
		ld, n := t.collect(ctx, fetches)
		if n > 0 && !t.deliver(ctx, ld, n) {
			return
		}
		// A poll that returns nothing but errors would otherwise spin.
		if errs > 0 && n == 0 {
			fails++
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff(fails)):
			}
		} else {
			fails = 0
		}
	}
}

// collect turns the new records of a poll into one batch of facts, skipping records at offsets
// already emitted. A partition that returned only such records is moved on to the receiver's
// position, so that a client reset to an older offset does not read the partition twice.
func (t *tailer) collect(ctx context.Context, fetches kgo.Fetches) (plog.Logs, int) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	sl.Scope().SetVersion(t.version)
	lrs := sl.LogRecords()
	now := time.Now()
	var dups, malformed int64
	var reseek map[string]map[int32]kgo.EpochOffset

	t.mu.Lock()
	recordfact.PutResource(rl.Resource(), t.name, t.clusterID)
	fetches.EachTopic(func(ft kgo.FetchTopic) {
		// Records fetched from a topic's previous incarnation (deleted and re-created since)
		// would move the new incarnation's position past records it has not read yet.
		if id, ok := t.topicIDs[ft.Topic]; ok && ft.TopicID != [16]byte{} && ft.TopicID != id {
			return
		}
		for _, p := range ft.Partitions {
			if next, onlyOld := t.collectPartition(ft.Topic, p, lrs, now, &dups, &malformed); onlyOld {
				if reseek == nil {
					reseek = map[string]map[int32]kgo.EpochOffset{}
				}
				if reseek[ft.Topic] == nil {
					reseek[ft.Topic] = map[int32]kgo.EpochOffset{}
				}
				reseek[ft.Topic][p.Partition] = kgo.EpochOffset{Epoch: -1, Offset: next}
			}
		}
	})
	t.mu.Unlock()

	if dups > 0 {
		t.tel.duplicates.Add(ctx, dups, t.attrs)
	}
	if malformed > 0 {
		t.tel.malformed.Add(ctx, malformed, metric.WithAttributes(clusterAttrKV(t.name), headerKV(recordfact.HeaderTraceparent)))
	}
	if reseek != nil {
		t.logger.Info("records read again below the receiver's position; skipping ahead", zap.Int64("skipped", dups))
		t.cl.SetOffsets(reseek)
	}
	return ld, lrs.Len()
}

// collectPartition appends the facts of a partition's new records and returns the receiver's
// position in it, and whether the partition returned only records emitted already. The caller
// holds t.mu.
func (t *tailer) collectPartition(topic string, p kgo.FetchPartition, lrs plog.LogRecordSlice, now time.Time, dups, malformed *int64) (next int64, onlyOld bool) {
	st := t.parts[topicPartition{topic, p.Partition}]
	if st == nil || !st.assigned {
		return 0, false // removed since the fetch was buffered
	}
	if p.HighWatermark >= 0 {
		st.hw = p.HighWatermark
	}
	fresh := false
	for _, r := range p.Records {
		if r.Offset < st.next {
			*dups++
			continue
		}
		f, bad := t.facts.build(r)
		if bad {
			*malformed++
		}
		f.Write(lrs.AppendEmpty(), now)
		st.next = r.Offset + 1
		fresh = true
	}
	return st.next, len(p.Records) > 0 && !fresh
}

// deliver hands a batch to the next consumer, retrying retryable errors with backoff until it is
// accepted or the receiver stops; it returns false when the receiver stops first.
func (t *tailer) deliver(ctx context.Context, ld plog.Logs, n int) bool {
	opCtx := t.obs.StartLogsOp(ctx)
	backoff := t.cfg.RetryOnFailure.InitialInterval
	for {
		err := t.next.ConsumeLogs(opCtx, ld)
		if err == nil {
			t.obs.EndLogsOp(opCtx, transport, n, nil)
			t.tel.facts.Add(ctx, int64(n), t.attrs)
			return true
		}
		if consumererror.IsPermanent(err) {
			t.obs.EndLogsOp(opCtx, transport, n, err)
			t.logger.Error("the next consumer refused facts permanently; dropped", zap.Int("facts", n), zap.Error(err))
			return true
		}
		t.tel.retries.Add(ctx, 1, t.attrs)
		t.logger.Warn("the next consumer refused facts; retrying", zap.Int("facts", n), zap.Duration("in", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			t.obs.EndLogsOp(opCtx, transport, n, errors.Join(err, ctx.Err()))
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, t.cfg.RetryOnFailure.MaxInterval)
	}
}

// eachLag reports the lag of the partitions being consumed whose position and high watermark are
// known.
func (t *tailer) eachLag(fn func(cluster, topic string, partition int32, lag int64)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, st := range t.parts {
		if st.assigned && st.next >= 0 && st.hw >= 0 {
			fn(t.name, k.topic, k.partition, max(st.hw-st.next, 0))
		}
	}
}
