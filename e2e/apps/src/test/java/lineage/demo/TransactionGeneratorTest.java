package lineage.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TransactionGeneratorTest {

    private static List<Map<String, Object>> generate(long seed, int n, int accounts) {
        TransactionGenerator g = new TransactionGenerator(seed, accounts);
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(g.next(0));
        }
        return out;
    }

    @Test
    void deterministicForASeed() {
        assertEquals(generate(7, 100, 8), generate(7, 100, 8));
        assertNotEquals(generate(7, 100, 8), generate(8, 100, 8));
    }

    @Test
    void idsValuesAndMix() {
        List<Map<String, Object>> txs = generate(42, 200, 8);
        assertEquals("tx-0001", txs.get(0).get("event_id"));
        assertEquals("tx-0200", txs.get(199).get("event_id"));
        assertEquals(List.of("event_id", "account", "type", "amount", "ts"), new ArrayList<>(txs.get(0).keySet()));
        int withdrawals = 0;
        int over = 0;
        int under = 0;
        for (Map<String, Object> tx : txs) {
            String acct = (String) tx.get("account");
            assertTrue(acct.matches("acct-0[1-8]"), acct);
            if (tx.get("type").equals("withdrawal")) {
                withdrawals++;
                int n = Integer.parseInt(acct.substring(5));
                if ((Long) tx.get("amount") > Accounts.limit(n)) {
                    over++;
                } else {
                    under++;
                }
            } else {
                assertEquals("deposit", tx.get("type"));
            }
        }
        assertTrue(withdrawals > 100 && withdrawals < 140, "about 60 % withdrawals: " + withdrawals);
        assertTrue(over > 10 && under > 10, "over " + over + " under " + under);
    }

    @Test
    void shortRunsStillHaveBothDecisionsAndADeposit() {
        List<Map<String, Object>> txs = generate(3, 3, 4);
        int a1 = Integer.parseInt(((String) txs.get(0).get("account")).substring(5));
        int a2 = Integer.parseInt(((String) txs.get(1).get("account")).substring(5));
        assertTrue((Long) txs.get(0).get("amount") <= Accounts.limit(a1));
        assertTrue((Long) txs.get(1).get("amount") > Accounts.limit(a2));
        assertEquals("deposit", txs.get(2).get("type"));
    }

    @Test
    void aSecondBurstContinuesTheSequence() {
        List<Map<String, Object>> all = generate(42, 60, 8);
        TransactionGenerator second = new TransactionGenerator(42, 8, 41);
        assertEquals(41, second.nextIndex());
        for (int i = 40; i < 60; i++) {
            assertEquals(all.get(i), second.next(0));
        }
        assertEquals("tx-0041", all.get(40).get("event_id"));
        assertEquals(61, second.nextIndex());
    }

    @Test
    void ticks() {
        Map<String, Object> t = TransactionGenerator.tick(40, 3, 123);
        assertEquals("tick-0040-03", t.get("event_id"));
        assertEquals("acct-03", t.get("account"));
        assertEquals("withdrawal", t.get("type"));
        assertEquals(0L, t.get("amount"));
        assertEquals(123L, t.get("ts"));
        assertEquals(true, t.get("tick"));
        assertEquals(WithdrawalTopology.WINDOW_SIZE.toMillis(), TransactionProducer.DEFAULT_TICK_AFTER_MS);
    }

    @Test
    void accounts() {
        assertEquals("acct-01", Accounts.accountId(1));
        assertEquals("acct-ev-0012", Accounts.eventId(12));
        assertEquals(List.of("event_id", "account", "owner", "limit", "region"),
                new ArrayList<>(Accounts.value(3).keySet()));
        for (int i = 1; i <= 30; i++) {
            int l = Accounts.limit(i);
            assertTrue(l >= 200 && l <= 1000 && l % 100 == 0, "limit " + l);
        }
    }
}
