package lineage.demo.connect;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import lineage.demo.Accounts;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The task of {@link CrmAccountsSourceConnector}: one account record per poll, each account once. */
public class CrmAccountsSourceTask extends SourceTask {
    private static final Logger LOG = LoggerFactory.getLogger(CrmAccountsSourceTask.class);

    /** Source partition of every record: the whole CRM account list. */
    public static final Map<String, String> SOURCE_PARTITION = Map.of("crm", "accounts");
    /** Source offset field: the number of the last emitted account (1-based). */
    public static final String POSITION = "position";

    private final CountDownLatch stopped = new CountDownLatch(1);
    private String topic;
    private int accounts;
    private long intervalMs;
    private int next;
    private boolean doneLogged;

    @Override
    public String version() {
        return CrmAccountsSourceConnector.VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        AbstractConfig cfg = new AbstractConfig(CrmAccountsSourceConnector.CONFIG_DEF, props);
        topic = cfg.getString(CrmAccountsSourceConnector.TOPIC);
        accounts = cfg.getInt(CrmAccountsSourceConnector.ACCOUNTS);
        intervalMs = cfg.getLong(CrmAccountsSourceConnector.INTERVAL_MS);
        next = 1;
        if (context != null && context.offsetStorageReader() != null) {
            Map<String, Object> offset = context.offsetStorageReader().offset(SOURCE_PARTITION);
            if (offset != null && offset.get(POSITION) instanceof Number) {
                next = ((Number) offset.get(POSITION)).intValue() + 1;
            }
        }
        LOG.info("crm accounts task: topic {} accounts {} interval {} ms, resuming at account {}", topic, accounts,
                intervalMs, next);
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
        if (next > accounts) {
            if (!doneLogged) {
                LOG.info("all {} accounts emitted", accounts);
                doneLogged = true;
            }
            stopped.await(1, TimeUnit.SECONDS); // nothing more to send; do not spin
            return null;
        }
        if (intervalMs > 0 && stopped.await(intervalMs, TimeUnit.MILLISECONDS)) {
            return null;
        }
        if (stopped.getCount() == 0) {
            return null;
        }
        int n = next++;
        Map<String, Object> value = Accounts.value(n);
        LOG.info("emit account {} event_id={} to {}", Accounts.accountId(n), Accounts.eventId(n), topic);
        return List.of(new SourceRecord(SOURCE_PARTITION, Map.of(POSITION, (long) n), topic, null, null, null, null,
                value, System.currentTimeMillis()));
    }

    @Override
    public void stop() {
        stopped.countDown();
    }
}
