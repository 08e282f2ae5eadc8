package lineage.demo;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Deterministic transactions for a seed: {event_id, account, type, amount, ts}. About 60 % are
 * withdrawals; withdrawal amounts range up to 1200 while account limits are 200..1000, so both
 * approved and rejected withdrawals occur. The first transactions are fixed so that even a short
 * run has an approved withdrawal (tx-0001), a rejected one (tx-0002) and a deposit (tx-0003).
 */
public final class TransactionGenerator {
    public static final String WITHDRAWAL = "withdrawal";
    public static final String DEPOSIT = "deposit";

    private final Random random;
    private final int accounts;
    private int next = 1;

    public TransactionGenerator(long seed, int accounts) {
        this(seed, accounts, 1);
    }

    /**
     * A generator whose first transaction is {@code tx-<firstIndex>}: the sequence of a generator
     * started at 1, with the first {@code firstIndex - 1} transactions skipped, so a second burst
     * continues the first one exactly.
     */
    public TransactionGenerator(long seed, int accounts, int firstIndex) {
        if (accounts < 1) {
            throw new IllegalArgumentException("accounts must be >= 1");
        }
        if (firstIndex < 1) {
            throw new IllegalArgumentException("firstIndex must be >= 1");
        }
        this.random = new Random(seed);
        this.accounts = accounts;
        while (next < firstIndex) {
            next(0);
        }
    }

    /** The index of the transaction {@link #next} returns next. */
    public int nextIndex() {
        return next;
    }

    /**
     * A "tick": a withdrawal of amount 0 (always approved) with the event id
     * {@code tick-<last transaction index>-<account number>} and {@code "tick": true}. Ticks only
     * advance stream time, so that the withdrawal windows of the burst close.
     */
    public static Map<String, Object> tick(int lastIndex, int account, long ts) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("event_id", String.format("tick-%04d-%02d", lastIndex, account));
        v.put("account", Accounts.accountId(account));
        v.put("type", WITHDRAWAL);
        v.put("amount", 0L);
        v.put("ts", ts);
        v.put("tick", true);
        return v;
    }

    public static String eventId(int n) {
        return String.format("tx-%04d", n);
    }

    /** The next transaction; {@code ts} is the given wall-clock time. */
    public Map<String, Object> next(long ts) {
        int n = next++;
        int acct = 1 + random.nextInt(accounts);
        int limit = Accounts.limit(acct);
        String type;
        long amount;
        if (n == 1) {
            type = WITHDRAWAL;
            amount = Math.max(10, limit / 2);
        } else if (n == 2) {
            type = WITHDRAWAL;
            amount = limit + 50;
        } else if (n == 3) {
            type = DEPOSIT;
            amount = 250;
        } else if (random.nextInt(100) < 60) {
            type = WITHDRAWAL;
            amount = 10L * (1 + random.nextInt(120)); // 10 .. 1200
        } else {
            type = DEPOSIT;
            amount = 10L * (1 + random.nextInt(50)); // 10 .. 500
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("event_id", eventId(n));
        v.put("account", Accounts.accountId(acct));
        v.put("type", type);
        v.put("amount", amount);
        v.put("ts", ts);
        return v;
    }
}
