package lineage.demo;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGTERM/SIGINT handling that does NOT start the JVM shutdown: the handler only asks the main
 * thread to stop, the main thread closes its Kafka clients (Streams flushes its caches, the
 * producers' spans end) and then exits. JVM shutdown hooks, among them the OpenTelemetry agent's
 * exporter flush, therefore run after the clients are closed. Falls back to a shutdown hook where
 * {@code sun.misc.Signal} is unavailable.
 */
public final class Signals {
    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

    private Signals() {
    }

    /**
     * Runs {@code onStop} (once per signal) when SIGTERM or SIGINT arrives.
     *
     * @param mainDone counted down by the main thread when it has finished closing; the fallback
     *     shutdown hook waits for it (at most 2 minutes) so the JVM does not halt mid-close
     * @return true when signal handlers were installed, false when a shutdown hook was used instead
     */
    public static boolean onTerminate(Runnable onStop, java.util.concurrent.CountDownLatch mainDone) {
        try {
            for (String name : new String[] {"TERM", "INT"}) {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                    LOG.info("received SIG{}, stopping", sig.getName());
                    onStop.run();
                });
            }
            return true;
        } catch (Throwable t) {
            LOG.warn("cannot install signal handlers ({}), using a shutdown hook", t.toString());
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                onStop.run();
                try {
                    mainDone.await(2, java.util.concurrent.TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "stop-hook"));
            return false;
        }
    }
}
