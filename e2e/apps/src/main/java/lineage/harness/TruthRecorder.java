package lineage.harness;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import lineage.demo.Args;
import lineage.demo.Json;
import lineage.demo.Signals;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records the ground truth of a harness run: tails every pipeline topic of every cluster from the
 * beginning (assign, no group, no commits, read_uncommitted), rescans topic metadata every second
 * (Streams and MirrorMaker 2 create topics late; repartition topics get purged, so they are read
 * live), writes a status file every second, and on SIGTERM drains each partition to its end offset,
 * derives truth.json ({@link TruthDeriver}) and exits 0. Run it WITHOUT the agent.
 *
 * <p>State restoration: with {@code --restored} (also {@code --restored=true|false}), or with
 * {@code --restored-marker FILE} when FILE exists at the time truth.json is derived (a runner may
 * create it when it restarts the Streams app with an empty state directory), the truth lists the
 * Streams app's restore consumer on every changelog topic ({@code "kind": "restore"},
 * {@link Scenario#withRestore}).
 */
public final class TruthRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(TruthRecorder.class);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);

    private final Scenario scenario;
    private final Map<String, ClusterTail> tails = new LinkedHashMap<>();
    private final Map<String, Rec> records = new LinkedHashMap<>();
    private final List<String> readWarnings = new ArrayList<>();
    private final long startMs = System.currentTimeMillis();
    private volatile long lastNewRecordMs = 0;
    private volatile String state = "starting";

    TruthRecorder(Scenario scenario, Map<String, String> clusters) {
        this.scenario = scenario;
        clusters.forEach((name, bootstrap) -> tails.put(name, new ClusterTail(name, bootstrap)));
    }

    public static void main(String[] argv) throws Exception {
        Args args;
        try {
            args = Args.parse(argv, Set.of("scenario", "config", "cluster", "out", "status-file", "restored-marker"),
                    Set.of("restored"));
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
            return;
        }
        Scenario scenario;
        Map<String, String> clusters = new TreeMap<>();
        try {
            scenario = Scenario.of(args.required("scenario"));
            for (String c : args.all("cluster")) {
                int eq = c.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--cluster wants NAME=HOST:PORT, got " + c);
                }
                clusters.put(c.substring(0, eq), c.substring(eq + 1));
            }
            for (String needed : scenario.clusters()) {
                if (!clusters.containsKey(needed)) {
                    throw new IllegalArgumentException("scenario " + scenario.name() + " needs --cluster " + needed
                            + "=HOST:PORT");
                }
            }
            args.required("out");
            String r = args.get("restored", "false");
            if (!r.equals("true") && !r.equals("false")) {
                throw new IllegalArgumentException("--restored wants true or false, got " + r);
            }
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
            return;
        }
        Path out = Path.of(args.required("out"));
        Path status = args.has("status-file") ? Path.of(args.get("status-file", null)) : null;
        String config = args.get("config", "");
        boolean restoredFlag = args.get("restored", "false").equals("true");
        Path restoredMarker = args.has("restored-marker") ? Path.of(args.get("restored-marker", null)) : null;

        TruthRecorder rec = new TruthRecorder(scenario, clusters);
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch mainDone = new CountDownLatch(1);
        Signals.onTerminate(() -> stop.set(true), mainDone);
        int rc = 0;
        try {
            rec.tail(stop, status);
            rec.state = "draining";
            rec.writeStatus(status);
            rec.drain();
            boolean restored = restoredFlag || restoredMarker != null && Files.exists(restoredMarker);
            if (restored) {
                scenario.withRestore();
                LOG.info("Streams app restarted: restore consumers on every changelog topic ({})",
                        restoredFlag ? "--restored" : "marker " + restoredMarker + " exists");
            }
            TruthDeriver.Result res = TruthDeriver.derive(scenario, config, clusters, rec.records.values(),
                    rec.readWarnings);
            writeAtomically(out, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(res.truth()) + "\n");
            rec.state = "done";
            rec.writeStatus(status);
            System.err.printf("truth-recorder: %d records, %d events, %d outputs, %d warnings%s -> %s%n",
                    res.records(), res.events(), res.outputs(), res.warnings().size(),
                    restored ? ", restore consumers" : "", out);
            for (String w : res.warnings().subList(0, Math.min(20, res.warnings().size()))) {
                System.err.println("truth-recorder: warning: " + w);
            }
        } catch (Exception e) {
            LOG.error("truth recorder failed", e);
            rc = 1;
        } finally {
            rec.tails.values().forEach(ClusterTail::close);
            mainDone.countDown();
        }
        System.exit(rc);
    }

    private static void usage(String msg) {
        System.err.println("TruthRecorder: " + msg);
        System.err.println("usage: TruthRecorder --scenario withdrawal|multicluster --config a|b|c"
                + " --cluster dc1=H:P [--cluster dc2=H:P] --out FILE --status-file FILE"
                + " [--restored] [--restored-marker FILE]");
        System.exit(2);
    }

    /** Tails until {@code stop}: rescans metadata and writes the status every second. */
    void tail(AtomicBoolean stop, Path status) {
        state = "tailing";
        long nextScan = 0;
        while (!stop.get()) {
            long now = System.currentTimeMillis();
            if (now >= nextScan) {
                tails.values().forEach(ClusterTail::rescan);
                writeStatus(status);
                nextScan = now + 1000;
            }
            boolean any = false;
            for (ClusterTail t : tails.values()) {
                any |= t.hasAssignment();
                t.poll(Duration.ofMillis(200));
            }
            if (!any) {
                sleep(200);
            }
        }
    }

    /** Reads every partition up to its current end offset. */
    void drain() {
        for (ClusterTail t : tails.values()) {
            t.rescan();
            t.drain();
        }
    }

    void writeStatus(Path status) {
        if (status == null) {
            return;
        }
        long now = System.currentTimeMillis();
        ObjectNode s = Json.object();
        s.put("state", state);
        s.put("records", records.size());
        s.put("ms_since_last_record", now - (lastNewRecordMs == 0 ? startMs : lastNewRecordMs));
        s.put("last_record_ms", lastNewRecordMs);
        s.put("time_ms", now);
        ObjectNode per = s.putObject("clusters");
        for (ClusterTail t : tails.values()) {
            ObjectNode c = per.putObject(t.name);
            c.put("connected", t.connected);
            c.put("topics", t.topics.size());
            c.put("partitions", t.assigned.size());
            c.put("records", t.count);
        }
        try {
            writeAtomically(status, s.toString() + "\n");
        } catch (IOException e) {
            LOG.warn("cannot write status file {}: {}", status, e.toString());
        }
    }

    static void writeAtomically(Path file, String content) throws IOException {
        Path abs = file.toAbsolutePath();
        if (abs.getParent() != null) {
            Files.createDirectories(abs.getParent());
        }
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void add(Rec r) {
        if (records.putIfAbsent(r.id(), r) == null) {
            lastNewRecordMs = System.currentTimeMillis();
        }
    }

    /** The tail of one cluster: one assign-mode consumer over the pipeline topics of that cluster. */
    private final class ClusterTail {
        final String name;
        final KafkaConsumer<byte[], byte[]> consumer;
        final Set<TopicPartition> assigned = new HashSet<>();
        final Set<String> topics = new HashSet<>();
        volatile boolean connected;
        long count;
        long lastScanErrorLog;

        ClusterTail(String name, String bootstrap) {
            this.name = name;
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, "truth-recorder-" + name);
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
            this.consumer = new KafkaConsumer<>(p);
        }

        boolean hasAssignment() {
            return !assigned.isEmpty();
        }

        /** Adds the partitions of pipeline topics that appeared since the last scan. */
        void rescan() {
            Map<String, List<PartitionInfo>> all;
            try {
                all = consumer.listTopics(Duration.ofSeconds(5));
                connected = true;
            } catch (Exception e) {
                long now = System.currentTimeMillis();
                if (now - lastScanErrorLog > 10_000) {
                    LOG.warn("cluster {}: cannot list topics: {}", name, e.toString());
                    lastScanErrorLog = now;
                }
                return;
            }
            List<TopicPartition> added = new ArrayList<>();
            for (Map.Entry<String, List<PartitionInfo>> e : all.entrySet()) {
                if (!scenario.isPipelineTopic(name, e.getKey()) || e.getValue() == null) {
                    continue;
                }
                for (PartitionInfo pi : e.getValue()) {
                    TopicPartition tp = new TopicPartition(pi.topic(), pi.partition());
                    if (!assigned.contains(tp)) {
                        added.add(tp);
                    }
                }
            }
            if (added.isEmpty()) {
                return;
            }
            assigned.addAll(added);
            added.forEach(tp -> topics.add(tp.topic()));
            consumer.assign(new ArrayList<>(assigned));
            consumer.seekToBeginning(added);
            LOG.info("cluster {}: tailing {} new partitions ({} in all): {}", name, added.size(), assigned.size(),
                    added);
        }

        void poll(Duration timeout) {
            if (assigned.isEmpty()) {
                return;
            }
            try {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
                    count++;
                    add(new Rec(name, r.topic(), r.partition(), r.offset(), r.timestamp(), r.key(), r.value()));
                }
            } catch (org.apache.kafka.common.errors.WakeupException e) {
                throw e;
            } catch (Exception e) {
                LOG.warn("cluster {}: poll failed: {}", name, e.toString());
                sleep(500);
            }
        }

        void drain() {
            if (assigned.isEmpty()) {
                return;
            }
            Map<TopicPartition, Long> end;
            try {
                end = consumer.endOffsets(assigned, Duration.ofSeconds(30));
            } catch (Exception e) {
                readWarnings.add("cluster " + name + ": cannot read end offsets while draining: " + e);
                return;
            }
            long deadline = System.currentTimeMillis() + DRAIN_TIMEOUT.toMillis();
            while (true) {
                List<String> behind = new ArrayList<>();
                for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                    try {
                        if (consumer.position(e.getKey(), Duration.ofSeconds(10)) < e.getValue()) {
                            behind.add(e.getKey() + " (" + consumer.position(e.getKey()) + " < " + e.getValue() + ")");
                        }
                    } catch (Exception ex) {
                        behind.add(e.getKey() + " (" + ex + ")");
                    }
                }
                if (behind.isEmpty()) {
                    LOG.info("cluster {}: drained {} partitions", name, end.size());
                    return;
                }
                if (System.currentTimeMillis() > deadline) {
                    readWarnings.add("cluster " + name + ": drain timed out, partitions not read to their end: "
                            + behind);
                    return;
                }
                poll(Duration.ofMillis(500));
            }
        }

        void close() {
            try {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
            } catch (Exception e) {
                LOG.debug("close failed", e);
            }
        }
    }

    Collection<Rec> records() {
        return records.values();
    }
}
