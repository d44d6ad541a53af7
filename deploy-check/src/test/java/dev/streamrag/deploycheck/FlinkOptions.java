package dev.streamrag.deploycheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.JarURLConnection;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import org.apache.flink.annotation.docs.Documentation;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.FallbackKey;

/**
 * Every configuration key Flink defines, read from the {@code ConfigOption} constants of the Flink
 * jars on the test classpath: Flink itself, its Kubernetes integration, the operator and its
 * autoscaler. Keys with placeholders ({@code external-resource.<resource_name>.amount}) match any
 * name there. The catch-all {@code metrics.reporter.<name>.<parameter>} is left out on purpose: a
 * reporter's own parameters are listed from the reporter (Prometheus: {@code port}).
 */
final class FlinkOptions {
  private static final String REPORTER_CATCH_ALL = "metrics.reporter.<name>.<parameter>";

  private final Map<String, ConfigOption<?>> exact;
  private final Map<Pattern, String> patterns;
  private final Set<String> classes;

  private FlinkOptions(
      Map<String, ConfigOption<?>> exact, Map<Pattern, String> patterns, Set<String> classes) {
    this.exact = exact;
    this.patterns = patterns;
    this.classes = classes;
  }

  static FlinkOptions discover() {
    Map<String, ConfigOption<?>> exact = new HashMap<>();
    Map<Pattern, String> patterns = new HashMap<>();
    Set<String> classes = new LinkedHashSet<>();
    for (String className : optionClasses()) {
      Class<?> type;
      try {
        type = Class.forName(className, true, FlinkOptions.class.getClassLoader());
      } catch (Throwable notLoadable) {
        continue; // a class that needs what this classpath leaves out holds no option we use
      }
      for (Field field : type.getDeclaredFields()) {
        if (!Modifier.isStatic(field.getModifiers())
            || !ConfigOption.class.isAssignableFrom(field.getType())) {
          continue;
        }
        ConfigOption<?> option;
        try {
          field.setAccessible(true);
          option = (ConfigOption<?>) field.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
          continue;
        }
        classes.add(className);
        Documentation.SuffixOption suffix = field.getAnnotation(Documentation.SuffixOption.class);
        String prefix = suffix == null ? "" : suffix.value() + ".";
        register(prefix + option.key(), option, exact, patterns);
        for (FallbackKey fallback : option.fallbackKeys()) {
          register(prefix + fallback.getKey(), option, exact, patterns);
        }
      }
    }
    // The Prometheus reporter's one parameter of its own, as its factory names it.
    patterns.put(
        placeholderPattern("metrics.reporter.<name>." + prometheusPortParameter()),
        "metrics.reporter.<name>.port");
    return new FlinkOptions(exact, patterns, classes);
  }

  /**
   * True if Flink, its Kubernetes integration, the operator or the autoscaler defines {@code key}.
   */
  boolean known(String key) {
    return exact.containsKey(key)
        || patterns.keySet().stream().anyMatch(p -> p.matcher(key).matches());
  }

  /** The typed option of an exact key, to parse a value with. */
  Optional<ConfigOption<?>> option(String key) {
    return Optional.ofNullable(exact.get(key));
  }

  int size() {
    return exact.size() + patterns.size();
  }

  Set<String> classes() {
    return Collections.unmodifiableSet(classes);
  }

  private static void register(
      String key,
      ConfigOption<?> option,
      Map<String, ConfigOption<?>> exact,
      Map<Pattern, String> patterns) {
    if (key.equals(REPORTER_CATCH_ALL)) {
      return;
    }
    if (key.contains("<")) {
      patterns.put(placeholderPattern(key), key);
    } else {
      exact.putIfAbsent(key, option);
    }
  }

  private static Pattern placeholderPattern(String key) {
    StringBuilder regex = new StringBuilder();
    int at = 0;
    while (at < key.length()) {
      int open = key.indexOf('<', at);
      if (open < 0) {
        regex.append(Pattern.quote(key.substring(at)));
        break;
      }
      int close = key.indexOf('>', open);
      regex.append(Pattern.quote(key.substring(at, open)));
      // The last placeholder may span dots (a driver parameter such as discovery-script.path).
      regex.append(close == key.length() - 1 ? ".+" : "[^.]+");
      at = close + 1;
    }
    return Pattern.compile(regex.toString());
  }

  private static String prometheusPortParameter() {
    try {
      Field port =
          Class.forName("org.apache.flink.metrics.prometheus.PrometheusReporterFactory")
              .getDeclaredField("ARG_PORT");
      port.setAccessible(true);
      return (String) port.get(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("flink-metrics-prometheus is not on the classpath", e);
    }
  }

  /** Classes named *Options in the Flink jars on the classpath. */
  private static List<String> optionClasses() {
    List<String> names = new ArrayList<>();
    try {
      var manifests = FlinkOptions.class.getClassLoader().getResources("META-INF/MANIFEST.MF");
      while (manifests.hasMoreElements()) {
        URL manifest = manifests.nextElement();
        if (!manifest.getProtocol().equals("jar")) {
          continue;
        }
        JarURLConnection connection = (JarURLConnection) manifest.openConnection();
        connection.setUseCaches(false);
        String jar = connection.getJarFileURL().getPath();
        if (!jar.substring(jar.lastIndexOf('/') + 1).startsWith("flink-")) {
          continue;
        }
        try (JarFile file = new JarFile(connection.getJarFileURL().getPath())) {
          file.stream()
              .map(entry -> entry.getName())
              .filter(name -> name.startsWith("org/apache/flink/"))
              .filter(name -> name.endsWith("Options.class") && !name.contains("$"))
              .map(name -> name.substring(0, name.length() - 6).replace('/', '.'))
              .forEach(names::add);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return names;
  }
}
