package lineage.demo.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTaskContext;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.junit.jupiter.api.Test;

class CrmAccountsSourceTaskTest {

    private static SourceTaskContext contextWithOffset(Map<String, Object> offset) {
        OffsetStorageReader reader = new OffsetStorageReader() {
            @Override
            public <T> Map<String, Object> offset(Map<String, T> partition) {
                return partition.equals(CrmAccountsSourceTask.SOURCE_PARTITION) ? offset : null;
            }

            @Override
            public <T> Map<Map<String, T>, Map<String, Object>> offsets(Collection<Map<String, T>> partitions) {
                Map<Map<String, T>, Map<String, Object>> m = new HashMap<>();
                partitions.forEach(p -> m.put(p, offset(p)));
                return m;
            }
        };
        return new SourceTaskContext() {
            @Override
            public Map<String, String> configs() {
                return Map.of();
            }

            @Override
            public OffsetStorageReader offsetStorageReader() {
                return reader;
            }

            @Override
            public org.apache.kafka.common.metrics.PluginMetrics pluginMetrics() {
                return null;
            }
        };
    }

    private static List<SourceRecord> drain(CrmAccountsSourceTask task, int max) throws InterruptedException {
        List<SourceRecord> out = new ArrayList<>();
        for (int i = 0; i < max; i++) {
            List<SourceRecord> batch = task.poll();
            if (batch == null) {
                break;
            }
            out.addAll(batch);
        }
        return out;
    }

    @Test
    void emitsEachAccountOnceAsASchemalessMap() throws Exception {
        CrmAccountsSourceConnector connector = new CrmAccountsSourceConnector();
        connector.start(Map.of("accounts", "3", "interval.ms", "0"));
        List<Map<String, String>> configs = connector.taskConfigs(4);
        assertEquals(1, configs.size());

        CrmAccountsSourceTask task = new CrmAccountsSourceTask();
        task.initialize(contextWithOffset(null));
        task.start(configs.get(0));
        List<SourceRecord> recs = drain(task, 3);
        assertEquals(3, recs.size());
        SourceRecord r = recs.get(1);
        assertEquals("crm.accounts", r.topic());
        assertNull(r.key());
        assertNull(r.keySchema());
        assertNull(r.valueSchema());
        assertNull(r.kafkaPartition());
        @SuppressWarnings("unchecked")
        Map<String, Object> v = (Map<String, Object>) r.value();
        assertEquals("acct-ev-0002", v.get("event_id"));
        assertEquals("acct-02", v.get("account"));
        assertEquals(List.of("event_id", "account", "owner", "limit", "region"), new ArrayList<>(v.keySet()));
        assertEquals(Map.of("position", 2L), r.sourceOffset());
        assertEquals(CrmAccountsSourceTask.SOURCE_PARTITION, r.sourcePartition());

        task.stop(); // a stopped task returns at once
        assertNull(task.poll());
    }

    @Test
    void resumesAfterTheCommittedOffset() throws Exception {
        CrmAccountsSourceTask task = new CrmAccountsSourceTask();
        task.initialize(contextWithOffset(Map.of("position", 2L)));
        task.start(Map.of("accounts", "4", "interval.ms", "0", "topic", "crm"));
        List<SourceRecord> recs = drain(task, 2);
        assertEquals(List.of("acct-03", "acct-04"),
                recs.stream().map(r -> (String) ((Map<?, ?>) r.value()).get("account")).toList());
        task.stop();
        assertNull(task.poll());
    }

    @Test
    void validatesItsConfig() {
        assertThrows(ConfigException.class,
                () -> new CrmAccountsSourceConnector().start(Map.of("accounts", "0")));
        assertEquals(3, new CrmAccountsSourceConnector().config().names().size());
    }
}
