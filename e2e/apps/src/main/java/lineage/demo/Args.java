package lineage.demo;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** Minimal "--name value" command line parser shared by the demo apps and the recorder. */
public final class Args {
    private final Map<String, String> single = new HashMap<>();
    private final Map<String, java.util.List<String>> multi = new HashMap<>();

    private Args() {
    }

    /**
     * Parses {@code --name value} pairs; {@code --name=value} is accepted too.
     *
     * @param known the accepted option names (without dashes); anything else is an error
     */
    public static Args parse(String[] argv, Set<String> known) {
        return parse(argv, known, Set.of());
    }

    /**
     * As {@link #parse(String[], Set)}, plus boolean flags: {@code --flag} alone means "true";
     * {@code --flag=true|false} and {@code --flag true|false} are accepted too.
     */
    public static Args parse(String[] argv, Set<String> known, Set<String> flags) {
        Args a = new Args();
        for (int i = 0; i < argv.length; i++) {
            String arg = argv[i];
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'");
            }
            String name = arg.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (flags.contains(name)) {
                boolean explicit = i + 1 < argv.length && (argv[i + 1].equals("true") || argv[i + 1].equals("false"));
                value = explicit ? argv[++i] : "true";
            } else {
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException("option --" + name + " needs a value");
                }
                value = argv[++i];
            }
            if (!known.contains(name) && !flags.contains(name)) {
                throw new IllegalArgumentException("unknown option --" + name + " (known: " + known + ")");
            }
            a.single.put(name, value);
            a.multi.computeIfAbsent(name, k -> new java.util.ArrayList<>()).add(value);
        }
        return a;
    }

    public boolean has(String name) {
        return single.containsKey(name);
    }

    public String get(String name, String def) {
        return single.getOrDefault(name, def);
    }

    public String required(String name) {
        String v = single.get(name);
        if (v == null) {
            throw new IllegalArgumentException("missing required option --" + name);
        }
        return v;
    }

    public java.util.List<String> all(String name) {
        return multi.getOrDefault(name, java.util.List.of());
    }

    public int getInt(String name, int def) {
        String v = single.get(name);
        return v == null ? def : Integer.parseInt(v.trim());
    }

    public long getLong(String name, long def) {
        String v = single.get(name);
        return v == null ? def : Long.parseLong(v.trim());
    }
}
