package lineage.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.ValueJoiner;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The topology of the withdrawal processor. Store, grouping and topic names decide the internal
 * topics listed in docs/capture-format.md: {@code withdrawal-processor-balances-changelog},
 * {@code -type-totals-changelog}, {@code -accounts-store-changelog}, {@code -summary-buffer-changelog},
 * {@code -by-type-repartition}, {@code -withdrawal-windows-changelog} and
 * {@code -withdrawal-windows-suppress-store-changelog}.
 */
public final class WithdrawalTopology {
    private static final Logger LOG = LoggerFactory.getLogger(WithdrawalTopology.class);

    public static final String APPLICATION_ID = "withdrawal-processor";
    public static final String ACCOUNTS_STORE = "accounts-store";
    public static final String BALANCES_STORE = "balances";
    public static final String TYPE_TOTALS_STORE = "type-totals";
    public static final String SUMMARY_BUFFER_STORE = "summary-buffer";
    public static final String BY_TYPE_GROUPING = "by-type";
    /** Window store of the withdrawal windows (changelog {@code withdrawal-processor-withdrawal-windows-changelog}). */
    public static final String WITHDRAWAL_WINDOWS_STORE = "withdrawal-windows";
    /**
     * Name of the suppress operator; Kafka names its buffer store NAME + "-store" (changelog
     * {@code withdrawal-processor-withdrawal-windows-suppress-store-changelog}).
     */
    public static final String WITHDRAWAL_WINDOWS_SUPPRESS = "withdrawal-windows-suppress";
    public static final String WITHDRAWAL_WINDOWS_SUPPRESS_STORE = WITHDRAWAL_WINDOWS_SUPPRESS + "-store";
    /** Tumbling windows of 10 s, no grace: a window closes as soon as stream time reaches its end. */
    public static final Duration WINDOW_SIZE = Duration.ofSeconds(10);

    public static final String WITHDRAWALS_APPROVED = "withdrawals-approved";
    public static final String WITHDRAWALS_REJECTED = "withdrawals-rejected";
    public static final String BALANCE_UPDATES = "balance-updates";
    public static final String TYPE_TOTALS = "type-totals";
    public static final String SUMMARIES = "summaries";
    public static final String WITHDRAWAL_WINDOWS = "withdrawal-windows";

    public static final String APPROVED = "approved";
    public static final String REJECTED = "rejected";

    private WithdrawalTopology() {
    }

    public static Topology build(String inputPrefix, Duration punctuateInterval) {
        StreamsBuilder builder = new StreamsBuilder();
        var strings = Consumed.with(Serdes.String(), Serdes.String());
        var produced = Produced.with(Serdes.String(), Serdes.String());

        KTable<String, String> accounts = builder.table(inputPrefix + "accounts", strings,
                Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as(ACCOUNTS_STORE)
                        .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()));
        KStream<String, String> tx = builder.stream(inputPrefix + "transactions", strings);

        // Running balance per account (fan-in: with caching, one emission may fold several transactions).
        tx.groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
                .aggregate(() -> "{}", WithdrawalTopology::foldBalance,
                        Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as(BALANCES_STORE)
                                .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
                .toStream(Named.as("balances-to-stream"))
                .peek((k, v) -> LOG.info("emit topic={} key={} value={}", BALANCE_UPDATES, k, v))
                .to(BALANCE_UPDATES, produced);

        // Withdrawal decisions: stream-table left join with the accounts.
        KStream<String, String> withdrawals = tx.filter(
                (k, v) -> TransactionGenerator.WITHDRAWAL.equals(Json.text(Json.parseObject(v), "type")),
                Named.as("withdrawals-only"));
        withdrawals.leftJoin(accounts, (ValueJoiner<String, String, String>) WithdrawalTopology::decide,
                        Joined.<String, String, String>with(Serdes.String(), Serdes.String(), Serdes.String())
                                .withName("withdrawal-account-join"))
                .split(Named.as("decision-"))
                .branch((k, v) -> APPROVED.equals(Json.text(Json.parseObject(v), "decision")),
                        Branched.withConsumer(s -> s
                                .peek((k, v) -> LOG.info("emit topic={} key={} value={}", WITHDRAWALS_APPROVED, k, v))
                                .to(WITHDRAWALS_APPROVED, produced), APPROVED))
                .defaultBranch(Branched.withConsumer(s -> s
                        .peek((k, v) -> LOG.info("emit topic={} key={} value={}", WITHDRAWALS_REJECTED, k, v))
                        .to(WITHDRAWALS_REJECTED, produced), REJECTED));

        // Totals per transaction type, through the repartition topic withdrawal-processor-by-type-repartition.
        tx.groupBy((k, v) -> typeOf(v), Grouped.<String, String>as(BY_TYPE_GROUPING)
                        .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
                .aggregate(() -> "{}", WithdrawalTopology::foldTypeTotal,
                        Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as(TYPE_TOTALS_STORE)
                                .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
                .toStream(Named.as("type-totals-to-stream"))
                .peek((k, v) -> LOG.info("emit topic={} key={} value={}", TYPE_TOTALS, k, v))
                .to(TYPE_TOTALS, produced);

        // Wall-clock punctuator over a logged, uncached buffer of event ids.
        StoreBuilder<KeyValueStore<String, String>> buffer = Stores
                .keyValueStoreBuilder(Stores.persistentKeyValueStore(SUMMARY_BUFFER_STORE), Serdes.String(),
                        Serdes.String())
                .withLoggingEnabled(java.util.Map.of())
                .withCachingDisabled();
        builder.addStateStore(buffer);
        tx.process(() -> new SummaryBufferProcessor(punctuateInterval), Named.as("summary-buffer-processor"),
                        SUMMARY_BUFFER_STORE)
                .peek((k, v) -> LOG.info("emit topic={} key={} value={}", SUMMARIES, k, v))
                .to(SUMMARIES, produced);

        // Added last so that the generated names of the nodes above stay as they were.
        // Withdrawals per account in 10 s tumbling windows, final results only (suppress until the
        // window closes). The window store is uncached on purpose: every withdrawal reaches the
        // suppress buffer while its own record is processed, so a window's result is forwarded while
        // the LATER withdrawal that advances the suppress operator's stream time (any account of the
        // same task) is processed. With the default cache the updates would only reach suppress at
        // commit, and the emission would be a commit-time root like the cached aggregates above.
        withdrawals.groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
                .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_SIZE, Duration.ZERO))
                .aggregate(() -> "{}", WithdrawalTopology::foldWindow, Named.as("withdrawal-windows-aggregate"),
                        Materialized.<String, String, WindowStore<Bytes, byte[]>>as(WITHDRAWAL_WINDOWS_STORE)
                                .withKeySerde(Serdes.String()).withValueSerde(Serdes.String())
                                .withCachingDisabled())
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())
                        .withName(WITHDRAWAL_WINDOWS_SUPPRESS))
                .toStream(Named.as("withdrawal-windows-to-stream"))
                .map((wk, agg) -> KeyValue.pair(wk.key(), windowResult(wk, agg)), Named.as("withdrawal-windows-result"))
                .peek((k, v) -> LOG.info("emit topic={} key={} value={}", WITHDRAWAL_WINDOWS, k, v))
                .to(WITHDRAWAL_WINDOWS, produced);

        return builder.build();
    }

    static String typeOf(String txValue) {
        String t = Json.text(Json.parseObject(txValue), "type");
        return t == null ? "unknown" : t;
    }

    /** balances: {account, balance, count, last_event_id}; count = transactions folded so far. */
    static String foldBalance(String account, String txValue, String agg) {
        ObjectNode tx = Json.parseObject(txValue);
        ObjectNode prev = Json.parseObject(agg);
        long amount = Json.longValue(tx, "amount", 0);
        long balance = Json.longValue(prev, "balance", 0);
        balance += TransactionGenerator.WITHDRAWAL.equals(Json.text(tx, "type")) ? -amount : amount;
        ObjectNode out = Json.object();
        out.put("account", account);
        out.put("balance", balance);
        out.put("count", Json.longValue(prev, "count", 0) + 1);
        out.put("last_event_id", Json.text(tx, "event_id"));
        return out.toString();
    }

    /**
     * withdrawal-windows store value: {account, count, event_ids}; the window's withdrawals in
     * processing order, count = their number.
     */
    static String foldWindow(String account, String txValue, String agg) {
        ArrayNode ids = eventIds(Json.parseObject(agg));
        String eventId = Json.text(Json.parseObject(txValue), "event_id");
        if (eventId != null) {
            ids.add(eventId);
        }
        ObjectNode out = Json.object();
        out.put("account", account);
        out.put("count", ids.size());
        out.set("event_ids", ids);
        return out.toString();
    }

    /** withdrawal-windows output: {account, window_start, window_end, count, event_ids}. */
    static String windowResult(Windowed<String> window, String agg) {
        ArrayNode ids = eventIds(Json.parseObject(agg));
        ObjectNode out = Json.object();
        out.put("account", window.key());
        out.put("window_start", window.window().start());
        out.put("window_end", window.window().end());
        out.put("count", ids.size());
        out.set("event_ids", ids);
        return out.toString();
    }

    /** A copy of the value's event_ids (empty when absent). */
    private static ArrayNode eventIds(ObjectNode value) {
        ArrayNode ids = Json.MAPPER.createArrayNode();
        JsonNode prev = value == null ? null : value.get("event_ids");
        if (prev != null && prev.isArray()) {
            prev.forEach(ids::add);
        }
        return ids;
    }

    /** type-totals: {type, count, total, last_event_id}. */
    static String foldTypeTotal(String type, String txValue, String agg) {
        ObjectNode tx = Json.parseObject(txValue);
        ObjectNode prev = Json.parseObject(agg);
        ObjectNode out = Json.object();
        out.put("type", type);
        out.put("count", Json.longValue(prev, "count", 0) + 1);
        out.put("total", Json.longValue(prev, "total", 0) + Json.longValue(tx, "amount", 0));
        out.put("last_event_id", Json.text(tx, "event_id"));
        return out.toString();
    }

    /** {event_id, account, amount, decision, reason, account_event_id}. */
    static String decide(String txValue, String accountValue) {
        ObjectNode tx = Json.parseObject(txValue);
        ObjectNode acct = Json.parseObject(accountValue);
        long amount = Json.longValue(tx, "amount", 0);
        String decision;
        String reason;
        if (acct == null) {
            decision = REJECTED;
            reason = "unknown account";
        } else {
            long limit = Json.longValue(acct, "limit", 0);
            if (amount <= limit) {
                decision = APPROVED;
                reason = "within limit " + limit;
            } else {
                decision = REJECTED;
                reason = "amount " + amount + " exceeds limit " + limit;
            }
        }
        ObjectNode out = Json.object();
        out.put("event_id", Json.text(tx, "event_id"));
        out.put("account", Json.text(tx, "account"));
        JsonNode amountNode = tx == null ? null : tx.get("amount");
        if (amountNode != null) {
            out.set("amount", amountNode);
        } else {
            out.putNull("amount");
        }
        out.put("decision", decision);
        out.put("reason", reason);
        out.put("account_event_id", Json.text(acct, "event_id"));
        return out.toString();
    }
}
