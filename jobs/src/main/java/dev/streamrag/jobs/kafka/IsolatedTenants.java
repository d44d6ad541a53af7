package dev.streamrag.jobs.kafka;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Tenants that talk to the platform over Kafka directly, each through topics of its own, so that
 * Kafka ACLs decide who acts as which tenant and who reads whose answers: a tenant {@code acme}
 * writes requests to {@code <requests-topic>.acme} only, and reads its answers from {@code
 * <responses-topic>.acme} and {@code <pieces-topic>.acme} only. A request's tenant is then the
 * topic's, never what the request says.
 *
 * <p>Every other tenant comes through the shared topics, written by trusted producers (the gateway,
 * which takes the tenant from an API key); an isolated tenant is refused there, so a producer of
 * the shared topic cannot act as one.
 */
public record IsolatedTenants(Set<String> names) implements Serializable {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  public IsolatedTenants {
    names = Set.copyOf(new TreeSet<>(names));
    for (String name : names) {
      if (!NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "an isolated tenant's name is [A-Za-z0-9_-]{1,64}, as it is part of topic names: '"
                + name
                + "'");
      }
    }
  }

  public static IsolatedTenants none() {
    return new IsolatedTenants(Set.of());
  }

  public boolean isEmpty() {
    return names.isEmpty();
  }

  public boolean isolated(String tenant) {
    return tenant != null && names.contains(tenant);
  }

  /** The tenant's own topic of {@code base} if it is isolated, else {@code base}. */
  public String topic(String base, String tenant) {
    return isolated(tenant) ? base + "." + tenant : base;
  }

  /** The shared requests topic and every isolated tenant's. */
  public List<String> requestTopics(String base) {
    List<String> topics = new ArrayList<>();
    topics.add(base);
    new TreeSet<>(names).forEach(name -> topics.add(base + "." + name));
    return topics;
  }

  /** The isolated tenant {@code topic} belongs to, or empty for the shared topic {@code base}. */
  public Optional<String> tenantOf(String base, String topic) {
    if (topic.startsWith(base + ".")) {
      String tenant = topic.substring(base.length() + 1);
      if (names.contains(tenant)) {
        return Optional.of(tenant);
      }
    }
    return Optional.empty();
  }
}
