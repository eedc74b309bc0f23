// perfy's launcher for JMeter before 3.3 on a current XStream (Debian's JMeter 2.13 with XStream 1.4.20): such an
// XStream forbids every class it was not told to allow, and JMeter before 3.3 allows none, so no plan loads.

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

/**
 * Grants XStream's AnyTypePermission to the XStream instances of JMeter's SaveService (what JMeter 3.3 itself
 * does), then hands the arguments to JMeter's own org.apache.jmeter.NewDriver.main. Started by perfy with JMeter's
 * jars on the class path and -Djmeter.home; everything JMeter-specific is reached by reflection, so this file
 * compiles on its own, with no JMeter on the compiler's class path.
 *
 * SaveService is initialised here, before JMeter has read jmeter.properties and the -J properties; its static
 * initialiser only reads bin/saveservice.properties under jmeter.home and the rarely set `file_format*` and
 * `saveservice_properties` properties, which therefore keep their defaults.
 */
public final class PerfyJMeterLauncher {
    private static final String PREFIX = "perfy-launcher: ";

    private PerfyJMeterLauncher() {}

    public static void main(String[] args) throws Throwable {
        String home = System.getProperty("jmeter.home");
        if (home == null || home.isEmpty()) {
            System.err.println(PREFIX + "the system property jmeter.home is not set");
            System.exit(2);
        }
        PrintStream out = System.out;
        try {
            ClassLoader loader = PerfyJMeterLauncher.class.getClassLoader();
            // Before JMeter configures its log, SaveService logs INFO lines to standard output through the
            // logging hierarchy's default target, which keeps the System.out of the moment JMeterUtils makes it:
            // that target gets a stream that passes on only the warnings and errors.
            System.setOut(new PrintStream(new QuietInfoStream(out), true));
            Class<?> saveService;
            try {
                Class<?> utils = Class.forName("org.apache.jmeter.util.JMeterUtils", true, loader);
                utils.getMethod("setJMeterHome", String.class).invoke(null, home);
                saveService = Class.forName("org.apache.jmeter.save.SaveService", true, loader);
            } finally {
                System.out.flush();
                System.setOut(out);
            }
            Class<?> xstream = Class.forName("com.thoughtworks.xstream.XStream", true, loader);
            Class<?> typePermission = Class.forName("com.thoughtworks.xstream.security.TypePermission", true, loader);
            Object any = Class.forName("com.thoughtworks.xstream.security.AnyTypePermission", true, loader).getField("ANY").get(null);
            Method addPermission = xstream.getMethod("addPermission", typePermission);
            int granted = 0;
            for (Field field : saveService.getDeclaredFields()) {
                if (!xstream.isAssignableFrom(field.getType()) || !Modifier.isStatic(field.getModifiers())) continue;
                field.setAccessible(true);
                Object instance = field.get(null);
                if (instance == null) continue;
                addPermission.invoke(instance, any);
                granted++;
            }
            if (granted == 0) System.err.println(PREFIX + "found no XStream instance in SaveService; plans may not load");
        } catch (ClassNotFoundException e) {
            // An XStream older than 1.4.7 has no security framework and needs no permission; a missing JMeter
            // class shows again, and is reported by JMeter itself, when NewDriver starts.
        } catch (NoSuchMethodException | NoSuchFieldException e) {
            System.err.println(PREFIX + "did not grant XStream permissions (" + e + ")");
        } catch (InvocationTargetException e) {
            System.err.println(PREFIX + "could not prepare JMeter's SaveService: " + e.getCause());
        } catch (LinkageError e) {
            System.err.println(PREFIX + "could not prepare JMeter's SaveService: " + e);
        }
        Method newDriverMain = Class.forName("org.apache.jmeter.NewDriver").getMethod("main", String[].class);
        try {
            newDriverMain.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** Passes whole lines on, except logkit's default-format lines at INFO and DEBUG level. */
    private static final class QuietInfoStream extends OutputStream {
        private final PrintStream target;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        QuietInfoStream(PrintStream target) {
            this.target = target;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            line.write(b);
            if (b == '\n') flushLine();
        }

        @Override
        public synchronized void flush() {
            if (line.size() > 0 && !endsWithNewline()) return;
            flushLine();
            target.flush();
        }

        private boolean endsWithNewline() {
            byte[] bytes = line.toByteArray();
            return bytes.length > 0 && bytes[bytes.length - 1] == '\n';
        }

        private void flushLine() {
            String text = line.toString();
            line.reset();
            if (text.isEmpty() || text.startsWith("INFO ") || text.startsWith("DEBUG ")) return;
            target.print(text);
        }
    }
}
