package lineage.demo.connect;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.source.SourceConnector;

/**
 * A tiny CRM source: emits accounts 1..{@code accounts} once each (schemaless Map values
 * {event_id, account, owner, limit, region}, null key) to {@code topic}, one every
 * {@code interval.ms}. The source offset remembers the last emitted account, so a restarted task
 * does not send them again. Needs nothing beyond the Kafka Connect libraries.
 */
public class CrmAccountsSourceConnector extends SourceConnector {
    public static final String TOPIC = "topic";
    public static final String ACCOUNTS = "accounts";
    public static final String INTERVAL_MS = "interval.ms";
    public static final String VERSION = "0.1.0";

    static final ConfigDef CONFIG_DEF = new ConfigDef()
            .define(TOPIC, ConfigDef.Type.STRING, "crm.accounts", new ConfigDef.NonEmptyString(),
                    ConfigDef.Importance.HIGH, "Topic the account records are written to (before SMTs).")
            .define(ACCOUNTS, ConfigDef.Type.INT, 8, ConfigDef.Range.between(1, 9999), ConfigDef.Importance.HIGH,
                    "Number of accounts to emit (acct-01 ...).")
            .define(INTERVAL_MS, ConfigDef.Type.LONG, 200L, ConfigDef.Range.atLeast(0L),
                    ConfigDef.Importance.MEDIUM, "Pause before each account record, in milliseconds.");

    private Map<String, String> props;

    @Override
    public String version() {
        return VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        new AbstractConfig(CONFIG_DEF, props); // validates
        this.props = new HashMap<>(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return CrmAccountsSourceTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        return List.of(new HashMap<>(props)); // one task: the accounts are emitted once, in order
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return CONFIG_DEF;
    }
}
