package lineage.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plain {@code KafkaConsumer<String, String>} (group {@code outcome-consumer}) reading every outbound
 * topic (with the prefix P: "" or "dc2."). Records are iterated with a for-each over the polled
 * batch, so the agent makes one process span per record. Runs until SIGTERM/SIGINT.
 */
public final class OutcomeConsumer {
    private static final Logger LOG = LoggerFactory.getLogger(OutcomeConsumer.class);

    public static final List<String> OUTBOUND = List.of(WithdrawalTopology.WITHDRAWALS_APPROVED,
            WithdrawalTopology.WITHDRAWALS_REJECTED, WithdrawalTopology.BALANCE_UPDATES,
            WithdrawalTopology.TYPE_TOTALS, WithdrawalTopology.SUMMARIES, WithdrawalTopology.WITHDRAWAL_WINDOWS);

    private OutcomeConsumer() {
    }

    public static void main(String[] argv) {
        Args args;
        try {
            args = Args.parse(argv, Set.of("bootstrap", "topic-prefix"));
        } catch (IllegalArgumentException e) {
            System.err.println("OutcomeConsumer: " + e.getMessage());
            System.err.println("usage: OutcomeConsumer --bootstrap H:P [--topic-prefix P]");
            System.exit(2);
            return;
        }
        String prefix = args.get("topic-prefix", "");
        List<String> topics = new ArrayList<>();
        OUTBOUND.forEach(t -> topics.add(prefix + t));

        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args.required("bootstrap"));
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "outcome-consumer");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "outcome-consumer");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        // Pick up outbound topics created after start (Streams and MirrorMaker 2 create them lazily).
        props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "2000");
        // Never create the outbound topics ourselves: Streams / MirrorMaker 2 own them.
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");

        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props);
        AtomicBoolean stopping = new AtomicBoolean();
        CountDownLatch mainDone = new CountDownLatch(1);
        Signals.onTerminate(() -> {
            stopping.set(true);
            consumer.wakeup();
        }, mainDone);

        long seen = 0;
        try {
            consumer.subscribe(topics);
            LOG.info("subscribed to {}", topics);
            while (!stopping.get()) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<String, String> r : records) {
                    seen++;
                    LOG.info("consumed topic={} partition={} offset={} key={} event_id={}", r.topic(), r.partition(),
                            r.offset(), r.key(), eventIdOf(r.value()));
                }
            }
        } catch (WakeupException e) {
            if (!stopping.get()) {
                throw e;
            }
        } finally {
            consumer.close(); // commits the consumed offsets (auto commit)
            LOG.info("outcome-consumer closed after {} records", seen);
            mainDone.countDown();
        }
        System.exit(0);
    }

    /** The event id a record value names: event_id, last_event_id or the last of event_ids. */
    static String eventIdOf(String value) {
        ObjectNode v = Json.parseObject(value);
        if (v == null) {
            return null;
        }
        String id = Json.text(v, "event_id");
        if (id == null) {
            id = Json.text(v, "last_event_id");
        }
        if (id == null) {
            JsonNode ids = v.get("event_ids");
            if (ids != null && ids.isArray() && ids.size() > 0) {
                id = ids.get(ids.size() - 1).asText();
            }
        }
        return id;
    }
}
