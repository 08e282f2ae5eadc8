package kafkarecordsreceiver // import "github.com/eventlineage/lineage/receiver/kafkarecordsreceiver"

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kzap"
	"go.uber.org/zap"
)

// SASL mechanisms (configkafka's names).
const (
	saslPlain    = "PLAIN"
	saslScram256 = "SCRAM-SHA-256"
	saslScram512 = "SCRAM-SHA-512"
)

// clientOpts builds the franz-go options of one cluster from contrib's client settings (contrib's
// own builder is internal to its module). The client is a direct consumer: no group, so nothing
// is ever committed or joined, and the applications' groups never see it.
func clientOpts(ctx context.Context, cc ClusterConfig, cfg *Config, logger *zap.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.WithLogger(kzap.New(logger.Named("franz"))),
		kgo.SeedBrokers(cc.Brokers...),
		kgo.ClientID(cc.ClientID),
		// Some brokers claim support for KIP-714 client metrics and then log errors for them.
		kgo.DisableClientMetrics(),
		// Used only when a partition's offset is out of range (retention overtook the receiver,
		// or the broker lost data): resume at the oldest record rather than skip to the newest.
		// Offsets the receiver already emitted are skipped by its own bookkeeping.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(cfg.Fetch.MaxBytes),
		kgo.FetchMaxPartitionBytes(cfg.Fetch.MaxPartitionBytes),
		kgo.FetchMaxWait(cfg.Fetch.MaxWait),
		kgo.RequestRetries(cc.Metadata.Retry.Max),
		kgo.DialTimeout(cc.DialTimeout),
		kgo.ConnIdleTimeout(cc.ConnIdleTimeout),
	}
	if cfg.IsolationLevel == ReadCommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if cc.Metadata.RefreshInterval > 0 {
		opts = append(opts, kgo.MetadataMaxAge(cc.Metadata.RefreshInterval))
	}
	if b := cc.Metadata.Retry.Backoff; b > 0 {
		opts = append(opts, kgo.RetryBackoffFn(backoffFn(b, max(b, 5*time.Second))))
	}
	if cc.RackID != "" {
		opts = append(opts, kgo.Rack(cc.RackID))
	}
	if cc.ProtocolVersion != "" {
		// Validated by configkafka.
		opts = append(opts, kgo.MaxVersions(kversion.FromString(cc.ProtocolVersion)))
	}
	if cc.TLS != nil {
		tlsCfg, err := cc.TLS.LoadTLSConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		if tlsCfg != nil {
			opts = append(opts, kgo.DialTLSConfig(tlsCfg))
		}
	}
	if s := cc.Authentication.SASL; s != nil {
		switch s.Mechanism {
		case saslPlain:
			opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
		case saslScram256:
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
		case saslScram512:
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
		default: // rejected by ClusterConfig.Validate
			return nil, fmt.Errorf("auth::sasl::mechanism %q is not supported", s.Mechanism)
		}
	}
	return opts, nil
}

// backoffFn doubles from minWait up to maxWait, with ±20 % jitter so that the clients of
// several clusters do not retry in step.
func backoffFn(minWait, maxWait time.Duration) func(int) time.Duration {
	return func(fails int) time.Duration {
		d := minWait
		for i := 1; i < fails && d < maxWait; i++ {
			d *= 2
		}
		d = min(d, maxWait)
		return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	}
}
