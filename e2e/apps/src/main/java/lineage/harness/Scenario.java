package lineage.harness;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import lineage.demo.OutcomeConsumer;
import lineage.demo.WithdrawalTopology;

/**
 * The static topology of a harness scenario (docs/capture-format.md): which topics of which cluster
 * belong to the pipeline, their role, who produces them, how their records derive from others, and
 * who consumes them.
 */
public final class Scenario {
    public static final String APP = WithdrawalTopology.APPLICATION_ID;
    public static final Pattern INTERNAL = Pattern.compile(Pattern.quote(APP) + "-(.*)-(changelog|repartition)");

    public static final String PRODUCER = "transaction-producer";
    public static final String CONSUMER = "outcome-consumer";
    public static final String CONNECT_DC1 = "kafka-connect-dc1";
    public static final String CONNECT_DC2 = "kafka-connect-dc2";
    public static final String CRM_SOURCE = "crm-accounts-source";
    public static final String MM2_DC1_TO_DC2 = "mm2-dc1-to-dc2";
    public static final String MM2_DC2_TO_DC1 = "mm2-dc2-to-dc1";
    public static final String APPROVED_SINK = "approved-file-sink";

    public static final List<String> OUTBOUND = OutcomeConsumer.OUTBOUND;

    /** How the records of a topic derive from other records. */
    public enum Kind {
        ORIGIN, MIRROR, DECISION, BALANCE, BALANCE_CHANGELOG, REPARTITION, TYPE_TOTALS, TYPE_TOTALS_CHANGELOG,
        ACCOUNTS_CHANGELOG, SUMMARY_BUFFER_CHANGELOG, SUMMARIES, WINDOWS, WINDOWS_CHANGELOG, SUPPRESS_CHANGELOG,
        UNKNOWN_INTERNAL
    }

    /** The consumer kind of the Streams app's restore consumer (state restoration after a restart). */
    public static final String RESTORE = "restore";

    /** The stores of the Streams app, each with a changelog {@code withdrawal-processor-<store>-changelog}. */
    public static final List<String> CHANGELOG_STORES = List.of(WithdrawalTopology.ACCOUNTS_STORE,
            WithdrawalTopology.BALANCES_STORE, WithdrawalTopology.TYPE_TOTALS_STORE,
            WithdrawalTopology.SUMMARY_BUFFER_STORE, WithdrawalTopology.WITHDRAWAL_WINDOWS_STORE,
            WithdrawalTopology.WITHDRAWAL_WINDOWS_SUPPRESS_STORE);

    /** What the truth says about a topic. {@code sourceCluster/sourceTopic} only for MIRROR. */
    public record TopicInfo(String role, Kind kind, String producer, String producerConnector, String sourceCluster,
            String sourceTopic, String stateStore) {
    }

    public record ConsumerEntry(String cluster, String topic, String service, String kind, String connector) {
    }

    private final String name;
    private final List<String> clusters;
    private final String streamsCluster;
    private final String inputPrefix;
    private final Map<String, TopicInfo> fixed = new TreeMap<>(); // "cluster/topic" -> info
    private final List<ConsumerEntry> consumers = new ArrayList<>();

    private Scenario(String name, List<String> clusters, String streamsCluster, String inputPrefix) {
        this.name = name;
        this.clusters = clusters;
        this.streamsCluster = streamsCluster;
        this.inputPrefix = inputPrefix;
    }

    public static Scenario of(String name) {
        switch (name) {
            case "withdrawal":
                return withdrawal();
            case "multicluster":
                return multicluster();
            default:
                throw new IllegalArgumentException("unknown scenario '" + name + "' (withdrawal|multicluster)");
        }
    }

    private static Scenario withdrawal() {
        Scenario s = new Scenario("withdrawal", List.of("dc1"), "dc1", "");
        s.fix("dc1", "transactions", new TopicInfo("origin", Kind.ORIGIN, PRODUCER, "", null, null, null));
        s.fix("dc1", "accounts", new TopicInfo("origin", Kind.ORIGIN, PRODUCER, "", null, null, null));
        s.addStreamsOutputs();
        s.consume("dc1", "transactions", APP, "streams", "");
        s.consume("dc1", "accounts", APP, "streams", "");
        s.consume("dc1", s.repartitionTopic(), APP, "streams", "");
        for (String t : OUTBOUND) {
            s.consume("dc1", t, CONSUMER, "consumer", "");
        }
        return s;
    }

    private static Scenario multicluster() {
        Scenario s = new Scenario("multicluster", List.of("dc1", "dc2"), "dc2", "dc1.");
        s.fix("dc1", "transactions", new TopicInfo("origin", Kind.ORIGIN, PRODUCER, "", null, null, null));
        s.fix("dc1", "accounts", new TopicInfo("origin", Kind.ORIGIN, CONNECT_DC1, CRM_SOURCE, null, null, null));
        for (String t : List.of("transactions", "accounts")) {
            s.fix("dc2", "dc1." + t, new TopicInfo("intermediate", Kind.MIRROR, CONNECT_DC2, MM2_DC1_TO_DC2, "dc1", t,
                    null));
        }
        s.addStreamsOutputs();
        for (String t : OUTBOUND) {
            s.fix("dc1", "dc2." + t, new TopicInfo("output", Kind.MIRROR, CONNECT_DC1, MM2_DC2_TO_DC1, "dc2", t, null));
        }
        s.consume("dc1", "transactions", CONNECT_DC2, "mirror", MM2_DC1_TO_DC2);
        s.consume("dc1", "accounts", CONNECT_DC2, "mirror", MM2_DC1_TO_DC2);
        s.consume("dc2", "dc1.transactions", APP, "streams", "");
        s.consume("dc2", "dc1.accounts", APP, "streams", "");
        s.consume("dc2", s.repartitionTopic(), APP, "streams", "");
        for (String t : OUTBOUND) {
            s.consume("dc2", t, CONNECT_DC1, "mirror", MM2_DC2_TO_DC1);
        }
        for (String t : OUTBOUND) {
            s.consume("dc1", "dc2." + t, CONSUMER, "consumer", "");
        }
        s.consume("dc1", "dc2." + WithdrawalTopology.WITHDRAWALS_APPROVED, CONNECT_DC1, "connect_sink", APPROVED_SINK);
        s.consume("dc1", "accounts", CONNECT_DC1, "connect_sink", APPROVED_SINK);
        return s;
    }

    private void addStreamsOutputs() {
        String c = streamsCluster;
        fix(c, WithdrawalTopology.WITHDRAWALS_APPROVED, streams("output", Kind.DECISION, null));
        fix(c, WithdrawalTopology.WITHDRAWALS_REJECTED, streams("output", Kind.DECISION, null));
        fix(c, WithdrawalTopology.BALANCE_UPDATES, streams("output", Kind.BALANCE, null));
        fix(c, WithdrawalTopology.TYPE_TOTALS, streams("output", Kind.TYPE_TOTALS, null));
        fix(c, WithdrawalTopology.SUMMARIES, streams("output", Kind.SUMMARIES, null));
        fix(c, WithdrawalTopology.WITHDRAWAL_WINDOWS, streams("output", Kind.WINDOWS, null));
    }

    /**
     * Registers the restore consumer of the Streams app on every changelog topic (kind
     * {@value #RESTORE}): for runs where the app was restarted with an empty state directory and
     * restored its stores from the changelogs. Idempotent; returns this scenario.
     */
    public Scenario withRestore() {
        for (String store : CHANGELOG_STORES) {
            ConsumerEntry e = new ConsumerEntry(streamsCluster, changelogTopic(store), APP, RESTORE, "");
            if (!consumers.contains(e)) {
                consumers.add(e);
            }
        }
        return this;
    }

    private static TopicInfo streams(String role, Kind kind, String store) {
        return new TopicInfo(role, kind, APP, "", null, null, store);
    }

    private void fix(String cluster, String topic, TopicInfo info) {
        fixed.put(cluster + "/" + topic, info);
    }

    private void consume(String cluster, String topic, String service, String kind, String connector) {
        consumers.add(new ConsumerEntry(cluster, topic, service, kind, connector));
    }

    public String name() {
        return name;
    }

    public List<String> clusters() {
        return clusters;
    }

    /** The cluster the Streams app runs against. */
    public String streamsCluster() {
        return streamsCluster;
    }

    public String inputPrefix() {
        return inputPrefix;
    }

    public String txInputTopic() {
        return inputPrefix + "transactions";
    }

    public String accountsInputTopic() {
        return inputPrefix + "accounts";
    }

    public String repartitionTopic() {
        return APP + "-" + WithdrawalTopology.BY_TYPE_GROUPING + "-repartition";
    }

    public static String changelogTopic(String store) {
        return APP + "-" + store + "-changelog";
    }

    public List<ConsumerEntry> consumers() {
        return Collections.unmodifiableList(consumers);
    }

    /** Whether the recorder tails this topic of this cluster. */
    public boolean isPipelineTopic(String cluster, String topic) {
        return info(cluster, topic) != null;
    }

    /** The topic's rules, or null for topics outside the pipeline. */
    public TopicInfo info(String cluster, String topic) {
        TopicInfo f = fixed.get(cluster + "/" + topic);
        if (f != null) {
            return f;
        }
        if (!cluster.equals(streamsCluster)) {
            return null;
        }
        Matcher m = INTERNAL.matcher(topic);
        if (!m.matches()) {
            return null;
        }
        String name = m.group(1);
        if (m.group(2).equals("repartition")) {
            Kind k = name.equals(WithdrawalTopology.BY_TYPE_GROUPING) ? Kind.REPARTITION : Kind.UNKNOWN_INTERNAL;
            return streams("intermediate", k, null);
        }
        Kind k;
        switch (name) {
            case WithdrawalTopology.BALANCES_STORE:
                k = Kind.BALANCE_CHANGELOG;
                break;
            case WithdrawalTopology.TYPE_TOTALS_STORE:
                k = Kind.TYPE_TOTALS_CHANGELOG;
                break;
            case WithdrawalTopology.ACCOUNTS_STORE:
                k = Kind.ACCOUNTS_CHANGELOG;
                break;
            case WithdrawalTopology.SUMMARY_BUFFER_STORE:
                k = Kind.SUMMARY_BUFFER_CHANGELOG;
                break;
            case WithdrawalTopology.WITHDRAWAL_WINDOWS_STORE:
                k = Kind.WINDOWS_CHANGELOG;
                break;
            case WithdrawalTopology.WITHDRAWAL_WINDOWS_SUPPRESS_STORE:
                k = Kind.SUPPRESS_CHANGELOG;
                break;
            default:
                k = Kind.UNKNOWN_INTERNAL;
        }
        return streams("intermediate", k, APP + "/" + name);
    }

    /** The fixed (non-internal) topics of a cluster. */
    public Set<String> fixedTopics(String cluster) {
        Set<String> out = new java.util.TreeSet<>();
        for (String ct : fixed.keySet()) {
            int slash = ct.indexOf('/');
            if (ct.substring(0, slash).equals(cluster)) {
                out.add(ct.substring(slash + 1));
            }
        }
        return out;
    }
}
