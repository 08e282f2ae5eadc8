package lineage.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers the event ids of the task's transactions in the logged, uncached store
 * {@code summary-buffer} (key: event id; value: {event_id, partition, offset, transaction}); a
 * wall-clock punctuator emits the buffered ids (sorted by input offset) as one {@code summaries}
 * record {seq, task, window_end, event_ids} and deletes them from the buffer (tombstones in the
 * changelog).
 */
public final class SummaryBufferProcessor implements Processor<String, String, String, String> {
    private static final Logger LOG = LoggerFactory.getLogger(SummaryBufferProcessor.class);
    public static final String SUMMARY_KEY = "summary";

    private final Duration interval;
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, String> store;
    private long seq;

    public SummaryBufferProcessor(Duration interval) {
        this.interval = interval;
    }

    @Override
    public void init(ProcessorContext<String, String> context) {
        this.context = context;
        this.store = context.getStateStore(WithdrawalTopology.SUMMARY_BUFFER_STORE);
        context.schedule(interval, PunctuationType.WALL_CLOCK_TIME, this::punctuate);
    }

    @Override
    public void process(Record<String, String> record) {
        ObjectNode tx = Json.parseObject(record.value());
        String eventId = Json.text(tx, "event_id");
        if (eventId == null) {
            LOG.warn("transaction without event_id, not buffered: key={} value={}", record.key(), record.value());
            return;
        }
        ObjectNode entry = Json.object();
        entry.put("event_id", eventId);
        RecordMetadata md = context.recordMetadata().orElse(null);
        entry.put("partition", md == null ? -1 : md.partition());
        entry.put("offset", md == null ? -1 : md.offset());
        entry.set("transaction", tx);
        store.put(eventId, entry.toString());
    }

    void punctuate(long timestamp) {
        List<ObjectNode> entries = new ArrayList<>();
        try (KeyValueIterator<String, String> it = store.all()) {
            while (it.hasNext()) {
                KeyValue<String, String> kv = it.next();
                ObjectNode e = Json.parseObject(kv.value);
                if (e == null) {
                    e = Json.object();
                    e.put("offset", Long.MAX_VALUE);
                }
                e.put("event_id", kv.key);
                entries.add(e);
            }
        }
        if (entries.isEmpty()) {
            return;
        }
        entries.sort(Comparator.<ObjectNode>comparingLong(e -> Json.longValue(e, "offset", Long.MAX_VALUE))
                .thenComparing(e -> Json.text(e, "event_id")));
        ObjectNode summary = Json.object();
        summary.put("seq", ++seq);
        summary.put("task", context.taskId().toString());
        summary.put("window_end", timestamp);
        ArrayNode ids = summary.putArray("event_ids");
        entries.forEach(e -> ids.add(Json.text(e, "event_id")));
        context.forward(new Record<>(SUMMARY_KEY, summary.toString(), timestamp));
        for (ObjectNode e : entries) {
            store.delete(Json.text(e, "event_id"));
        }
    }
}
