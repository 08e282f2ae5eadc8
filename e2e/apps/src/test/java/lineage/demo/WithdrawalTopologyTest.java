package lineage.demo;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import lineage.harness.Rec;
import lineage.harness.Scenario;
import lineage.harness.StreamsFormats;
import lineage.harness.TruthDeriver;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WithdrawalTopologyTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private TopologyTestDriver driver;
    private TestInputTopic<String, String> accounts;
    private TestInputTopic<String, String> transactions;
    private Path stateDir;
    private final Map<String, List<TestRecord<String, String>>> inputs = new LinkedHashMap<>();

    @BeforeEach
    void setUp() throws Exception {
        stateDir = Files.createTempDirectory("wp-test");
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, WithdrawalTopology.APPLICATION_ID);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        driver = new TopologyTestDriver(WithdrawalTopology.build("", Duration.ofSeconds(5)), props, T0);
        accounts = driver.createInputTopic("accounts", new StringSerializer(), new StringSerializer());
        transactions = driver.createInputTopic("transactions", new StringSerializer(), new StringSerializer());
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    private void account(int n) {
        TestRecord<String, String> r = new TestRecord<>(Accounts.accountId(n), Json.write(Accounts.value(n)),
                T0.plusMillis(n));
        accounts.pipeInput(r);
        inputs.computeIfAbsent("accounts", k -> new ArrayList<>()).add(r);
    }

    private void tx(int n, String account, String type, long amount) {
        txAt(n, account, type, amount, T0.plusMillis(1000 + n));
    }

    private void txAt(int n, String account, String type, long amount, Instant ts) {
        ObjectNode v = Json.object();
        v.put("event_id", TransactionGenerator.eventId(n));
        v.put("account", account);
        v.put("type", type);
        v.put("amount", amount);
        v.put("ts", ts.toEpochMilli());
        TestRecord<String, String> r = new TestRecord<>(account, v.toString(), ts);
        transactions.pipeInput(r);
        inputs.computeIfAbsent("transactions", k -> new ArrayList<>()).add(r);
    }

    private List<TestRecord<byte[], byte[]>> raw(String topic) {
        return driver.createOutputTopic(topic, new ByteArrayDeserializer(), new ByteArrayDeserializer())
                .readRecordsToList();
    }

    private static List<String> ids(JsonNode v) {
        List<String> out = new ArrayList<>();
        v.get("event_ids").forEach(n -> out.add(n.asText()));
        return out;
    }

    private List<JsonNode> values(String topic) {
        TestOutputTopic<String, String> out = driver.createOutputTopic(topic, new StringDeserializer(),
                new StringDeserializer());
        List<JsonNode> vs = new ArrayList<>();
        for (String v : out.readValuesToList()) {
            vs.add(Json.parseObject(v));
        }
        return vs;
    }

    /** acct-01 limit 900, acct-02 limit 700 (Accounts.limit). */
    private void standardInput() {
        account(1);
        account(2);
        tx(1, "acct-01", "withdrawal", 100); // approved
        tx(2, "acct-01", "withdrawal", 950); // over 900 -> rejected
        tx(3, "acct-02", "deposit", 50);
        tx(4, "acct-77", "withdrawal", 10); // unknown account -> rejected
        tx(5, "acct-02", "withdrawal", 700); // == limit -> approved
    }

    @Test
    void internalTopicNamesMatchTheCaptureFormat() {
        standardInput();
        txAt(6, "acct-01", "withdrawal", 10, T0.plusSeconds(15)); // closes the windows of [T0, T0+10s)
        driver.advanceWallClockTime(Duration.ofSeconds(6));
        Set<String> produced = driver.producedTopicNames();
        for (String t : List.of("withdrawal-processor-balances-changelog", "withdrawal-processor-type-totals-changelog",
                "withdrawal-processor-accounts-store-changelog", "withdrawal-processor-summary-buffer-changelog",
                "withdrawal-processor-by-type-repartition", "withdrawals-approved", "withdrawals-rejected",
                "balance-updates", "type-totals", "summaries", "withdrawal-windows",
                "withdrawal-processor-withdrawal-windows-changelog",
                "withdrawal-processor-withdrawal-windows-suppress-store-changelog")) {
            assertTrue(produced.contains(t), t + " not produced; got " + produced);
        }
        for (String t : produced) {
            assertTrue(Scenario.of("withdrawal").isPipelineTopic("dc1", t), "unexpected topic " + t);
        }
    }

    @Test
    void decisions() {
        standardInput();
        List<JsonNode> approved = values("withdrawals-approved");
        List<JsonNode> rejected = values("withdrawals-rejected");
        assertEquals(List.of("tx-0001", "tx-0005"), approved.stream().map(v -> v.get("event_id").asText()).toList());
        assertEquals(List.of("tx-0002", "tx-0004"), rejected.stream().map(v -> v.get("event_id").asText()).toList());
        JsonNode a = approved.get(0);
        assertEquals("acct-01", a.get("account").asText());
        assertEquals(100, a.get("amount").asLong());
        assertEquals("approved", a.get("decision").asText());
        assertEquals("acct-ev-0001", a.get("account_event_id").asText());
        assertEquals("acct-ev-0002", approved.get(1).get("account_event_id").asText());
        JsonNode over = rejected.get(0);
        assertEquals("rejected", over.get("decision").asText());
        assertTrue(over.get("reason").asText().contains("exceeds limit 900"), over.toString());
        assertEquals("acct-ev-0001", over.get("account_event_id").asText());
        JsonNode unknown = rejected.get(1);
        assertEquals("unknown account", unknown.get("reason").asText());
        assertTrue(unknown.get("account_event_id").isNull());
    }

    @Test
    void balancesAndTypeTotals() {
        standardInput();
        List<JsonNode> balances = values("balance-updates");
        assertEquals(5, balances.size());
        JsonNode last01 = balances.get(1);
        assertEquals("acct-01", last01.get("account").asText());
        assertEquals(-1050, last01.get("balance").asLong());
        assertEquals(2, last01.get("count").asLong());
        assertEquals("tx-0002", last01.get("last_event_id").asText());
        JsonNode last02 = balances.get(4);
        assertEquals(-650, last02.get("balance").asLong());
        assertEquals(2, last02.get("count").asLong());
        assertEquals(balances, values("withdrawal-processor-balances-changelog"));

        List<JsonNode> totals = values("type-totals");
        JsonNode w = totals.get(totals.size() - 1);
        assertEquals("withdrawal", w.get("type").asText());
        assertEquals(4, w.get("count").asLong());
        assertEquals(100 + 950 + 10 + 700, w.get("total").asLong());
        assertEquals("tx-0005", w.get("last_event_id").asText());
        List<JsonNode> repartition = values("withdrawal-processor-by-type-repartition");
        assertEquals(5, repartition.size());
        assertEquals("tx-0003", repartition.get(2).get("event_id").asText());
    }

    @Test
    void punctuatorEmitsBufferedIdsInOffsetOrderAndClearsTheBuffer() {
        standardInput();
        TestOutputTopic<String, String> changelog = driver.createOutputTopic(
                "withdrawal-processor-summary-buffer-changelog", new StringDeserializer(), new StringDeserializer());
        driver.advanceWallClockTime(Duration.ofSeconds(6));
        List<TestRecord<String, String>> summaries = driver.createOutputTopic("summaries", new StringDeserializer(),
                new StringDeserializer()).readRecordsToList();
        assertEquals(1, summaries.size());
        assertEquals("summary", summaries.get(0).key());
        JsonNode s = Json.parseObject(summaries.get(0).value());
        assertEquals(1, s.get("seq").asLong());
        assertEquals("0_0", s.get("task").asText());
        List<String> ids = new ArrayList<>();
        s.get("event_ids").forEach(n -> ids.add(n.asText()));
        assertEquals(List.of("tx-0001", "tx-0002", "tx-0003", "tx-0004", "tx-0005"), ids);

        List<TestRecord<String, String>> cl = changelog.readRecordsToList();
        assertEquals(10, cl.size());
        for (int i = 0; i < 5; i++) {
            JsonNode put = Json.parseObject(cl.get(i).value());
            assertEquals(cl.get(i).key(), put.get("event_id").asText());
            assertEquals(i, put.get("offset").asLong());
            assertEquals(cl.get(i).key(), put.get("transaction").get("event_id").asText());
            assertNull(cl.get(5 + i).value(), "tombstone expected");
        }
        // Nothing buffered: the next punctuation emits nothing.
        driver.advanceWallClockTime(Duration.ofSeconds(6));
        assertTrue(driver.createOutputTopic("summaries", new StringDeserializer(), new StringDeserializer())
                .isEmpty());
    }

    @Test
    void withdrawalWindowsAreEmittedOnlyOnceALaterWithdrawalClosesThem() {
        txAt(1, "acct-01", "withdrawal", 100, T0.plusSeconds(1));
        txAt(2, "acct-02", "withdrawal", 20, T0.plusSeconds(2));
        txAt(3, "acct-01", "withdrawal", 30, T0.plusSeconds(3));
        txAt(4, "acct-01", "deposit", 40, T0.plusSeconds(4)); // not a withdrawal: not in any window
        TestOutputTopic<String, String> out = driver.createOutputTopic("withdrawal-windows", new StringDeserializer(),
                new StringDeserializer());
        assertTrue(out.isEmpty(), "windows still open");
        // A deposit past the window end advances the task's stream time, but not the suppress
        // operator's: it only sees withdrawals.
        txAt(5, "acct-02", "deposit", 50, T0.plusSeconds(12));
        assertTrue(out.isEmpty(), "suppress has not seen a later withdrawal yet");
        // A withdrawal of ANOTHER account, exactly at the window end, closes both windows: their
        // results are forwarded while this record is processed.
        txAt(6, "acct-03", "withdrawal", 60, T0.plusSeconds(10));
        List<TestRecord<String, String>> results = out.readRecordsToList();
        assertEquals(2, results.size(), results.toString());
        assertEquals("acct-01", results.get(0).key());
        JsonNode w1 = Json.parseObject(results.get(0).value());
        List<String> fields = new ArrayList<>();
        w1.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("account", "window_start", "window_end", "count", "event_ids"), fields);
        assertEquals("acct-01", w1.get("account").asText());
        assertEquals(T0.toEpochMilli(), w1.get("window_start").asLong());
        assertEquals(T0.toEpochMilli() + 10_000, w1.get("window_end").asLong());
        assertEquals(2, w1.get("count").asLong());
        assertEquals(List.of("tx-0001", "tx-0003"), ids(w1));
        // the result keeps the record context (timestamp) of the window's last update
        assertEquals(T0.plusSeconds(3), results.get(0).getRecordTime());
        JsonNode w2 = Json.parseObject(results.get(1).value());
        assertEquals("acct-02", results.get(1).key());
        assertEquals(List.of("tx-0002"), ids(w2));
        assertEquals(1, w2.get("count").asLong());

        // Window store changelog: one record per withdrawal (uncached), key = account + start + seqnum.
        List<TestRecord<byte[], byte[]>> cl = raw("withdrawal-processor-withdrawal-windows-changelog");
        assertEquals(4, cl.size());
        StreamsFormats.WindowedKey k0 = StreamsFormats.windowStoreChangelogKey(cl.get(0).key());
        assertEquals("acct-01", k0.key());
        assertEquals(T0.toEpochMilli(), k0.windowStart());
        assertEquals(0, k0.seqnum());
        assertEquals(List.of("tx-0001"), ids(Json.parseObject(new String(cl.get(0).value(), UTF_8))));
        JsonNode third = Json.parseObject(new String(cl.get(2).value(), UTF_8));
        assertEquals(List.of("tx-0001", "tx-0003"), ids(third));
        assertEquals(2, third.get("count").asLong());
        StreamsFormats.WindowedKey k3 = StreamsFormats.windowStoreChangelogKey(cl.get(3).key());
        assertEquals("acct-03", k3.key());
        assertEquals(T0.toEpochMilli() + 10_000, k3.windowStart());

        // Suppress buffer changelog: written at commit (the driver commits after every input record).
        List<TestRecord<byte[], byte[]>> buf = raw("withdrawal-processor-withdrawal-windows-suppress-store-changelog");
        List<String> seen = new ArrayList<>();
        for (TestRecord<byte[], byte[]> r : buf) {
            StreamsFormats.WindowedKey k = StreamsFormats.timeWindowedKey(r.key());
            if (r.value() == null) {
                seen.add(k.window() + " tombstone");
                continue;
            }
            assertEquals(List.of((byte) 3), List.of(r.headers().lastHeader("v").value()[0]), "buffer format version");
            StreamsFormats.BufferedChange bc = StreamsFormats.suppressBufferValue(r.value());
            JsonNode agg = Json.parseObject(bc.newValueString());
            assertEquals(k.windowStart() + 10_000, bc.bufferTime());
            assertEquals("transactions", bc.contextTopic());
            assertEquals(0, bc.contextPartition());
            seen.add(k.window() + " " + ids(agg) + " @" + bc.contextOffset());
        }
        long t0 = T0.toEpochMilli();
        assertEquals(List.of("acct-01@" + t0 + " [tx-0001] @0", "acct-02@" + t0 + " [tx-0002] @1",
                "acct-01@" + t0 + " [tx-0001, tx-0003] @2", "acct-01@" + t0 + " tombstone",
                "acct-02@" + t0 + " tombstone", "acct-03@" + (t0 + 10_000) + " [tx-0006] @5"), lastCommitSorted(seen, 3));
    }

    /**
     * The buffer logs the keys a commit touched in hash-set order: sort the records of the last
     * commit (from index {@code from}: tombstones first, then by text).
     */
    private static List<String> lastCommitSorted(List<String> seen, int from) {
        List<String> out = new ArrayList<>(seen.subList(0, from));
        List<String> tail = new ArrayList<>(seen.subList(from, seen.size()));
        tail.sort(java.util.Comparator.comparing((String s) -> !s.contains("tombstone")).thenComparing(s -> s));
        out.addAll(tail);
        return out;
    }

    /** The truth derived from what the topology really produced is complete: every record has its parents. */
    @Test
    void truthOfTheRealTopologyHasNoWarnings() {
        standardInput();
        driver.advanceWallClockTime(Duration.ofSeconds(6));
        tx(6, "acct-02", "deposit", 30);
        driver.advanceWallClockTime(Duration.ofSeconds(6));
        txAt(7, "acct-02", "withdrawal", 10, T0.plusSeconds(25)); // closes the windows of [T0, T0+10s)

        List<Rec> recs = new ArrayList<>();
        inputs.forEach((topic, list) -> {
            for (int i = 0; i < list.size(); i++) {
                TestRecord<String, String> r = list.get(i);
                recs.add(Rec.of("dc1", topic, 0, i, r.timestamp(), r.key(), r.value()));
            }
        });
        Map<String, Integer> outputs = new HashMap<>();
        for (String topic : driver.producedTopicNames()) {
            List<TestRecord<byte[], byte[]>> list = raw(topic);
            for (int i = 0; i < list.size(); i++) {
                TestRecord<byte[], byte[]> r = list.get(i);
                // the suppress buffer's tombstones carry no timestamp (the broker would set one)
                long ts = r.timestamp() == null ? 0 : r.timestamp();
                recs.add(new Rec("dc1", topic, 0, i, ts, r.key(), r.value()));
            }
            outputs.put(topic, list.size());
        }
        assertEquals(2, outputs.get("summaries"));
        // [T0, T0+10s): acct-01 {tx-0001, tx-0002}, acct-77 {tx-0004}, acct-02 {tx-0005}
        assertEquals(3, outputs.get("withdrawal-windows"));
        assertEquals(4 + 1, outputs.get("withdrawal-processor-withdrawal-windows-changelog"));

        TruthDeriver.Result res = TruthDeriver.derive(Scenario.of("withdrawal"), "a", Map.of("dc1", "x:1"), recs,
                List.of());
        assertEquals(List.of(), res.warnings());
        assertEquals(9, res.events());
        int suppressRecords = 0;
        for (JsonNode r : res.truth().get("records")) {
            if (r.get("topic").asText().equals("withdrawal-processor-withdrawal-windows-suppress-store-changelog")) {
                suppressRecords++;
                assertEquals("intermediate", r.get("role").asText());
                assertTrue(r.get("parents").size() > 0, r.toString());
            }
        }
        assertTrue(suppressRecords >= 6, "suppress buffer changelog records: " + suppressRecords);
        for (JsonNode r : res.truth().get("records")) {
            if (r.get("role").asText().equals("origin")) {
                assertEquals(0, r.get("parents").size());
                continue;
            }
            int primaries = 0;
            for (JsonNode p : r.get("parents")) {
                primaries += p.get("primary").asBoolean() ? 1 : 0;
            }
            assertEquals(1, primaries, "exactly one primary parent: " + r);
            assertFalse(r.get("event_id").isNull(), r.toString());
        }
    }
}
