package lineage.harness;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;

/** One Kafka record as the recorder saw it (raw key and value bytes; null value = tombstone). */
public record Rec(String cluster, String topic, int partition, long offset, long timestampMs, byte[] key,
        byte[] value) {

    public static final Comparator<Rec> ORDER = Comparator.comparing(Rec::cluster).thenComparing(Rec::topic)
            .thenComparingInt(Rec::partition).thenComparingLong(Rec::offset);

    public static Rec of(String cluster, String topic, int partition, long offset, long timestampMs, String key,
            String value) {
        return new Rec(cluster, topic, partition, offset, timestampMs,
                key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                value == null ? null : value.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code cluster/topic/partition/offset}. */
    public String id() {
        return cluster + "/" + topic + "/" + partition + "/" + offset;
    }

    public String clusterTopic() {
        return cluster + "/" + topic;
    }

    public String keyString() {
        return key == null ? null : new String(key, StandardCharsets.UTF_8);
    }

    public String valueString() {
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    public boolean tombstone() {
        return value == null;
    }
}
