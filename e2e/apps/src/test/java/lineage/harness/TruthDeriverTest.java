package lineage.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import lineage.demo.Json;
import org.junit.jupiter.api.Test;

class TruthDeriverTest {
    private final List<Rec> recs = new ArrayList<>();
    private final Map<String, Long> nextOffset = new HashMap<>();
    private long clock = 1_764_138_000_000L;

    /** Appends a record at the next offset of cluster/topic/partition; returns its id. */
    private String add(String cluster, String topic, int partition, String key, String value) {
        return add(cluster, topic, partition, key, value, clock++);
    }

    private String add(String cluster, String topic, int partition, String key, String value, long ts) {
        long off = nextOffset.merge(cluster + "/" + topic + "/" + partition, 1L, Long::sum) - 1;
        Rec r = Rec.of(cluster, topic, partition, off, ts, key, value);
        recs.add(r);
        return r.id();
    }

    /** Appends a record with raw key/value bytes. */
    private String addRaw(String cluster, String topic, int partition, byte[] key, byte[] value) {
        long off = nextOffset.merge(cluster + "/" + topic + "/" + partition, 1L, Long::sum) - 1;
        Rec r = new Rec(cluster, topic, partition, off, clock++, key, value);
        recs.add(r);
        return r.id();
    }

    /** Window store changelog key: account + 8-byte window start + 4-byte seqnum. */
    private static byte[] windowStoreKey(String account, long start) {
        byte[] k = account.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(k.length + 12).put(k).putLong(start).putInt(0).array();
    }

    /** Suppress buffer key: account + 8-byte window start. */
    private static byte[] windowedKey(String account, long start) {
        byte[] k = account.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(k.length + 8).put(k).putLong(start).array();
    }

    /**
     * A suppress buffer changelog value as Kafka 4.3.1 writes it: record context (timestamp, offset,
     * topic, partition, headers), prior value, old value (null sentinel), new value, buffer time.
     */
    private static byte[] bufferValue(String ctxTopic, int ctxPartition, long ctxOffset, String newValue,
            long bufferTime) {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream(); DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(1_764_138_000_000L);
            out.writeLong(ctxOffset);
            byte[] t = ctxTopic.getBytes(StandardCharsets.UTF_8);
            out.writeInt(t.length);
            out.write(t);
            out.writeInt(ctxPartition);
            out.writeInt(1); // one header: traceparent
            byte[] hk = "traceparent".getBytes(StandardCharsets.UTF_8);
            byte[] hv = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".getBytes(StandardCharsets.UTF_8);
            out.writeInt(hk.length);
            out.write(hk);
            out.writeInt(hv.length);
            out.write(hv);
            out.writeInt(-1); // prior value: null
            out.writeInt(-2); // old value: same as prior
            byte[] nv = newValue.getBytes(StandardCharsets.UTF_8);
            out.writeInt(nv.length);
            out.write(nv);
            out.writeLong(bufferTime);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String windowAgg(String account, List<String> ids) {
        return json("account", account, "count", ids.size(), "event_ids", ids);
    }

    /** A MirrorMaker 2 copy: same partition, key, value and timestamp. */
    private String mirror(String sourceId, String cluster, String topic) {
        Rec src = recs.stream().filter(r -> r.id().equals(sourceId)).findFirst().orElseThrow();
        return add(cluster, topic, src.partition(), src.keyString(), src.valueString(), src.timestampMs());
    }

    private static String json(Object... kv) {
        ObjectNode o = Json.object();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            String k = (String) kv[i];
            if (v == null) {
                o.putNull(k);
            } else if (v instanceof Number) {
                o.put(k, ((Number) v).longValue());
            } else if (v instanceof List) {
                var arr = o.putArray(k);
                ((List<?>) v).forEach(x -> arr.add(x.toString()));
            } else {
                o.put(k, v.toString());
            }
        }
        return o.toString();
    }

    private static String account(int n) {
        return json("event_id", String.format("acct-ev-%04d", n), "account", String.format("acct-%02d", n),
                "owner", "O", "limit", 500, "region", "eu-west");
    }

    private static String tx(String id, String account, String type, long amount) {
        return json("event_id", id, "account", account, "type", type, "amount", amount, "ts", 1);
    }

    private static String decision(String id, String account, long amount, String decision, String acctEv) {
        return json("event_id", id, "account", account, "amount", amount, "decision", decision, "reason", "r",
                "account_event_id", acctEv);
    }

    private static String balance(String account, long count, String last) {
        return json("account", account, "balance", 0, "count", count, "last_event_id", last);
    }

    private static String total(String type, long count, String last) {
        return json("type", type, "count", count, "total", 0, "last_event_id", last);
    }

    private TruthDeriver.Result derive(String scenario) {
        return derive(Scenario.of(scenario));
    }

    private TruthDeriver.Result derive(Scenario sc) {
        Map<String, String> clusters = sc.name().equals("withdrawal") ? Map.of("dc1", "127.0.0.1:19092")
                : Map.of("dc1", "127.0.0.1:19092", "dc2", "127.0.0.1:29092");
        return TruthDeriver.derive(sc, "b", clusters, recs, List.of());
    }

    private static JsonNode record(TruthDeriver.Result res, String id) {
        for (JsonNode r : res.truth().get("records")) {
            if (r.get("id").asText().equals(id)) {
                return r;
            }
        }
        throw new AssertionError("no record " + id);
    }

    /** "id:type:P|S" per parent, in order. */
    private static List<String> parents(TruthDeriver.Result res, String id) {
        List<String> out = new ArrayList<>();
        for (JsonNode p : record(res, id).get("parents")) {
            out.add(p.get("id").asText() + ":" + p.get("type").asText() + ":"
                    + (p.get("primary").asBoolean() ? "P" : "S"));
        }
        return out;
    }

    private static JsonNode event(TruthDeriver.Result res, String eventId) {
        for (JsonNode e : res.truth().get("events")) {
            if (e.get("event_id").asText().equals(eventId)) {
                return e.get("touchpoints");
            }
        }
        throw new AssertionError("no event " + eventId);
    }

    private static List<String> strings(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static final String CL_BAL = "withdrawal-processor-balances-changelog";
    private static final String CL_TT = "withdrawal-processor-type-totals-changelog";
    private static final String CL_ACCT = "withdrawal-processor-accounts-store-changelog";
    private static final String CL_SUM = "withdrawal-processor-summary-buffer-changelog";
    private static final String REP = "withdrawal-processor-by-type-repartition";

    /** The withdrawal scenario with caching collapsing updates (counts jump by more than one). */
    private void withdrawalRun(String c, String p) {
        String a1 = add(c, p + "accounts", 0, "acct-01", account(1));
        add(c, p + "accounts", 1, "acct-02", account(2));
        String t1 = add(c, p + "transactions", 0, "acct-01", tx("tx-0001", "acct-01", "withdrawal", 100));
        add(c, p + "transactions", 0, "acct-01", tx("tx-0002", "acct-01", "deposit", 50));
        String t3 = add(c, p + "transactions", 1, "acct-02", tx("tx-0003", "acct-02", "withdrawal", 10));
        add(c, p + "transactions", 0, "acct-01", tx("tx-0004", "acct-01", "withdrawal", 2000));
        assertEquals(c + "/" + p + "accounts/0/0", a1);
        assertEquals(c + "/" + p + "transactions/1/0", t3);
        assertEquals(c + "/" + p + "transactions/0/0", t1);
    }

    private void withdrawalOutputs(String c) {
        for (String t : List.of("balance-updates", CL_BAL)) {
            add(c, t, 0, "acct-01", balance("acct-01", 2, "tx-0002"));
            add(c, t, 1, "acct-02", balance("acct-02", 1, "tx-0003"));
            add(c, t, 0, "acct-01", balance("acct-01", 3, "tx-0004"));
        }
        add(c, REP, 2, "withdrawal", tx("tx-0001", "acct-01", "withdrawal", 100));
        add(c, REP, 1, "deposit", tx("tx-0002", "acct-01", "deposit", 50));
        add(c, REP, 2, "withdrawal", tx("tx-0003", "acct-02", "withdrawal", 10));
        add(c, REP, 2, "withdrawal", tx("tx-0004", "acct-01", "withdrawal", 2000));
        for (String t : List.of("type-totals", CL_TT)) {
            add(c, t, 2, "withdrawal", total("withdrawal", 2, "tx-0003"));
            add(c, t, 1, "deposit", total("deposit", 1, "tx-0002"));
            add(c, t, 2, "withdrawal", total("withdrawal", 3, "tx-0004"));
        }
        add(c, "withdrawals-approved", 0, "acct-01", decision("tx-0001", "acct-01", 100, "approved", "acct-ev-0001"));
        add(c, "withdrawals-approved", 1, "acct-02", decision("tx-0003", "acct-02", 10, "approved", "acct-ev-0002"));
        add(c, "withdrawals-rejected", 0, "acct-01", decision("tx-0004", "acct-01", 2000, "rejected", "acct-ev-0001"));
        add(c, CL_ACCT, 0, "acct-01", account(1));
        add(c, CL_ACCT, 1, "acct-02", account(2));
        for (String id : List.of("tx-0001", "tx-0002", "tx-0004")) {
            add(c, CL_SUM, 0, id, json("event_id", id, "offset", 0));
        }
        add(c, CL_SUM, 1, "tx-0003", json("event_id", "tx-0003", "offset", 0));
        add(c, "summaries", 0, "summary", json("seq", 1, "task", "0_0", "window_end", 5,
                "event_ids", List.of("tx-0001", "tx-0002", "tx-0004")));
        add(c, "summaries", 0, "summary", json("seq", 1, "task", "0_1", "window_end", 5,
                "event_ids", List.of("tx-0003")));
        for (String id : List.of("tx-0001", "tx-0002", "tx-0004")) {
            add(c, CL_SUM, 0, id, null);
        }
        add(c, CL_SUM, 1, "tx-0003", null);
    }

    @Test
    void withdrawalScenario() {
        withdrawalRun("dc1", "");
        withdrawalOutputs("dc1");
        add("dc1", "__consumer_offsets", 0, "x", "y"); // not a pipeline topic: ignored
        add("dc1", "connect-offsets", 0, "x", "y");
        TruthDeriver.Result res = derive("withdrawal");

        assertEquals(List.of(), res.warnings());
        assertEquals(6, res.events());
        assertEquals(recs.size() - 2, res.records());
        JsonNode t = res.truth();
        assertEquals(1, t.get("schema_version").asInt());
        assertEquals("withdrawal", t.get("scenario").asText());
        assertEquals("b", t.get("config").asText());
        assertEquals("127.0.0.1:19092", t.get("clusters").get("dc1").asText());
        assertEquals(9, t.get("consumers").size());

        JsonNode origin = record(res, "dc1/transactions/0/1");
        assertEquals("origin", origin.get("role").asText());
        assertEquals("transaction-producer", origin.get("producer").asText());
        assertEquals("", origin.get("producer_connector").asText());
        assertEquals("acct-01", origin.get("key").asText());
        assertEquals("tx-0002", origin.get("event_id").asText());
        assertEquals(0, origin.get("parents").size());

        // Fan-in by count: the first emission folded tx-0001 and tx-0002.
        assertEquals(List.of("dc1/transactions/0/0:streams:S", "dc1/transactions/0/1:streams:P"),
                parents(res, "dc1/balance-updates/0/0"));
        assertEquals(List.of("dc1/transactions/0/2:streams:P"), parents(res, "dc1/balance-updates/0/1"));
        assertEquals(List.of("dc1/transactions/1/0:streams:P"), parents(res, "dc1/balance-updates/1/0"));
        assertEquals(List.of("dc1/transactions/0/0:state_store:S", "dc1/transactions/0/1:state_store:P"),
                parents(res, "dc1/" + CL_BAL + "/0/0"));
        JsonNode bu = record(res, "dc1/balance-updates/0/0");
        assertEquals("output", bu.get("role").asText());
        assertEquals("withdrawal-processor", bu.get("producer").asText());
        assertEquals("tx-0002", bu.get("event_id").asText());
        assertEquals("intermediate", record(res, "dc1/" + CL_BAL + "/0/0").get("role").asText());

        assertEquals(List.of("dc1/transactions/1/0:streams:P"), parents(res, "dc1/" + REP + "/2/1"));
        assertEquals(List.of("dc1/" + REP + "/2/0:streams:S", "dc1/" + REP + "/2/1:streams:P"),
                parents(res, "dc1/type-totals/2/0"));
        assertEquals(List.of("dc1/" + REP + "/2/2:state_store:P"), parents(res, "dc1/" + CL_TT + "/2/1"));
        assertEquals("tx-0003", record(res, "dc1/type-totals/2/0").get("event_id").asText());

        assertEquals(List.of("dc1/accounts/1/0:streams:S", "dc1/transactions/1/0:streams:P"),
                parents(res, "dc1/withdrawals-approved/1/0"));
        assertEquals(List.of("dc1/accounts/0/0:streams:S", "dc1/transactions/0/2:streams:P"),
                parents(res, "dc1/withdrawals-rejected/0/0"));
        assertEquals(List.of("dc1/accounts/0/0:state_store:P"), parents(res, "dc1/" + CL_ACCT + "/0/0"));

        JsonNode tomb = record(res, "dc1/" + CL_SUM + "/0/4");
        assertTrue(tomb.get("tombstone").asBoolean());
        assertEquals("tx-0002", tomb.get("event_id").asText());
        assertEquals(List.of("dc1/transactions/0/1:state_store:P"), parents(res, "dc1/" + CL_SUM + "/0/4"));
        assertEquals(List.of("dc1/transactions/0/0:streams:S", "dc1/transactions/0/1:streams:S",
                "dc1/transactions/0/2:streams:P"), parents(res, "dc1/summaries/0/0"));

        JsonNode e1 = event(res, "tx-0001");
        assertEquals(List.of("outcome-consumer", "transaction-producer", "withdrawal-processor"),
                strings(e1.get("services")));
        assertEquals(List.of("dc1/balance-updates", "dc1/summaries", "dc1/transactions", "dc1/type-totals",
                "dc1/withdrawal-processor-balances-changelog", "dc1/withdrawal-processor-by-type-repartition",
                "dc1/withdrawal-processor-summary-buffer-changelog", "dc1/withdrawal-processor-type-totals-changelog",
                "dc1/withdrawals-approved"), strings(e1.get("topics")));
        assertEquals(List.of("withdrawal-processor/balances", "withdrawal-processor/summary-buffer",
                "withdrawal-processor/type-totals"), strings(e1.get("state_stores")));
        assertEquals(List.of(), strings(e1.get("connectors")));
        assertEquals(List.of("dc1"), strings(e1.get("clusters")));

        JsonNode acct = event(res, "acct-ev-0001");
        assertEquals(List.of("dc1/accounts", "dc1/withdrawal-processor-accounts-store-changelog",
                "dc1/withdrawals-approved", "dc1/withdrawals-rejected"), strings(acct.get("topics")));
        assertEquals(List.of("withdrawal-processor/accounts-store"), strings(acct.get("state_stores")));

        JsonNode ev = res.truth().get("events").get(0);
        assertEquals("acct-ev-0001", ev.get("event_id").asText());
        assertEquals("dc1/accounts/0/0", ev.get("record").asText());
        assertEquals(0, t.get("warnings").size());
    }

    @Test
    void missingDataIsAWarningNotACrash() {
        withdrawalRun("dc1", "");
        add("dc1", "withdrawals-approved", 0, "acct-01", decision("tx-0999", "acct-01", 1, "approved", "acct-ev-0001"));
        add("dc1", "withdrawals-rejected", 0, "acct-01", decision("tx-0004", "acct-01", 2000, "rejected",
                "acct-ev-0077"));
        add("dc1", "balance-updates", 0, "acct-01", balance("acct-01", 5, "tx-0009"));
        add("dc1", "type-totals", 0, "withdrawal", total("withdrawal", 1, "tx-0001")); // repartition never seen
        add("dc1", "summaries", 0, "summary", json("seq", 1, "event_ids", List.of("tx-0001", "tx-0888")));
        add("dc1", "summaries", 0, "summary", "not json");
        add("dc1", "withdrawal-processor-KSTREAM-AGGREGATE-STATE-STORE-0000000009-changelog", 0, "k", "{}");
        recs.add(Rec.of("dc1", CL_ACCT, 0, 7, 1, "acct-01", account(1))); // offsets 0..6 never read

        TruthDeriver.Result res = derive("withdrawal");
        List<String> w = res.warnings();
        assertEquals(List.of(), parents(res, "dc1/withdrawals-approved/0/0"));
        assertTrue(w.stream().anyMatch(s -> s.startsWith("dc1/withdrawals-approved/0/0: no parents")
                && s.contains("tx-0999")), w.toString());
        assertEquals(List.of("dc1/transactions/0/2:streams:P"), parents(res, "dc1/withdrawals-rejected/0/0"));
        assertTrue(w.stream().anyMatch(s -> s.contains("acct-ev-0077")), w.toString());
        // count 5 but only 3 transactions of acct-01: all three, with a warning.
        assertEquals(3, parents(res, "dc1/balance-updates/0/0").size());
        assertTrue(w.stream().anyMatch(s -> s.contains("count 5 but only 3 transactions")), w.toString());
        assertEquals(List.of(), parents(res, "dc1/type-totals/0/0"));
        assertEquals(List.of("dc1/transactions/0/0:streams:P"), parents(res, "dc1/summaries/0/0"));
        assertTrue(w.stream().anyMatch(s -> s.contains("tx-0888")), w.toString());
        assertEquals(List.of(), parents(res, "dc1/summaries/0/1"));
        assertTrue(w.stream().anyMatch(s -> s.contains("no derivation rule")), w.toString());
        assertTrue(w.stream().anyMatch(s -> s.contains(CL_ACCT + "/0: offsets 0..6 were not read")), w.toString());
        assertEquals(List.of("dc1/accounts/0/0:state_store:P"), parents(res, "dc1/" + CL_ACCT + "/0/7"));
        assertEquals(w, strings(res.truth().get("warnings")));
        // every non-origin record without parents is explained by a warning
        for (JsonNode r : res.truth().get("records")) {
            if (!r.get("role").asText().equals("origin") && r.get("parents").isEmpty()) {
                String id = r.get("id").asText();
                String topic = r.get("cluster").asText() + "/" + r.get("topic").asText();
                assertTrue(w.stream().anyMatch(s -> s.startsWith(id) || s.startsWith(topic)), id);
            }
        }
    }

    @Test
    void multiclusterScenario() {
        // dc1: origin transactions (producer) and accounts (CRM source connector, InsertField adds "source").
        String a1 = add("dc1", "accounts", 0, "acct-01", account(1).replace("}", ",\"source\":\"crm\"}"));
        String t1 = add("dc1", "transactions", 0, "acct-01", tx("tx-0001", "acct-01", "withdrawal", 100));
        String t2 = add("dc1", "transactions", 0, "acct-01", tx("tx-0002", "acct-01", "deposit", 5));
        // dc2: MirrorMaker 2 copies; tx-0001 is copied twice (task restart).
        mirror(a1, "dc2", "dc1.accounts");
        mirror(t1, "dc2", "dc1.transactions");
        mirror(t1, "dc2", "dc1.transactions");
        mirror(t2, "dc2", "dc1.transactions");
        // dc2: the Streams app on dc1.* (it folded all three input records).
        String ap = add("dc2", "withdrawals-approved", 0, "acct-01",
                decision("tx-0001", "acct-01", 100, "approved", "acct-ev-0001"));
        String bu = add("dc2", "balance-updates", 0, "acct-01", balance("acct-01", 3, "tx-0002"));
        add("dc2", CL_BAL, 0, "acct-01", balance("acct-01", 3, "tx-0002"));
        add("dc2", CL_ACCT, 0, "acct-01", account(1).replace("}", ",\"source\":\"crm\"}"));
        // dc1: MirrorMaker 2 copies of the outputs.
        mirror(ap, "dc1", "dc2.withdrawals-approved");
        mirror(bu, "dc1", "dc2.balance-updates");
        // dc2 topics named like dc1 ones but in the wrong cluster are not pipeline topics.
        add("dc2", "transactions", 0, "acct-01", tx("tx-0001", "acct-01", "withdrawal", 100));
        add("dc1", "heartbeats", 0, "x", "y");
        add("dc1", CL_BAL, 0, "x", "y");

        TruthDeriver.Result res = derive("multicluster");
        assertEquals(List.of(), res.warnings());
        assertEquals(3, res.events());

        JsonNode acc = record(res, "dc1/accounts/0/0");
        assertEquals("origin", acc.get("role").asText());
        assertEquals("kafka-connect-dc1", acc.get("producer").asText());
        assertEquals("crm-accounts-source", acc.get("producer_connector").asText());
        JsonNode copy = record(res, "dc2/dc1.transactions/0/1");
        assertEquals("intermediate", copy.get("role").asText());
        assertEquals("kafka-connect-dc2", copy.get("producer").asText());
        assertEquals("mm2-dc1-to-dc2", copy.get("producer_connector").asText());
        assertEquals("tx-0001", copy.get("event_id").asText());

        assertEquals(List.of("dc1/transactions/0/0:cluster:P"), parents(res, "dc2/dc1.transactions/0/0"));
        assertEquals(List.of("dc1/transactions/0/0:cluster:P"), parents(res, "dc2/dc1.transactions/0/1"));
        assertEquals(List.of("dc1/transactions/0/1:cluster:P"), parents(res, "dc2/dc1.transactions/0/2"));
        assertEquals(List.of("dc2/dc1.accounts/0/0:streams:S", "dc2/dc1.transactions/0/0:streams:P"),
                parents(res, ap));
        assertEquals(List.of("dc2/dc1.transactions/0/0:streams:S", "dc2/dc1.transactions/0/1:streams:S",
                "dc2/dc1.transactions/0/2:streams:P"), parents(res, bu));
        assertEquals(List.of("dc2/dc1.accounts/0/0:state_store:P"), parents(res, "dc2/" + CL_ACCT + "/0/0"));
        assertEquals(List.of("dc2/withdrawals-approved/0/0:cluster:P"), parents(res, "dc1/dc2.withdrawals-approved/0/0"));
        JsonNode out = record(res, "dc1/dc2.balance-updates/0/0");
        assertEquals("output", out.get("role").asText());
        assertEquals("kafka-connect-dc1", out.get("producer").asText());
        assertEquals("mm2-dc2-to-dc1", out.get("producer_connector").asText());
        assertEquals("tx-0002", out.get("event_id").asText());
        assertEquals("output", record(res, bu).get("role").asText());

        JsonNode e1 = event(res, "tx-0001");
        assertEquals(List.of("kafka-connect-dc1", "kafka-connect-dc2", "outcome-consumer", "transaction-producer",
                "withdrawal-processor"), strings(e1.get("services")));
        assertEquals(List.of("approved-file-sink", "mm2-dc1-to-dc2", "mm2-dc2-to-dc1"), strings(e1.get("connectors")));
        assertEquals(List.of("dc1", "dc2"), strings(e1.get("clusters")));
        assertTrue(strings(e1.get("topics")).contains("dc1/dc2.withdrawals-approved"));
        JsonNode ea = event(res, "acct-ev-0001");
        assertEquals(List.of("approved-file-sink", "crm-accounts-source", "mm2-dc1-to-dc2", "mm2-dc2-to-dc1"),
                strings(ea.get("connectors")));
        assertEquals(List.of("withdrawal-processor/accounts-store"), strings(ea.get("state_stores")));

        boolean sinkOnAccounts = false;
        for (JsonNode c : res.truth().get("consumers")) {
            if (c.get("kind").asText().equals("streams")) {
                assertEquals("dc2", c.get("cluster").asText());
                assertFalse(c.has("connector"));
            }
            if (c.get("topic").asText().equals("accounts") && c.get("kind").asText().equals("connect_sink")) {
                sinkOnAccounts = c.get("connector").asText().equals("approved-file-sink")
                        && c.get("service").asText().equals("kafka-connect-dc1");
            }
        }
        assertTrue(sinkOnAccounts);
        assertEquals(2 + 3 + 6 + 6 + 2, res.truth().get("consumers").size());
    }

    private static final String CL_WIN = "withdrawal-processor-withdrawal-windows-changelog";
    private static final String CL_SUP = "withdrawal-processor-withdrawal-windows-suppress-store-changelog";
    private static final long S = 1_764_138_000_000L; // a window start (multiple of 10 s)

    @Test
    void withdrawalWindows() {
        String t1 = add("dc1", "transactions", 0, "acct-01", tx("tx-0001", "acct-01", "withdrawal", 100));
        String t2 = add("dc1", "transactions", 0, "acct-01", tx("tx-0002", "acct-01", "withdrawal", 50));
        add("dc1", "transactions", 0, "acct-01", tx("tx-0003", "acct-01", "deposit", 5));
        String t4 = add("dc1", "transactions", 0, "acct-03", tx("tx-0004", "acct-03", "withdrawal", 10));
        String t5 = add("dc1", "transactions", 1, "acct-02", tx("tx-0005", "acct-02", "withdrawal", 10));
        // window store changelog: one record per withdrawal (uncached)
        String w1 = addRaw("dc1", CL_WIN, 0, windowStoreKey("acct-01", S), bytes(windowAgg("acct-01", List.of("tx-0001"))));
        String w2 = addRaw("dc1", CL_WIN, 0, windowStoreKey("acct-01", S),
                bytes(windowAgg("acct-01", List.of("tx-0001", "tx-0002"))));
        String w3 = addRaw("dc1", CL_WIN, 0, windowStoreKey("acct-03", S + 10_000),
                bytes(windowAgg("acct-03", List.of("tx-0004"))));
        String w4 = addRaw("dc1", CL_WIN, 1, windowStoreKey("acct-02", S), bytes(windowAgg("acct-02", List.of("tx-0005"))));
        // suppress buffer changelog, at commits: acct-01's window buffered with both withdrawals (one
        // commit), then closed by tx-0004 (tombstone) while acct-03's new window is buffered;
        // acct-02's window closed and tombstoned but its result not read (falls back to the buffer).
        String s1 = addRaw("dc1", CL_SUP, 0, windowedKey("acct-01", S),
                bufferValue("transactions", 0, 1, windowAgg("acct-01", List.of("tx-0001", "tx-0002")), S + 10_000));
        String s2 = addRaw("dc1", CL_SUP, 0, windowedKey("acct-01", S), null);
        String s3 = addRaw("dc1", CL_SUP, 0, windowedKey("acct-03", S + 10_000),
                bufferValue("transactions", 0, 3, windowAgg("acct-03", List.of("tx-0004")), S + 20_000));
        String s4 = addRaw("dc1", CL_SUP, 1, windowedKey("acct-02", S),
                bufferValue("transactions", 1, 0, windowAgg("acct-02", List.of("tx-0005")), S + 10_000));
        String s5 = addRaw("dc1", CL_SUP, 1, windowedKey("acct-02", S), null);
        String out = add("dc1", "withdrawal-windows", 0, "acct-01", json("account", "acct-01", "window_start", S,
                "window_end", S + 10_000, "count", 2, "event_ids", List.of("tx-0001", "tx-0002")));

        TruthDeriver.Result res = derive("withdrawal");
        assertEquals(List.of(), res.warnings());
        assertEquals(List.of(t1 + ":streams:S", t2 + ":streams:P"), parents(res, out));
        JsonNode o = record(res, out);
        assertEquals("output", o.get("role").asText());
        assertEquals("tx-0002", o.get("event_id").asText());
        assertEquals(List.of(t1 + ":state_store:P"), parents(res, w1));
        assertEquals(List.of(t2 + ":state_store:P"), parents(res, w2)); // only what the window gained
        assertEquals(List.of(t4 + ":state_store:P"), parents(res, w3));
        assertEquals(List.of(t5 + ":state_store:P"), parents(res, w4));
        assertEquals(List.of(t1 + ":state_store:S", t2 + ":state_store:P"), parents(res, s1));
        assertEquals(List.of(t1 + ":state_store:S", t2 + ":state_store:P"), parents(res, s2)); // the emitted window
        assertEquals(List.of(t4 + ":state_store:P"), parents(res, s3));
        assertEquals(List.of(t5 + ":state_store:P"), parents(res, s4));
        assertEquals(List.of(t5 + ":state_store:P"), parents(res, s5)); // as last buffered
        JsonNode tomb = record(res, s2);
        assertTrue(tomb.get("tombstone").asBoolean());
        assertEquals("intermediate", tomb.get("role").asText());
        assertEquals("tx-0002", tomb.get("event_id").asText());
        assertEquals("tx-0004", record(res, s3).get("event_id").asText());
        assertEquals("intermediate", record(res, w2).get("role").asText());

        JsonNode e1 = event(res, "tx-0001");
        assertEquals(List.of("dc1/transactions", "dc1/" + CL_WIN, "dc1/" + CL_SUP, "dc1/withdrawal-windows"),
                strings(e1.get("topics")));
        assertEquals(List.of("withdrawal-processor/withdrawal-windows",
                "withdrawal-processor/withdrawal-windows-suppress-store"), strings(e1.get("state_stores")));
        assertEquals(List.of("outcome-consumer", "transaction-producer", "withdrawal-processor"),
                strings(e1.get("services")));
    }

    @Test
    void undecodableWindowRecordsAreWarnings() {
        add("dc1", "transactions", 0, "acct-01", tx("tx-0001", "acct-01", "withdrawal", 100));
        byte[] good = bufferValue("transactions", 0, 0, windowAgg("acct-01", List.of("tx-0001")), S + 10_000);
        String cut = addRaw("dc1", CL_SUP, 0, windowedKey("acct-01", S), java.util.Arrays.copyOf(good, good.length - 3));
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 1);
        String extra = addRaw("dc1", CL_SUP, 0, windowedKey("acct-01", S), longer);
        String shortKey = addRaw("dc1", CL_SUP, 0, new byte[] {1, 2}, good);
        String unknown = addRaw("dc1", CL_SUP, 0, windowedKey("acct-09", S), null);
        // decodes, but the record context names another record than the window's last withdrawal
        String ctx = addRaw("dc1", CL_SUP, 0, windowedKey("acct-01", S),
                bufferValue("transactions", 0, 7, windowAgg("acct-01", List.of("tx-0001")), S + 10_000));
        String badWinKey = addRaw("dc1", CL_WIN, 0, new byte[] {1, 2, 3}, bytes(windowAgg("acct-01", List.of("tx-0001"))));
        String winTomb = addRaw("dc1", CL_WIN, 0, windowStoreKey("acct-01", S), null);
        String noIds = add("dc1", "withdrawal-windows", 0, "acct-01", json("account", "acct-01", "count", 0));

        TruthDeriver.Result res = derive("withdrawal");
        List<String> w = res.warnings();
        for (String id : List.of(cut, extra, shortKey, unknown, badWinKey, winTomb, noIds)) {
            assertEquals(List.of(), parents(res, id), id);
            assertTrue(w.stream().anyMatch(s -> s.startsWith(id + ": no parents")), id + " " + w);
        }
        assertTrue(w.stream().anyMatch(s -> s.startsWith(cut) && s.contains("ends early")), w.toString());
        assertTrue(w.stream().anyMatch(s -> s.startsWith(extra) && s.contains("1 bytes left")), w.toString());
        assertEquals(List.of("dc1/transactions/0/0:state_store:P"), parents(res, ctx));
        assertTrue(w.stream().anyMatch(s -> s.startsWith(ctx) && s.contains("record context names transactions/0/7")),
                w.toString());
        assertEquals(7 + 1, w.size(), w.toString()); // 7 records without parents, the record context
    }

    @Test
    void restoreConsumersOnlyWhenRestored() {
        withdrawalRun("dc1", "");
        assertTrue(restoreConsumers(derive("withdrawal")).isEmpty());
        List<String> expected = List.of("dc1/withdrawal-processor-accounts-store-changelog",
                "dc1/withdrawal-processor-balances-changelog", "dc1/withdrawal-processor-type-totals-changelog",
                "dc1/withdrawal-processor-summary-buffer-changelog", "dc1/" + CL_WIN, "dc1/" + CL_SUP);
        Scenario restored = Scenario.of("withdrawal").withRestore().withRestore(); // idempotent
        TruthDeriver.Result res = derive(restored);
        assertEquals(expected, restoreConsumers(res));
        assertEquals(9 + 6, res.truth().get("consumers").size());
        for (JsonNode c : res.truth().get("consumers")) {
            if (c.get("kind").asText().equals("restore")) {
                assertEquals("withdrawal-processor", c.get("service").asText());
                assertFalse(c.has("connector"));
            }
        }
        // multicluster: the Streams app and its changelogs are in dc2
        recs.clear();
        nextOffset.clear();
        assertEquals(expected.stream().map(t -> t.replace("dc1/", "dc2/")).toList(),
                restoreConsumers(derive(Scenario.of("multicluster").withRestore())));
    }

    private static List<String> restoreConsumers(TruthDeriver.Result res) {
        List<String> out = new ArrayList<>();
        for (JsonNode c : res.truth().get("consumers")) {
            if (c.get("kind").asText().equals("restore")) {
                out.add(c.get("cluster").asText() + "/" + c.get("topic").asText());
            }
        }
        return out;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void multiclusterMirrorWithoutSource() {
        add("dc1", "dc2.summaries", 0, "summary", json("seq", 1, "event_ids", List.of("tx-0001")));
        add("dc2", "dc1.transactions", 1, "acct-01", tx("tx-0001", "acct-01", "withdrawal", 100));
        TruthDeriver.Result res = derive("multicluster");
        assertEquals(List.of(), parents(res, "dc1/dc2.summaries/0/0"));
        assertEquals(List.of(), parents(res, "dc2/dc1.transactions/1/0"));
        assertEquals(2, res.warnings().size(), res.warnings().toString());
        assertEquals(0, res.events());
        assertTrue(res.warnings().get(0).contains("no record in dc2/summaries partition 0"), res.warnings().toString());
    }

    @Test
    void scenarioTopics() {
        Scenario w = Scenario.of("withdrawal");
        assertTrue(w.isPipelineTopic("dc1", "withdrawal-processor-balances-changelog"));
        assertTrue(w.isPipelineTopic("dc1", "withdrawal-processor-by-type-repartition"));
        assertFalse(w.isPipelineTopic("dc1", "dc1.transactions"));
        assertFalse(w.isPipelineTopic("dc1", "withdrawal-processor-balances"));
        Scenario m = Scenario.of("multicluster");
        assertTrue(m.isPipelineTopic("dc2", "dc1.accounts"));
        assertTrue(m.isPipelineTopic("dc2", "withdrawal-processor-summary-buffer-changelog"));
        assertFalse(m.isPipelineTopic("dc1", "withdrawal-processor-summary-buffer-changelog"));
        assertFalse(m.isPipelineTopic("dc2", "transactions"));
        assertFalse(m.isPipelineTopic("dc1", "mm2-offset-syncs.dc2.internal"));
        assertFalse(m.isPipelineTopic("dc2", "dc1.heartbeats"));
        assertEquals("withdrawal-processor/summary-buffer",
                m.info("dc2", "withdrawal-processor-summary-buffer-changelog").stateStore());
        assertEquals(Scenario.Kind.WINDOWS, w.info("dc1", "withdrawal-windows").kind());
        assertEquals(Scenario.Kind.WINDOWS_CHANGELOG, w.info("dc1", CL_WIN).kind());
        assertEquals(Scenario.Kind.SUPPRESS_CHANGELOG, m.info("dc2", CL_SUP).kind());
        assertEquals("withdrawal-processor/withdrawal-windows-suppress-store", m.info("dc2", CL_SUP).stateStore());
        assertEquals(Scenario.Kind.MIRROR, m.info("dc1", "dc2.withdrawal-windows").kind());
        assertEquals("output", m.info("dc1", "dc2.withdrawal-windows").role());
    }
}
