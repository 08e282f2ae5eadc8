package lineage.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Set;
import org.junit.jupiter.api.Test;

class ArgsTest {
    private static final Set<String> KNOWN = Set.of("scenario", "out");
    private static final Set<String> FLAGS = Set.of("restored");

    @Test
    void flagsNeedNoValue() {
        Args a = Args.parse(new String[] {"--scenario", "withdrawal", "--restored", "--out", "f"}, KNOWN, FLAGS);
        assertEquals("true", a.get("restored", "false"));
        assertEquals("f", a.required("out"));
        assertEquals("true", Args.parse(new String[] {"--out", "f", "--restored"}, KNOWN, FLAGS).get("restored", ""));
        assertEquals("false", Args.parse(new String[] {"--restored", "false", "--out", "f"}, KNOWN, FLAGS)
                .get("restored", ""));
        assertEquals("false", Args.parse(new String[] {"--restored=false"}, KNOWN, FLAGS).get("restored", ""));
        assertFalse(Args.parse(new String[] {"--out", "f"}, KNOWN, FLAGS).has("restored"));
    }

    @Test
    void optionsStillNeedValues() {
        assertThrows(IllegalArgumentException.class, () -> Args.parse(new String[] {"--out"}, KNOWN, FLAGS));
        assertThrows(IllegalArgumentException.class, () -> Args.parse(new String[] {"--restored"}, KNOWN));
        assertThrows(IllegalArgumentException.class, () -> Args.parse(new String[] {"--x", "1"}, KNOWN, FLAGS));
    }
}
