package lineage.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import lineage.demo.Json;
import lineage.demo.WithdrawalTopology;
import lineage.harness.Scenario.Kind;
import lineage.harness.Scenario.TopicInfo;

/**
 * Derives truth.json (docs/capture-format.md) from the records of a run: a pure function of the
 * scenario and the records. Records whose parents cannot be found get {@code "parents": []} and a
 * warning; nothing here throws on missing or malformed data.
 */
public final class TruthDeriver {
    public static final int SCHEMA_VERSION = 1;

    /** A parent edge. */
    public record Parent(String id, String type, boolean primary) {
    }

    /** The derived truth plus counters for the recorder's summary line. */
    public record Result(ObjectNode truth, List<String> warnings, int records, int events, int outputs) {
    }

    private final Scenario sc;
    private final List<String> warnings = new ArrayList<>();
    private final Map<String, Rec> byId = new LinkedHashMap<>();
    private final Map<String, List<Rec>> byTopic = new TreeMap<>(); // cluster/topic -> records in (partition, offset) order
    private final Map<String, ObjectNode> parsed = new HashMap<>();
    private final Map<String, List<Parent>> parents = new HashMap<>();
    private final Map<String, String> eventIds = new HashMap<>();

    private TruthDeriver(Scenario sc) {
        this.sc = sc;
    }

    /**
     * @param clusters cluster name -> bootstrap servers, copied to the output
     * @param records every record seen (any order, duplicates by id ignored; topics outside the
     *     scenario ignored)
     * @param recorderWarnings problems the recorder noticed while reading, copied to the warnings
     */
    public static Result derive(Scenario sc, String config, Map<String, String> clusters, Collection<Rec> records,
            List<String> recorderWarnings) {
        TruthDeriver d = new TruthDeriver(sc);
        d.warnings.addAll(recorderWarnings);
        return d.run(config, clusters, records);
    }

    private Result run(String config, Map<String, String> clusters, Collection<Rec> records) {
        List<Rec> sorted = new ArrayList<>();
        for (Rec r : records) {
            if (sc.info(r.cluster(), r.topic()) != null && !byId.containsKey(r.id())) {
                byId.put(r.id(), r);
                sorted.add(r);
            }
        }
        sorted.sort(Rec.ORDER);
        byId.clear();
        for (Rec r : sorted) {
            byId.put(r.id(), r);
            byTopic.computeIfAbsent(r.clusterTopic(), k -> new ArrayList<>()).add(r);
        }
        checkOffsets();
        deriveParents();

        ObjectNode truth = Json.object();
        truth.put("schema_version", SCHEMA_VERSION);
        truth.put("scenario", sc.name());
        truth.put("config", config);
        ObjectNode cl = truth.putObject("clusters");
        new TreeMap<>(clusters).forEach(cl::put);
        ArrayNode cons = truth.putArray("consumers");
        for (Scenario.ConsumerEntry c : sc.consumers()) {
            ObjectNode o = cons.addObject();
            o.put("cluster", c.cluster());
            o.put("topic", c.topic());
            o.put("service", c.service());
            o.put("kind", c.kind());
            if (!c.connector().isEmpty()) {
                o.put("connector", c.connector());
            }
        }
        ArrayNode recs = truth.putArray("records");
        int outputs = 0;
        for (Rec r : sorted) {
            TopicInfo info = sc.info(r.cluster(), r.topic());
            if (info.role().equals("output")) {
                outputs++;
            }
            ObjectNode o = recs.addObject();
            o.put("id", r.id());
            o.put("cluster", r.cluster());
            o.put("topic", r.topic());
            o.put("partition", r.partition());
            o.put("offset", r.offset());
            o.put("timestamp_ms", r.timestampMs());
            o.put("key", r.keyString());
            o.put("event_id", eventId(r));
            o.put("tombstone", r.tombstone());
            o.put("role", info.role());
            o.put("producer", info.producer());
            o.put("producer_connector", info.producerConnector());
            ArrayNode ps = o.putArray("parents");
            for (Parent p : parents.getOrDefault(r.id(), List.of())) {
                ObjectNode po = ps.addObject();
                po.put("id", p.id());
                po.put("type", p.type());
                po.put("primary", p.primary());
            }
        }
        ArrayNode events = truth.putArray("events");
        int nEvents = buildEvents(sorted, events);
        ArrayNode w = truth.putArray("warnings");
        warnings.forEach(w::add);
        return new Result(truth, List.copyOf(warnings), sorted.size(), nEvents, outputs);
    }

    // ------------------------------------------------------------------ parents

    private void deriveParents() {
        String s = sc.streamsCluster();
        List<Rec> txIn = topic(s, sc.txInputTopic());
        List<Rec> acctIn = topic(s, sc.accountsInputTopic());
        Map<String, Rec> txByEvent = firstByEventId(txIn);
        Map<String, Rec> acctByEvent = firstByEventId(acctIn);
        Map<String, List<Rec>> txByKey = byKey(txIn);
        Map<String, List<Rec>> repByKey = byKey(topic(s, sc.repartitionTopic()));
        String txTopicName = s + "/" + sc.txInputTopic();
        String acctTopicName = s + "/" + sc.accountsInputTopic();

        for (Map.Entry<String, List<Rec>> e : byTopic.entrySet()) {
            List<Rec> recs = e.getValue();
            Rec first = recs.get(0);
            TopicInfo info = sc.info(first.cluster(), first.topic());
            switch (info.kind()) {
                case ORIGIN:
                    break;
                case MIRROR:
                    mirror(recs, info);
                    break;
                case DECISION:
                    for (Rec r : recs) {
                        decision(r, txByEvent, acctByEvent, txTopicName, acctTopicName);
                    }
                    break;
                case BALANCE:
                    slices(recs, txByKey, "streams", "transactions", txTopicName);
                    break;
                case BALANCE_CHANGELOG:
                    slices(recs, txByKey, "state_store", "transactions", txTopicName);
                    break;
                case TYPE_TOTALS:
                    slices(recs, repByKey, "streams", "repartition records", s + "/" + sc.repartitionTopic());
                    break;
                case TYPE_TOTALS_CHANGELOG:
                    slices(recs, repByKey, "state_store", "repartition records", s + "/" + sc.repartitionTopic());
                    break;
                case REPARTITION:
                    for (Rec r : recs) {
                        single(r, txByEvent, eventIdField(r, "event_id"), "streams", txTopicName);
                    }
                    break;
                case ACCOUNTS_CHANGELOG:
                    for (Rec r : recs) {
                        single(r, acctByEvent, eventIdField(r, "event_id"), "state_store", acctTopicName);
                    }
                    break;
                case SUMMARY_BUFFER_CHANGELOG:
                    for (Rec r : recs) {
                        single(r, txByEvent, r.keyString(), "state_store", txTopicName);
                    }
                    break;
                case SUMMARIES:
                case WINDOWS:
                    for (Rec r : recs) {
                        listed(r, txByEvent, txTopicName);
                    }
                    break;
                case WINDOWS_CHANGELOG:
                    windowStoreChangelog(recs, txByEvent, txTopicName);
                    break;
                case SUPPRESS_CHANGELOG:
                    suppressBufferChangelog(recs, txByEvent, txTopicName);
                    break;
                case UNKNOWN_INTERNAL:
                default:
                    warn(first.clusterTopic() + ": no derivation rule for this topic; its " + recs.size()
                            + " records have no parents");
                    for (Rec r : recs) {
                        parents.put(r.id(), List.of());
                    }
            }
        }
    }

    /** MirrorMaker 2 copy: same partition, key, value and timestamp in the source topic; n-th duplicate to n-th. */
    private void mirror(List<Rec> recs, TopicInfo info) {
        String source = info.sourceCluster() + "/" + info.sourceTopic();
        Map<String, List<Rec>> sources = new HashMap<>();
        for (Rec r : byTopic.getOrDefault(source, List.of())) {
            sources.computeIfAbsent(content(r), k -> new ArrayList<>()).add(r);
        }
        Map<String, Integer> used = new HashMap<>();
        for (Rec r : recs) {
            String c = content(r);
            List<Rec> candidates = sources.get(c);
            if (candidates == null) {
                noParents(r, "no record in " + source + " partition " + r.partition()
                        + " with the same key, value and timestamp (" + r.timestampMs() + ")");
                continue;
            }
            int n = used.merge(c, 1, Integer::sum) - 1;
            Rec src = candidates.get(Math.min(n, candidates.size() - 1));
            parents.put(r.id(), List.of(new Parent(src.id(), "cluster", true)));
        }
    }

    private static String content(Rec r) {
        Base64.Encoder b = Base64.getEncoder();
        return r.partition() + "|" + r.timestampMs() + "|" + (r.key() == null ? "~" : b.encodeToString(r.key())) + "|"
                + (r.value() == null ? "~" : b.encodeToString(r.value()));
    }

    /** withdrawals-approved/-rejected: the account (secondary) and the transaction (primary). */
    private void decision(Rec r, Map<String, Rec> txByEvent, Map<String, Rec> acctByEvent, String txTopic,
            String acctTopic) {
        ObjectNode v = value(r);
        String txId = Json.text(v, "event_id");
        Rec tx = txId == null ? null : txByEvent.get(txId);
        if (tx == null) {
            noParents(r, txId == null ? "value has no event_id"
                    : "transaction " + txId + " not found in " + txTopic);
            return;
        }
        List<Parent> ps = new ArrayList<>();
        String acctId = Json.text(v, "account_event_id");
        if (acctId != null) {
            Rec acct = acctByEvent.get(acctId);
            if (acct == null) {
                warn(r.id() + ": account record " + acctId + " not found in " + acctTopic
                        + " (kept the transaction parent only)");
            } else {
                ps.add(new Parent(acct.id(), "streams", false));
            }
        }
        ps.add(new Parent(tx.id(), "streams", true));
        parents.put(r.id(), ps);
    }

    /** A record derived from exactly one record, found by event id. */
    private void single(Rec r, Map<String, Rec> index, String eventId, String type, String where) {
        Rec p = eventId == null ? null : index.get(eventId);
        if (p == null) {
            noParents(r, eventId == null ? "no event id in the record" : "record " + eventId + " not found in " + where);
            return;
        }
        parents.put(r.id(), List.of(new Parent(p.id(), type, true)));
    }

    /** summaries, withdrawal-windows: every transaction listed in event_ids, the last one primary. */
    private void listed(Rec r, Map<String, Rec> txByEvent, String txTopic) {
        List<String> ids = eventIds(value(r));
        if (ids.isEmpty()) {
            noParents(r, "value without event_ids");
            return;
        }
        fromEventIds(r, ids, txByEvent, txTopic, "streams");
    }

    /** Parents = the records of these event ids (in this order, the last primary); missing ones are warnings. */
    private void fromEventIds(Rec r, List<String> ids, Map<String, Rec> index, String where, String type) {
        List<Rec> found = new ArrayList<>();
        for (String id : ids) {
            Rec p = index.get(id);
            if (p == null) {
                warn(r.id() + ": listed transaction " + id + " not found in " + where);
            } else {
                found.add(p);
            }
        }
        if (found.isEmpty()) {
            noParents(r, "none of the listed transactions " + ids + " found in " + where);
            return;
        }
        parents.put(r.id(), lastPrimary(found, type));
    }

    private static List<String> eventIds(ObjectNode v) {
        JsonNode ids = v == null ? null : v.get("event_ids");
        List<String> out = new ArrayList<>();
        if (ids != null && ids.isArray()) {
            ids.forEach(n -> out.add(n.asText()));
        }
        return out;
    }

    /**
     * The withdrawal-windows store changelog (uncached window store): key = account + window start +
     * seqnum, value {account, count, event_ids}. Parents = the withdrawals the value lists beyond the
     * previous changelog record of the same window (one per record when uncached), the last primary.
     */
    private void windowStoreChangelog(List<Rec> recs, Map<String, Rec> txByEvent, String txTopic) {
        Map<String, Integer> previous = new HashMap<>();
        for (Rec r : recs) {
            StreamsFormats.WindowedKey wk;
            try {
                wk = StreamsFormats.windowStoreChangelogKey(r.key());
            } catch (IllegalArgumentException e) {
                noParents(r, "cannot decode the window store key: " + e.getMessage());
                continue;
            }
            if (r.tombstone()) {
                noParents(r, "unexpected tombstone for window " + wk.window());
                continue;
            }
            ObjectNode v = value(r);
            List<String> ids = eventIds(v);
            if (ids.isEmpty()) {
                noParents(r, "window " + wk.window() + ": value without event_ids: " + r.valueString());
                continue;
            }
            if (Json.longValue(v, "count", -1) != ids.size() || !wk.key().equals(Json.text(v, "account"))) {
                warn(r.id() + ": window " + wk.window() + ": count/account do not match the value " + v);
            }
            sliceNew(r, wk, ids, previous.put(wk.window(), ids.size()), txByEvent, txTopic);
        }
    }

    /** The withdrawals of {@code ids} beyond the first {@code previous} (the window's earlier record), type state_store. */
    private void sliceNew(Rec r, StreamsFormats.WindowedKey wk, List<String> ids, Integer previous,
            Map<String, Rec> txByEvent, String txTopic) {
        int m = previous == null ? 0 : previous;
        if (ids.size() <= m) {
            warn(r.id() + ": window " + wk.window() + " lists " + ids.size() + " withdrawals, not more than its previous"
                    + " record's " + m + " (re-emission?); using the last one only");
            m = ids.size() - 1;
        }
        fromEventIds(r, ids.subList(m, ids.size()), txByEvent, txTopic, "state_store");
    }

    /**
     * The suppress buffer changelog ({@code withdrawal-windows-suppress-store}), written when the
     * task commits: key = account + window start; value = Kafka's buffer format (decoded by
     * {@link StreamsFormats#suppressBufferValue}) holding the window's aggregate; a tombstone once the
     * window was emitted. A value's parents = the withdrawals it lists beyond the window's previous
     * buffer record (last primary); its record context must name the last one. A tombstone's parents
     * = the whole window (as emitted to withdrawal-windows, else as last buffered), last primary.
     */
    private void suppressBufferChangelog(List<Rec> recs, Map<String, Rec> txByEvent, String txTopic) {
        Map<String, List<String>> emitted = new HashMap<>();
        for (Rec w : topic(sc.streamsCluster(), WithdrawalTopology.WITHDRAWAL_WINDOWS)) {
            ObjectNode v = value(w);
            long start = Json.longValue(v, "window_start", Long.MIN_VALUE);
            if (w.keyString() != null && start != Long.MIN_VALUE) {
                emitted.putIfAbsent(w.keyString() + "@" + start, eventIds(v));
            }
        }
        long size = WithdrawalTopology.WINDOW_SIZE.toMillis();
        Map<String, List<String>> buffered = new HashMap<>();
        for (Rec r : recs) {
            StreamsFormats.WindowedKey wk;
            try {
                wk = StreamsFormats.timeWindowedKey(r.key());
            } catch (IllegalArgumentException e) {
                noParents(r, "cannot decode the suppress buffer key: " + e.getMessage());
                continue;
            }
            String window = wk.window();
            if (r.tombstone()) {
                List<String> ids = emitted.get(window);
                if (ids == null || ids.isEmpty()) {
                    ids = buffered.get(window);
                }
                if (ids == null || ids.isEmpty()) {
                    noParents(r, "tombstone of window " + window + ", which was neither emitted to "
                            + WithdrawalTopology.WITHDRAWAL_WINDOWS + " nor buffered before");
                    continue;
                }
                fromEventIds(r, ids, txByEvent, txTopic, "state_store");
                continue;
            }
            StreamsFormats.BufferedChange bc;
            try {
                bc = StreamsFormats.suppressBufferValue(r.value());
            } catch (IllegalArgumentException e) {
                noParents(r, "cannot decode the suppress buffer value: " + e.getMessage());
                continue;
            }
            ObjectNode agg = Json.parseObject(bc.newValueString());
            List<String> ids = eventIds(agg);
            if (ids.isEmpty()) {
                noParents(r, "window " + window + ": buffered value without event_ids: " + bc.newValueString());
                continue;
            }
            if (bc.bufferTime() != wk.windowStart() + size) {
                warn(r.id() + ": window " + window + ": buffer time " + bc.bufferTime() + " is not the window end "
                        + (wk.windowStart() + size));
            }
            List<String> prev = buffered.put(window, ids);
            sliceNew(r, wk, ids, prev == null ? null : prev.size(), txByEvent, txTopic);
            Rec last = txByEvent.get(ids.get(ids.size() - 1));
            if (last != null && (!bc.contextTopic().equals(last.topic()) || bc.contextPartition() != last.partition()
                    || bc.contextOffset() != last.offset())) {
                warn(r.id() + ": window " + window + ": the buffered record context names " + bc.contextTopic() + "/"
                        + bc.contextPartition() + "/" + bc.contextOffset() + ", but its last withdrawal "
                        + ids.get(ids.size() - 1) + " is " + last.id());
            }
        }
    }

    /**
     * Aggregation outputs: per key, the contributors (ordered by offset) folded since the key's
     * previous emission in this topic, sliced by the value's {@code count}; the last is primary.
     */
    private void slices(List<Rec> recs, Map<String, List<Rec>> contributorsByKey, String type, String what,
            String where) {
        Map<String, Long> previous = new HashMap<>();
        for (Rec r : recs) {
            String key = r.keyString();
            if (key == null) {
                noParents(r, "aggregate record without a key");
                continue;
            }
            if (r.tombstone()) {
                noParents(r, "unexpected tombstone for key " + key);
                continue;
            }
            ObjectNode v = value(r);
            long n = Json.longValue(v, "count", -1);
            if (n < 1) {
                noParents(r, "value has no positive count: " + r.valueString());
                continue;
            }
            long m = previous.getOrDefault(key, 0L);
            previous.put(key, n);
            if (n <= m) {
                warn(r.id() + ": count " + n + " did not increase over the previous emission's " + m
                        + " for key " + key + " (re-emission?); using contributor " + n + " only");
                m = n - 1;
            }
            List<Rec> all = contributorsByKey.getOrDefault(key, List.of());
            long to = n;
            if (to > all.size()) {
                warn(r.id() + ": count " + n + " but only " + all.size() + " " + what + " with key " + key + " in "
                        + where);
                to = all.size();
            }
            if (m >= to) {
                noParents(r, "contributors " + (m + 1) + ".." + n + " for key " + key + " missing in " + where);
                continue;
            }
            List<Rec> slice = all.subList((int) m, (int) to);
            parents.put(r.id(), lastPrimary(slice, type));
            String last = Json.text(v, "last_event_id");
            String got = eventIdField(slice.get(slice.size() - 1), "event_id");
            if (to == n && last != null && !last.equals(got)) {
                warn(r.id() + ": last_event_id " + last + " but contributor " + n + " for key " + key + " is " + got
                        + " (records missing or reordered in " + where + ")");
            }
        }
    }

    private static List<Parent> lastPrimary(List<Rec> recs, String type) {
        List<Parent> ps = new ArrayList<>(recs.size());
        for (int i = 0; i < recs.size(); i++) {
            ps.add(new Parent(recs.get(i).id(), type, i == recs.size() - 1));
        }
        return ps;
    }

    private void noParents(Rec r, String why) {
        parents.put(r.id(), List.of());
        warn(r.id() + ": no parents: " + why);
    }

    private void warn(String msg) {
        warnings.add(msg);
    }

    /** Offsets are contiguous from 0 in every partition unless records were missed. */
    private void checkOffsets() {
        for (List<Rec> recs : byTopic.values()) {
            int partition = -1;
            long expect = 0;
            for (Rec r : recs) {
                if (r.partition() != partition) {
                    partition = r.partition();
                    expect = 0;
                }
                if (r.offset() > expect) {
                    warn(r.clusterTopic() + "/" + partition + ": offsets " + expect + ".." + (r.offset() - 1)
                            + " were not read (purged, compacted or transaction markers)");
                }
                expect = r.offset() + 1;
            }
        }
    }

    // ------------------------------------------------------------------ indexes and values

    private List<Rec> topic(String cluster, String topic) {
        return byTopic.getOrDefault(cluster + "/" + topic, List.of());
    }

    private ObjectNode value(Rec r) {
        return parsed.computeIfAbsent(r.id(), k -> Json.parseObject(r.valueString()));
    }

    private String eventIdField(Rec r, String field) {
        return Json.text(value(r), field);
    }

    private Map<String, Rec> firstByEventId(List<Rec> recs) {
        Map<String, Rec> m = new HashMap<>();
        for (Rec r : recs) {
            String id = eventIdField(r, "event_id");
            if (id != null) {
                m.putIfAbsent(id, r);
            }
        }
        return m;
    }

    private static Map<String, List<Rec>> byKey(List<Rec> recs) {
        Map<String, List<Rec>> m = new HashMap<>();
        for (Rec r : recs) { // already in (partition, offset) order
            if (r.keyString() != null) {
                m.computeIfAbsent(r.keyString(), k -> new ArrayList<>()).add(r);
            }
        }
        return m;
    }

    /** The event a record belongs to: its primary-parent chain's origin; else what its value names. */
    private String eventId(Rec r) {
        String cached = eventIds.get(r.id());
        if (cached != null || eventIds.containsKey(r.id())) {
            return cached;
        }
        eventIds.put(r.id(), null); // cycle guard
        String id = null;
        for (Parent p : parents.getOrDefault(r.id(), List.of())) {
            if (p.primary() && byId.containsKey(p.id())) {
                id = eventId(byId.get(p.id()));
            }
        }
        if (id == null) {
            id = valueEventId(r);
        }
        eventIds.put(r.id(), id);
        return id;
    }

    private String valueEventId(Rec r) {
        TopicInfo info = sc.info(r.cluster(), r.topic());
        if (info.kind() == Kind.SUMMARY_BUFFER_CHANGELOG) {
            return r.keyString();
        }
        ObjectNode v = value(r);
        String id = Json.text(v, "event_id");
        if (id == null) {
            id = Json.text(v, "last_event_id");
        }
        if (id == null && v != null && v.get("event_ids") != null && v.get("event_ids").size() > 0) {
            JsonNode ids = v.get("event_ids");
            id = ids.get(ids.size() - 1).asText();
        }
        return id;
    }

    // ------------------------------------------------------------------ events

    private int buildEvents(List<Rec> sorted, ArrayNode out) {
        Map<String, List<String>> children = new HashMap<>();
        parents.forEach((child, ps) -> ps.forEach(p -> children.computeIfAbsent(p.id(), k -> new ArrayList<>())
                .add(child)));
        Map<String, List<Scenario.ConsumerEntry>> consumersOf = new HashMap<>();
        for (Scenario.ConsumerEntry c : sc.consumers()) {
            consumersOf.computeIfAbsent(c.cluster() + "/" + c.topic(), k -> new ArrayList<>()).add(c);
        }
        int n = 0;
        for (Rec origin : sorted) {
            if (sc.info(origin.cluster(), origin.topic()).kind() != Kind.ORIGIN) {
                continue;
            }
            n++;
            String eventId = valueEventId(origin);
            if (eventId == null) {
                warn(origin.id() + ": origin record without event_id");
            }
            Set<String> services = new TreeSet<>();
            Set<String> topics = new TreeSet<>();
            Set<String> stores = new TreeSet<>();
            Set<String> connectors = new TreeSet<>();
            Set<String> clusters = new TreeSet<>();
            Set<String> seen = new java.util.HashSet<>();
            Deque<String> todo = new ArrayDeque<>();
            todo.add(origin.id());
            seen.add(origin.id());
            while (!todo.isEmpty()) {
                Rec r = byId.get(todo.poll());
                TopicInfo info = sc.info(r.cluster(), r.topic());
                services.add(info.producer());
                if (!info.producerConnector().isEmpty()) {
                    connectors.add(info.producerConnector());
                }
                topics.add(r.clusterTopic());
                clusters.add(r.cluster());
                if (info.stateStore() != null) {
                    stores.add(info.stateStore());
                }
                for (Scenario.ConsumerEntry c : consumersOf.getOrDefault(r.clusterTopic(), List.of())) {
                    services.add(c.service());
                    if (!c.connector().isEmpty()) {
                        connectors.add(c.connector());
                    }
                }
                for (String child : children.getOrDefault(r.id(), List.of())) {
                    if (seen.add(child)) {
                        todo.add(child);
                    }
                }
            }
            ObjectNode e = out.addObject();
            e.put("event_id", eventId);
            e.put("record", origin.id());
            ObjectNode tp = e.putObject("touchpoints");
            services.forEach(tp.putArray("services")::add);
            topics.forEach(tp.putArray("topics")::add);
            stores.forEach(tp.putArray("state_stores")::add);
            connectors.forEach(tp.putArray("connectors")::add);
            clusters.forEach(tp.putArray("clusters")::add);
        }
        return n;
    }
}
