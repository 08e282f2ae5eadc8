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
 */
public final class TransactionProducer {
    private static final Logger LOG = LoggerFactory.getLogger(TransactionProducer.class);

    private TransactionProducer() {
    }

    public static void main(String[] argv) throws Exception {
        Args args;
        try {
            args = Args.parse(argv, Set.of("bootstrap", "scenario", "events", "accounts", "interval-ms", "seed"));
        } catch (IllegalArgumentException e) {
            System.err.println("TransactionProducer: " + e.getMessage());
            System.err.println("usage: TransactionProducer --bootstrap H:P --scenario withdrawal|multicluster"
                    + " --events N --accounts M --interval-ms X [--seed S]");
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

        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "transaction-producer");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

        AtomicInteger failures = new AtomicInteger();
        KafkaProducer<String, String> producer = new KafkaProducer<>(props);
        try {
            if (scenario.equals("withdrawal")) {
                for (int i = 1; i <= accounts; i++) {
                    send(producer, "accounts", Accounts.accountId(i), Accounts.value(i), failures);
                }
                producer.flush();
                LOG.info("sent {} accounts, waiting 2 s before the transactions", accounts);
                Thread.sleep(2000);
            }
            TransactionGenerator gen = new TransactionGenerator(seed, accounts);
            for (int i = 1; i <= events; i++) {
                Map<String, Object> tx = gen.next(System.currentTimeMillis());
                send(producer, "transactions", (String) tx.get("account"), tx, failures);
                if (intervalMs > 0 && i < events) {
                    Thread.sleep(intervalMs);
                }
            }
            producer.flush();
        } finally {
            producer.close();
        }
        LOG.info("done: {} transactions{}, {} failed sends", events,
                scenario.equals("withdrawal") ? " and " + accounts + " accounts" : "", failures.get());
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
