package lineage.demo;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka Streams app of the harness (application.id {@code withdrawal-processor}). Inputs
 * P+"accounts" and P+"transactions", outputs without prefix; see {@link WithdrawalTopology}.
 * Processing guarantee and record caching stay at their defaults; commit.interval.ms only when
 * {@code --commit-interval-ms} is given. Runs until SIGTERM/SIGINT, then closes (flushing caches)
 * before the JVM shuts down.
 */
public final class WithdrawalProcessor {
    private static final Logger LOG = LoggerFactory.getLogger(WithdrawalProcessor.class);

    private WithdrawalProcessor() {
    }

    public static void main(String[] argv) throws Exception {
        Args args;
        try {
            args = Args.parse(argv, Set.of("bootstrap", "input-prefix", "state-dir", "commit-interval-ms",
                    "punctuate-ms", "wait-for-topics-ms"));
        } catch (IllegalArgumentException e) {
            System.err.println("WithdrawalProcessor: " + e.getMessage());
            System.err.println("usage: WithdrawalProcessor --bootstrap H:P --input-prefix P --state-dir DIR"
                    + " [--commit-interval-ms MS] [--punctuate-ms MS] [--wait-for-topics-ms MS]");
            System.exit(2);
            return;
        }
        String bootstrap = args.required("bootstrap");
        String prefix = args.get("input-prefix", "");
        String stateDir = args.required("state-dir");
        long punctuateMs = args.getLong("punctuate-ms", 5000);
        long waitMs = args.getLong("wait-for-topics-ms", 300_000);

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, WithdrawalTopology.APPLICATION_ID);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        if (args.has("commit-interval-ms")) {
            props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.toString(args.getLong("commit-interval-ms", 0)));
        }

        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch mainDone = new CountDownLatch(1);
        Signals.onTerminate(stop::countDown, mainDone);

        List<String> inputs = List.of(prefix + "accounts", prefix + "transactions");
        if (!waitForTopics(bootstrap, inputs, waitMs, stop)) {
            LOG.info("stopped before the input topics {} existed", inputs);
            mainDone.countDown();
            System.exit(stop.getCount() == 0 ? 0 : 1);
            return;
        }

        Topology topology = WithdrawalTopology.build(prefix, Duration.ofMillis(punctuateMs));
        LOG.info("topology:\n{}", topology.describe());
        KafkaStreams streams = new KafkaStreams(topology, props);
        streams.setStateListener((now, before) -> {
            LOG.info("streams state {} -> {}", before, now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                stop.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("stream thread failed", e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.start();
        LOG.info("started withdrawal-processor: inputs {} state dir {} commit.interval.ms {} punctuate {} ms",
                inputs, stateDir, args.get("commit-interval-ms", "(default)"), punctuateMs);

        stop.await();
        boolean failed = streams.state() == KafkaStreams.State.ERROR;
        LOG.info("closing streams (state {})", streams.state());
        boolean closed = streams.close(Duration.ofSeconds(60));
        LOG.info("streams closed: {}", closed ? "clean" : "timed out");
        mainDone.countDown();
        System.exit(failed || !closed ? 1 : 0);
    }

    /** Waits until every topic exists (MirrorMaker 2 creates dc1.* only when it starts copying). */
    static boolean waitForTopics(String bootstrap, List<String> topics, long timeoutMs, CountDownLatch stop)
            throws InterruptedException {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "withdrawal-processor-topic-wait");
        long deadline = System.currentTimeMillis() + timeoutMs;
        long nextLog = 0;
        try (Admin admin = Admin.create(p)) {
            while (true) {
                try {
                    Set<String> existing = admin.listTopics().names().get(10, TimeUnit.SECONDS);
                    if (existing.containsAll(topics)) {
                        return true;
                    }
                    if (System.currentTimeMillis() >= nextLog) {
                        LOG.info("waiting for input topics {} (present: {})", topics,
                                topics.stream().filter(existing::contains).toList());
                        nextLog = System.currentTimeMillis() + 5000;
                    }
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    LOG.warn("cannot list topics yet: {}", e.toString());
                }
                if (System.currentTimeMillis() >= deadline) {
                    LOG.warn("input topics {} still missing after {} ms, starting anyway", topics, timeoutMs);
                    return true;
                }
                if (stop.await(1, TimeUnit.SECONDS)) {
                    return false;
                }
            }
        }
    }
}
