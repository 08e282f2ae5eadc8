package lineage.harness;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Decoders for the Kafka-internal record formats of two changelogs of the withdrawal processor
 * (Kafka Streams 4.3.1; the layouts are those of {@code WindowKeySchema},
 * {@code InMemoryTimeOrderedKeyValueChangeBuffer}, {@code BufferValue} and
 * {@code ProcessorRecordContext}). Every decoder checks the whole layout (lengths within bounds, no
 * byte left over) and throws {@link IllegalArgumentException} with the reason when the bytes do
 * not fit, so a format change shows up as a warning in the truth rather than as wrong parents.
 */
public final class StreamsFormats {
    private static final int TIMESTAMP_SIZE = Long.BYTES;
    private static final int SEQNUM_SIZE = Integer.BYTES;
    private static final int NULL_VALUE_SENTINEL = -1;
    private static final int OLD_PREV_DUPLICATE_VALUE_SENTINEL = -2;

    private StreamsFormats() {
    }

    /** A windowed key: the plain key (UTF-8), the window start and (window store changelog only) the sequence number. */
    public record WindowedKey(String key, long windowStart, int seqnum) {
        /** {@code key@windowStart}: identifies the window across topics. */
        public String window() {
            return key + "@" + windowStart;
        }
    }

    /**
     * A record of the suppress buffer changelog: the record context of the update that was buffered
     * last (topic/partition/offset of the input record being processed then), the buffered change
     * (prior, old and new value, each possibly null) and the buffer time (for
     * {@code untilWindowCloses}: the window end).
     */
    public record BufferedChange(long contextTimestamp, long contextOffset, String contextTopic, int contextPartition,
            int headerCount, byte[] priorValue, byte[] oldValue, byte[] newValue, long bufferTime) {
        public String newValueString() {
            return newValue == null ? null : new String(newValue, StandardCharsets.UTF_8);
        }
    }

    /** Window store changelog key ({@code WindowKeySchema.toStoreKeyBinary}): key + 8-byte window start + 4-byte seqnum. */
    public static WindowedKey windowStoreChangelogKey(byte[] key) {
        if (key == null || key.length < TIMESTAMP_SIZE + SEQNUM_SIZE) {
            throw new IllegalArgumentException("window store key of " + (key == null ? "null" : key.length + " bytes")
                    + " is shorter than 12 bytes (key + window start + seqnum)");
        }
        ByteBuffer b = ByteBuffer.wrap(key);
        int n = key.length - TIMESTAMP_SIZE - SEQNUM_SIZE;
        return new WindowedKey(new String(key, 0, n, StandardCharsets.UTF_8), b.getLong(n), b.getInt(n + TIMESTAMP_SIZE));
    }

    /** Time-windowed key ({@code WindowKeySchema.toBinary}, the suppress buffer's key): key + 8-byte window start. */
    public static WindowedKey timeWindowedKey(byte[] key) {
        if (key == null || key.length < TIMESTAMP_SIZE) {
            throw new IllegalArgumentException("windowed key of " + (key == null ? "null" : key.length + " bytes")
                    + " is shorter than 8 bytes (key + window start)");
        }
        int n = key.length - TIMESTAMP_SIZE;
        return new WindowedKey(new String(key, 0, n, StandardCharsets.UTF_8), ByteBuffer.wrap(key).getLong(n), -1);
    }

    /**
     * A suppress buffer changelog value (header {@code v=3}): {@code ProcessorRecordContext}
     * (timestamp, offset, topic, partition, headers), prior value, old value (or a sentinel), new
     * value, then the 8-byte buffer time.
     */
    public static BufferedChange suppressBufferValue(byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("tombstone");
        }
        ByteBuffer b = ByteBuffer.wrap(value);
        try {
            long ts = b.getLong();
            long offset = b.getLong();
            byte[] topic = sizePrefixed(b, "context topic");
            if (topic == null) {
                throw new IllegalArgumentException("null context topic");
            }
            int partition = b.getInt();
            int headers = b.getInt();
            if (headers < -1 || headers > b.remaining() / 8) {
                throw new IllegalArgumentException("implausible header count " + headers);
            }
            for (int i = 0; i < headers; i++) {
                if (sizePrefixed(b, "header key") == null) {
                    throw new IllegalArgumentException("null header key");
                }
                sizePrefixed(b, "header value");
            }
            byte[] prior = sizePrefixed(b, "prior value");
            byte[] old;
            int oldLen = b.getInt();
            if (oldLen == OLD_PREV_DUPLICATE_VALUE_SENTINEL) {
                old = prior;
            } else {
                old = array(b, oldLen, "old value");
            }
            byte[] newValue = sizePrefixed(b, "new value");
            long bufferTime = b.getLong();
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " bytes left after the buffer time");
            }
            return new BufferedChange(ts, offset, new String(topic, StandardCharsets.UTF_8), partition,
                    Math.max(headers, 0), prior, old, newValue, bufferTime);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("value of " + value.length + " bytes ends early");
        }
    }

    private static byte[] sizePrefixed(ByteBuffer b, String what) {
        return array(b, b.getInt(), what);
    }

    private static byte[] array(ByteBuffer b, int len, String what) {
        if (len == NULL_VALUE_SENTINEL) {
            return null;
        }
        if (len < 0 || len > b.remaining()) {
            throw new IllegalArgumentException(what + ": length " + len + " with " + b.remaining() + " bytes left");
        }
        byte[] out = new byte[len];
        b.get(out);
        return out;
    }
}
