package lineage.demo;

import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The origin producer of the harness: a plain {@code KafkaProducer<String, String>} (String keys so
 * the agent records the key). Scenario {@code withdrawal}: M accounts to {@code accounts}, a 2 s
 * pause, then N transactions to {@code transactions}. Scenario {@code multicluster}: only the
 * transactions (the accounts come from the CRM source connector).
 *
 * <p>{@code --first-event-index K} (default 1) starts at {@code tx-K} (the continuation of the
 * seed's sequence, for a second burst); with K > 1 the accounts are not sent again.
 *
 * <p>{@code --tick-after-ms T} (default 10000 = the withdrawal window size, 0 = off): T ms after the
 * last transaction, one "tick" withdrawal per account ({@code tick-<last index>-<account>}, amount
 * 0) advances stream time in every partition, so that every withdrawal window of the burst closes
 * and its suppressed result is emitted (otherwise the windows of the last 10 s stay open).
 */
public final class TransactionProducer {
    private static final Logger LOG = LoggerFactory.getLogger(TransactionProducer.class);

    /** The withdrawal window size: ticks this late close every window of the burst. */
    public static final long DEFAULT_TICK_AFTER_MS = WithdrawalTopology.WINDOW_SIZE.toMillis();

    private TransactionProducer() {
    }

    public static void main(String[] argv) throws Exception {
        Args args;
        try {
            args = Args.parse(argv, Set.of("bootstrap", "scenario", "events", "accounts", "interval-ms", "seed",
                    "first-event-index", "tick-after-ms"));
        } catch (IllegalArgumentException e) {
            System.err.println("TransactionProducer: " + e.getMessage());
            System.err.println("usage: TransactionProducer --bootstrap H:P --scenario withdrawal|multicluster"
                    + " --events N --accounts M --interval-ms X [--seed S] [--first-event-index K]"
                    + " [--tick-after-ms T (default " + DEFAULT_TICK_AFTER_MS + ", 0 = no ticks)]");
            System.exit(2);
            return;
        }
        String bootstrap = args.required("bootstrap");
        String scenario = args.get("scenario", "withdrawal");
        if (!scenario.equals("withdrawal") && !scenario.equals("multicluster")) {
            System.err.println("TransactionProducer: unknown scenario " + scenario);
            System.exit(2);
        }
        int events = args.getInt("events", 50);
        int accounts = args.getInt("accounts", 8);
        long intervalMs = args.getLong("interval-ms", 100);
        long seed = args.getLong("seed", 42);
        int first = args.getInt("first-event-index", 1);
        long tickAfterMs = args.getLong("tick-after-ms", DEFAULT_TICK_AFTER_MS);
        if (first < 1 || events < 0 || accounts < 1) {
            System.err.println("TransactionProducer: need --first-event-index >= 1, --events >= 0, --accounts >= 1");
            System.exit(2);
        }

        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "transaction-producer");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

        AtomicInteger failures = new AtomicInteger();
        KafkaProducer<String, String> producer = new KafkaProducer<>(props);
        try {
            boolean sendAccounts = scenario.equals("withdrawal") && first == 1;
            if (sendAccounts) {
                for (int i = 1; i <= accounts; i++) {
                    send(producer, "accounts", Accounts.accountId(i), Accounts.value(i), failures);
                }
                producer.flush();
                LOG.info("sent {} accounts, waiting 2 s before the transactions", accounts);
                Thread.sleep(2000);
            }
            TransactionGenerator gen = new TransactionGenerator(seed, accounts, first);
            for (int i = 1; i <= events; i++) {
                Map<String, Object> tx = gen.next(System.currentTimeMillis());
                send(producer, "transactions", (String) tx.get("account"), tx, failures);
                if (intervalMs > 0 && i < events) {
                    Thread.sleep(intervalMs);
                }
            }
            producer.flush();
            if (tickAfterMs > 0) {
                LOG.info("waiting {} ms, then one tick per account (closes the withdrawal windows)", tickAfterMs);
                Thread.sleep(tickAfterMs);
                int last = gen.nextIndex() - 1;
                for (int a = 1; a <= accounts; a++) {
                    Map<String, Object> tick = TransactionGenerator.tick(last, a, System.currentTimeMillis());
                    send(producer, "transactions", (String) tick.get("account"), tick, failures);
                }
                producer.flush();
            }
        } finally {
            producer.close();
        }
        LOG.info("done: {} transactions from {}{}{}, {} failed sends", events, TransactionGenerator.eventId(first),
                tickAfterMs > 0 ? " and " + accounts + " ticks" : "",
                scenario.equals("withdrawal") && first == 1 ? " and " + accounts + " accounts" : "", failures.get());
        System.exit(failures.get() == 0 ? 0 : 1);
    }

    private static void send(KafkaProducer<String, String> producer, String topic, String key,
            Map<String, Object> value, AtomicInteger failures) {
        String eventId = (String) value.get("event_id");
        producer.send(new ProducerRecord<>(topic, key, Json.write(value)), (md, err) -> {
            if (err != null) {
                failures.incrementAndGet();
                LOG.error("send failed topic={} key={} event_id={}: {}", topic, key, eventId, err.toString());
            } else {
                LOG.info("sent topic={} partition={} offset={} key={} event_id={}", md.topic(), md.partition(),
                        md.offset(), key, eventId);
            }
        });
    }
}
