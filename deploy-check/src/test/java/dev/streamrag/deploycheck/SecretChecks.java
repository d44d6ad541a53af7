package dev.streamrag.deploycheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.jobs.config.JobConfig;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks that secrets stay in Secrets: no ConfigMap entry, environment value, argument or Flink
 * setting whose name says it holds a secret carries one (it must be a {@code ${env|file|dir:...}}
 * reference, an environment reference {@code $(NAME)} in an argument, or come from a secretKeyRef);
 * every Secret and key a pod or resource refers to exists; and every reference and file a job or
 * the gateway is configured with resolves inside its pod (a mounted Secret or ConfigMap with that
 * key). Each check returns what is wrong, as readable lines: empty when all is well.
 */
final class SecretChecks {
  /** A whole value that says where a secret is (the jobs' and Kafka's reference syntax). */
  private static final Pattern WHOLE_REFERENCE = Pattern.compile("\\$\\{(env|file|dir):[^}]+}");

  private static final Pattern REFERENCE = Pattern.compile("\\$\\{(env|file|dir):([^}]+)}");

  /** A Kubernetes environment reference in an argument, expanded by the kubelet. */
  private static final Pattern ENV_EXPANSION = Pattern.compile("\\$\\([A-Za-z_][A-Za-z0-9_]*\\)");

  /** Words of a name that hold a secret (compared with the name's words, lower case). */
  private static final Set<String> SECRET_WORDS =
      Set.of("key", "keys", "apikey", "token", "pass", "pwd");

  private static final Pattern SECRET_PART =
      Pattern.compile("password|passwd|secret|jaas|credential|privatekey");

  /**
   * A last word that makes the name say where something is, or what kind, not what: {@code
   * STREAMRAG_GATEWAY_API_KEYS_FILE}, {@code ssl.truststore.type}, {@code key.serializer}.
   */
  private static final Set<String> NOT_A_VALUE =
      Set.of(
          "file",
          "filepath",
          "path",
          "location",
          "dir",
          "directory",
          "prefix",
          "type",
          "algorithm",
          "serializer",
          "deserializer",
          "enabled",
          "size",
          "length");

  /** Names that look secret and are not, with why. */
  private static final Map<String, String> NOT_SECRETS =
      Map.of(
          "external-resource.gpu.kubernetes.config-key",
          "the Kubernetes resource name Flink requests GPUs by");

  /** The keys the operators write into the Secrets they make. */
  static final Set<String> KAFKA_USER_KEYS = Set.of("password", "sasl.jaas.config");

  static final Set<String> CLUSTER_CA_KEYS = Set.of("ca.crt", "ca.p12", "ca.password");
  static final Set<String> CERTIFICATE_KEYS = Set.of("tls.crt", "tls.key", "ca.crt");

  private SecretChecks() {}

  /** Whether a setting, variable or property of this name holds a secret. */
  static boolean secretNamed(String name) {
    if (NOT_SECRETS.containsKey(name)) {
      return false;
    }
    List<String> words = words(name);
    if (words.isEmpty() || NOT_A_VALUE.contains(words.get(words.size() - 1))) {
      return false;
    }
    for (String word : words) {
      if (SECRET_WORDS.contains(word)
          || SECRET_PART.matcher(word).find()
          || word.endsWith("pass")
          || word.endsWith("token")
          || word.endsWith("apikey")) {
        return true;
      }
    }
    return false;
  }

  private static List<String> words(String name) {
    List<String> words = new ArrayList<>();
    for (String part : name.split("[^A-Za-z0-9]+")) {
      for (String word : part.split("(?<=[a-z0-9])(?=[A-Z])")) {
        if (!word.isEmpty()) {
          words.add(word.toLowerCase(Locale.ROOT));
        }
      }
    }
    return words;
  }

  static boolean isReference(String value) {
    return WHOLE_REFERENCE.matcher(value.strip()).matches();
  }

  // ---------------------------------------------------------------- literals

  /** Secret-named values written out in ConfigMaps, env, arguments and Flink settings. */
  static List<String> literals(Rendered rendered) {
    List<String> found = new ArrayList<>();
    for (ObjectNode map : rendered.ofKind("ConfigMap")) {
      map.path("data")
          .fields()
          .forEachRemaining(
              e -> {
                String where = Rendered.name(map) + " " + e.getKey();
                entries(e.getKey(), e.getValue().asText())
                    .forEach((k, v) -> checkValue(found, where, k, v, false));
              });
    }
    for (Pods.Pod pod : Pods.of(rendered)) {
      for (JsonNode container : pod.containers()) {
        String where = pod.name() + " container " + container.path("name").asText();
        for (JsonNode env : container.path("env")) {
          if (env.has("value")) {
            checkValue(
                found,
                where + " env",
                env.path("name").asText(),
                env.path("value").asText(),
                false);
          }
        }
        checkArguments(found, where + " args", container.path("command"));
        checkArguments(found, where + " args", container.path("args"));
      }
    }
    for (ObjectNode deployment : rendered.ofKind("FlinkDeployment")) {
      String where = Rendered.name(deployment);
      deployment
          .path("spec")
          .path("flinkConfiguration")
          .fields()
          .forEachRemaining(
              e ->
                  checkValue(
                      found,
                      where + " flinkConfiguration",
                      e.getKey(),
                      e.getValue().asText(),
                      false));
      checkArguments(found, where + " job.args", deployment.path("spec").path("job").path("args"));
    }
    for (ObjectNode kafka : rendered.ofKind("Kafka")) {
      kafka
          .path("spec")
          .path("kafka")
          .path("config")
          .fields()
          .forEachRemaining(
              e ->
                  checkValue(
                      found,
                      Rendered.name(kafka) + " config",
                      e.getKey(),
                      e.getValue().asText(),
                      false));
    }
    return found;
  }

  /** A ConfigMap entry as key → value pairs: a properties or YAML file's, or itself. */
  static Map<String, String> entries(String key, String value) {
    String lower = key.toLowerCase(Locale.ROOT);
    Map<String, String> entries = new LinkedHashMap<>();
    if (lower.endsWith(".properties")) {
      entries.putAll(properties(value));
    } else if (lower.endsWith(".yml") || lower.endsWith(".yaml")) {
      try {
        JsonNode tree = Yaml.MAPPER.readTree(value);
        if (tree != null && tree.isObject()) {
          JobConfig.flatten("", tree, entries);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot parse " + key, e);
      }
    } else {
      entries.put(key, value);
    }
    return entries;
  }

  static Map<String, String> properties(String text) {
    Properties properties = new Properties();
    try {
      properties.load(new StringReader(text));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> values = new TreeMap<>();
    properties.stringPropertyNames().forEach(k -> values.put(k, properties.getProperty(k).strip()));
    return values;
  }

  private static void checkArguments(List<String> found, String where, JsonNode args) {
    List<String> list = new ArrayList<>();
    args.forEach(a -> list.add(a.asText()));
    for (int i = 0; i < list.size(); i++) {
      String arg = list.get(i);
      if (!arg.startsWith("--") || arg.length() < 3) {
        continue;
      }
      int equals = arg.indexOf('=');
      if (equals > 0) {
        checkValue(found, where, arg.substring(2, equals), arg.substring(equals + 1), true);
      } else if (i + 1 < list.size() && !list.get(i + 1).startsWith("--")) {
        checkValue(found, where, arg.substring(2), list.get(i + 1), true);
      }
    }
  }

  private static void checkValue(
      List<String> found, String where, String name, String value, boolean argument) {
    if (!secretNamed(name) || value.isBlank() || isReference(value)) {
      return;
    }
    if (argument && ENV_EXPANSION.matcher(value.strip()).matches()) {
      return; // $(NAME): the variable's own source is checked as env
    }
    found.add(where + ": " + name + " holds a value, not a reference to a Secret");
  }

  // ---------------------------------------------------------------- existence

  /**
   * The Secrets the overlay makes or has made, with their keys: rendered Secrets, and those Strimzi
   * (a KafkaUser's, a Kafka cluster's CA certificates) and cert-manager (a Certificate's) create
   * from rendered resources.
   */
  static Map<String, Set<String>> provided(Rendered rendered) {
    Map<String, Set<String>> secrets = new TreeMap<>();
    for (ObjectNode secret : rendered.ofKind("Secret")) {
      Set<String> keys = new TreeSet<>();
      secret.path("data").fieldNames().forEachRemaining(keys::add);
      secret.path("stringData").fieldNames().forEachRemaining(keys::add);
      secrets.put(secret.path("metadata").path("name").asText(), keys);
    }
    for (ObjectNode user : rendered.ofKind("KafkaUser")) {
      if (user.path("spec").path("authentication").path("type").asText().equals("scram-sha-512")) {
        secrets.put(user.path("metadata").path("name").asText(), KAFKA_USER_KEYS);
      }
    }
    for (ObjectNode kafka : rendered.ofKind("Kafka")) {
      String name = kafka.path("metadata").path("name").asText();
      secrets.put(name + "-cluster-ca-cert", CLUSTER_CA_KEYS);
      secrets.put(name + "-clients-ca-cert", CLUSTER_CA_KEYS);
    }
    for (ObjectNode certificate : rendered.ofKind("Certificate")) {
      secrets.put(certificate.path("spec").path("secretName").asText(), CERTIFICATE_KEYS);
    }
    return secrets;
  }

  /** Every Secret key a resource refers to, as secret → keys ("*" for the whole Secret). */
  static Map<String, Set<String>> referenced(Rendered rendered) {
    Map<String, Set<String>> refs = new TreeMap<>();
    for (Pods.Pod pod : Pods.of(rendered)) {
      for (JsonNode volume : pod.spec().path("volumes")) {
        JsonNode secret = volume.path("secret");
        if (secret.has("secretName") && !secret.path("optional").asBoolean(false)) {
          addItems(refs, secret.path("secretName").asText(), secret.path("items"));
        }
        for (JsonNode source : volume.path("projected").path("sources")) {
          if (source.has("secret") && !source.path("secret").path("optional").asBoolean(false)) {
            addItems(
                refs,
                source.path("secret").path("name").asText(),
                source.path("secret").path("items"));
          }
        }
      }
      for (JsonNode container : pod.containers()) {
        for (JsonNode env : container.path("env")) {
          JsonNode ref = env.path("valueFrom").path("secretKeyRef");
          if (ref.has("name") && !ref.path("optional").asBoolean(false)) {
            add(refs, ref.path("name").asText(), ref.path("key").asText());
          }
        }
        for (JsonNode from : container.path("envFrom")) {
          JsonNode ref = from.path("secretRef");
          if (ref.has("name") && !ref.path("optional").asBoolean(false)) {
            add(refs, ref.path("name").asText(), "*");
          }
        }
      }
    }
    for (ObjectNode issuer : rendered.ofKind("Issuer")) {
      JsonNode ca = issuer.path("spec").path("ca");
      if (ca.has("secretName")) {
        add(refs, ca.path("secretName").asText(), "tls.crt");
        add(refs, ca.path("secretName").asText(), "tls.key");
      }
    }
    return refs;
  }

  private static void addItems(Map<String, Set<String>> refs, String secret, JsonNode items) {
    if (items.isMissingNode() || items.isEmpty()) {
      add(refs, secret, "*");
    }
    for (JsonNode item : items) {
      add(refs, secret, item.path("key").asText());
    }
  }

  private static void add(Map<String, Set<String>> refs, String secret, String key) {
    refs.computeIfAbsent(secret, s -> new TreeSet<>()).add(key);
  }

  /** Secrets or keys referred to that {@code provided} lacks. */
  static List<String> missing(Rendered rendered, Map<String, Set<String>> provided) {
    List<String> missing = new ArrayList<>();
    referenced(rendered)
        .forEach(
            (secret, keys) -> {
              Set<String> has = provided.get(secret);
              if (has == null) {
                missing.add("Secret " + secret + " is referred to but nothing makes it");
                return;
              }
              for (String key : keys) {
                if (!key.equals("*") && !has.contains(key)) {
                  missing.add("Secret " + secret + " has no key " + key + " (has " + has + ")");
                }
              }
            });
    return missing;
  }

  // ---------------------------------------------------------------- resolution in the pod

  /**
   * What the jobs and the gateway are configured with that their pods cannot resolve: a {@code
   * ${dir:DIR:FILE}} or {@code ${file:PATH:KEY}} whose file is not a key of a Secret or ConfigMap
   * mounted there, an {@code ${env:NAME}} the container lacks, a {@code *_FILE} setting naming an
   * unmounted file, and the same inside the Kafka client properties file. Only the settings each
   * program reads count ({@link JobSettings}; the gateway's STREAMRAG_GATEWAY_*).
   */
  static List<String> unresolved(Rendered rendered, Map<String, Set<String>> provided) {
    List<String> problems = new ArrayList<>();
    Map<String, Map<String, String>> configMaps = new TreeMap<>();
    for (ObjectNode map : rendered.ofKind("ConfigMap")) {
      Map<String, String> data = new LinkedHashMap<>();
      map.path("data").fields().forEachRemaining(e -> data.put(e.getKey(), e.getValue().asText()));
      configMaps.put(map.path("metadata").path("name").asText(), data);
    }
    for (Pods.Pod pod : Pods.of(rendered)) {
      boolean gateway = "gateway".equals(pod.labels().get("app.kubernetes.io/name"));
      if (!pod.isFlink() && !gateway) {
        continue;
      }
      JsonNode container = pod.container(pod.isFlink() ? "flink-main-container" : "gateway");
      Map<String, String> env = environment(container, configMaps);
      Set<String> read =
          pod.isFlink() ? JobSettings.envReadBy(pod.entryClass()) : gatewayEnv(env.keySet());
      Mounts mounts = new Mounts(pod, container, provided, configMaps);
      for (String name : new TreeSet<>(env.keySet())) {
        if (!read.contains(name) || env.get(name) == null) {
          continue;
        }
        String where = pod.name() + " " + name;
        String value = env.get(name);
        references(where, value, env, mounts, problems);
        if (name.endsWith("_FILE") && !value.isBlank() && !isReference(value)) {
          Optional<String> content = mounts.file(value, where, problems);
          if (content.isPresent() && name.endsWith("PROPERTIES_FILE")) {
            properties(content.get())
                .forEach(
                    (key, property) -> {
                      String at = where + " " + value + " " + key;
                      references(at, property, env, mounts, problems);
                      if (key.endsWith(".location") && !property.isBlank()) {
                        mounts.file(property, at, problems);
                      }
                    });
          }
        }
      }
    }
    return problems;
  }

  private static Set<String> gatewayEnv(Set<String> names) {
    Set<String> read = new TreeSet<>();
    names.stream().filter(n -> n.startsWith("STREAMRAG_GATEWAY_")).forEach(read::add);
    return read;
  }

  /** The container's environment: literal values and ConfigMap values; null for a Secret's. */
  private static Map<String, String> environment(
      JsonNode container, Map<String, Map<String, String>> configMaps) {
    Map<String, String> env = new LinkedHashMap<>();
    for (JsonNode from : container.path("envFrom")) {
      Map<String, String> map = configMaps.get(from.path("configMapRef").path("name").asText());
      if (map != null) {
        env.putAll(map);
      }
    }
    for (JsonNode entry : container.path("env")) {
      String name = entry.path("name").asText();
      JsonNode ref = entry.path("valueFrom").path("configMapKeyRef");
      if (entry.has("value")) {
        env.put(name, entry.path("value").asText());
      } else if (ref.has("name")) {
        env.put(
            name,
            configMaps
                .getOrDefault(ref.path("name").asText(), Map.of())
                .get(ref.path("key").asText()));
      } else {
        env.put(name, null);
      }
    }
    return env;
  }

  private static void references(
      String where, String value, Map<String, String> env, Mounts mounts, List<String> problems) {
    Matcher m = REFERENCE.matcher(value);
    while (m.find()) {
      String body = m.group(2);
      switch (m.group(1)) {
        case "env" -> {
          if (!env.containsKey(body)) {
            problems.add(where + ": ${env:" + body + "} but the container has no " + body);
          }
        }
        case "dir" -> {
          int colon = body.lastIndexOf(':');
          if (colon <= 0) {
            problems.add(where + ": ${dir:" + body + "} is not ${dir:DIR:FILE}");
          } else {
            mounts.file(
                body.substring(0, colon) + "/" + body.substring(colon + 1), where, problems);
          }
        }
        case "file" -> {
          int colon = body.lastIndexOf(':');
          if (colon <= 0) {
            problems.add(where + ": ${file:" + body + "} is not ${file:PATH:KEY}");
          } else {
            mounts
                .file(body.substring(0, colon), where, problems)
                .filter(text -> !properties(text).containsKey(body.substring(colon + 1)))
                .ifPresent(
                    text ->
                        problems.add(
                            where
                                + ": "
                                + body.substring(0, colon)
                                + " has no key "
                                + body.substring(colon + 1)));
          }
        }
        default -> throw new IllegalStateException(m.group(1));
      }
    }
  }

  /** A container's mounts, and what file each path is. */
  private record Mounts(
      Pods.Pod pod,
      JsonNode container,
      Map<String, Set<String>> provided,
      Map<String, Map<String, String>> configMaps) {

    /**
     * The file at {@code path} if it is a mounted key of a Secret or ConfigMap: the ConfigMap's
     * text, or an empty string for a Secret's (never read here); empty, with a problem added, if no
     * such file is mounted there.
     */
    Optional<String> file(String path, String where, List<String> problems) {
      for (JsonNode mount : container.path("volumeMounts")) {
        String at = mount.path("mountPath").asText();
        JsonNode volume = pod.volume(mount.path("name").asText());
        if (volume == null) {
          continue;
        }
        String key;
        if (mount.has("subPath")) {
          if (!path.equals(at)) {
            continue;
          }
          key = mount.path("subPath").asText();
        } else if (path.startsWith(at.endsWith("/") ? at : at + "/")) {
          key = path.substring(at.length()).replaceFirst("^/", "");
        } else {
          continue;
        }
        return fileOf(volume, key, path, where, problems);
      }
      problems.add(where + ": " + path + " is not in any volume the container mounts");
      return Optional.empty();
    }

    private Optional<String> fileOf(
        JsonNode volume, String file, String path, String where, List<String> problems) {
      boolean secret = volume.has("secret");
      JsonNode source = secret ? volume.path("secret") : volume.path("configMap");
      if (source.isMissingNode()) {
        problems.add(
            where + ": " + path + " is on a volume that is neither a Secret nor a ConfigMap");
        return Optional.empty();
      }
      String name = (secret ? source.path("secretName") : source.path("name")).asText();
      String key = file;
      if (source.has("items")) {
        key = null;
        for (JsonNode item : source.path("items")) {
          if (item.path("path").asText().equals(file)) {
            key = item.path("key").asText();
          }
        }
        if (key == null) {
          problems.add(where + ": " + path + " is not among the items mounted from " + name);
          return Optional.empty();
        }
      }
      if (secret) {
        Set<String> keys = provided.get(name);
        if (keys == null || !keys.contains(key)) {
          problems.add(
              where
                  + ": "
                  + path
                  + " needs key "
                  + key
                  + " of Secret "
                  + name
                  + " (has "
                  + keys
                  + ")");
          return Optional.empty();
        }
        return Optional.of("");
      }
      Map<String, String> data = configMaps.get(name);
      if (data == null || !data.containsKey(key)) {
        problems.add(where + ": " + path + " needs key " + key + " of ConfigMap " + name);
        return Optional.empty();
      }
      return Optional.of(data.get(key));
    }
  }
}
