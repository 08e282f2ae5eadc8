package lineage.demo;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The CRM accounts of the demo, a pure function of the account number (1-based). Shared by
 * {@link TransactionProducer} and the CRM source connector, so both scenarios see the same accounts.
 * Plain Java only: the connector loads this class inside the Connect worker.
 */
public final class Accounts {
    private static final String[] OWNERS = {
        "Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov",
        "Donald Knuth", "Frances Allen", "John Backus", "Margaret Hamilton", "Ken Thompson",
    };
    private static final String[] REGIONS = {"eu-west", "us-east", "ap-south"};

    private Accounts() {
    }

    /** {@code acct-01}, {@code acct-02}, ... */
    public static String accountId(int n) {
        return String.format("acct-%02d", n);
    }

    /** {@code acct-ev-0001}, ... : the event id of the n-th account record. */
    public static String eventId(int n) {
        return String.format("acct-ev-%04d", n);
    }

    public static String owner(int n) {
        String base = OWNERS[(n - 1) % OWNERS.length];
        int round = (n - 1) / OWNERS.length;
        return round == 0 ? base : base + " " + (round + 1);
    }

    /** Withdrawal limit: 200 .. 1000 in steps of 100. */
    public static int limit(int n) {
        return 200 + ((n * 7) % 9) * 100;
    }

    public static String region(int n) {
        return REGIONS[(n - 1) % REGIONS.length];
    }

    /** The account record value {event_id, account, owner, limit, region}. */
    public static Map<String, Object> value(int n) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("event_id", eventId(n));
        v.put("account", accountId(n));
        v.put("owner", owner(n));
        v.put("limit", limit(n));
        v.put("region", region(n));
        return v;
    }
}
