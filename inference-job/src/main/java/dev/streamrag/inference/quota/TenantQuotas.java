package dev.streamrag.inference.quota;

import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.schemas.ids.Identifiers;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/**
 * Every tenant's {@link QuotaLimits}: the defaults ({@code quota.requests-per-second}, {@code
 * quota.burst}, {@code quota.max-concurrent}) and the named tenants' own ({@code quota.tenants},
 * {@code tenant=requestsPerSecond:burst:maxConcurrent;...}). Read and checked where the job is
 * built: a mistyped entry stops the job at start, naming the entry, instead of restarting a task in
 * a loop.
 */
public final class TenantQuotas implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The metric label of every tenant not named in {@code quota.tenants} (no tenant id can be). */
  public static final String OTHER = "_other";

  static final String SYNTAX =
      "entries are tenant=requestsPerSecond:burst:maxConcurrent separated by ';', each number >= 0"
          + " and 0 meaning unlimited, e.g. acme=50:100:20;guest=1:2:1";

  private final QuotaLimits defaults;
  private final Map<String, QuotaLimits> tenants;

  public TenantQuotas(QuotaLimits defaults, Map<String, QuotaLimits> tenants) {
    this.defaults = defaults;
    this.tenants = Collections.unmodifiableMap(new LinkedHashMap<>(tenants));
  }

  /** No limits for anyone: the quota stage lets every request through. */
  public static TenantQuotas none() {
    return new TenantQuotas(QuotaLimits.UNLIMITED, Map.of());
  }

  /** The job's quotas as configured; throws naming the option or entry that is wrong. */
  public static TenantQuotas of(Configuration config) {
    QuotaLimits defaults;
    try {
      defaults =
          new QuotaLimits(
              config.get(InferenceOptions.QUOTA_REQUESTS_PER_SECOND),
              config.get(InferenceOptions.QUOTA_BURST),
              config.get(InferenceOptions.QUOTA_MAX_CONCURRENT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          InferenceOptions.QUOTA_REQUESTS_PER_SECOND.key()
              + ", "
              + InferenceOptions.QUOTA_BURST.key()
              + ", "
              + InferenceOptions.QUOTA_MAX_CONCURRENT.key()
              + ": "
              + e.getMessage(),
          e);
    }
    return new TenantQuotas(
        defaults,
        parse(InferenceOptions.QUOTA_TENANTS.key(), config.get(InferenceOptions.QUOTA_TENANTS)));
  }

  /**
   * The entries of {@code spec} ({@code acme=50:100:20;guest=1:2:1}), in order; blank is none.
   *
   * @param key the option's name, for messages
   */
  static Map<String, QuotaLimits> parse(String key, String spec) {
    Map<String, QuotaLimits> tenants = new LinkedHashMap<>();
    if (spec == null || spec.isBlank()) {
      return tenants;
    }
    List<String> entries = new ArrayList<>(List.of(spec.split(";", -1)));
    for (int i = 0; i < entries.size(); i++) {
      String entry = entries.get(i).trim();
      if (entry.isEmpty() && i == entries.size() - 1) {
        continue; // a trailing ';'
      }
      String where = key + ": entry " + (i + 1) + " '" + entry + "'";
      int equals = entry.indexOf('=');
      if (equals < 0) {
        throw new IllegalArgumentException(where + " has no '='; " + SYNTAX);
      }
      String tenant = entry.substring(0, equals).trim();
      if (!Identifiers.validTenantId(tenant)) {
        throw new IllegalArgumentException(
            where
                + ": '"
                + tenant
                + "' is not a tenant id ("
                + Identifiers.TENANT_RULE
                + "); "
                + SYNTAX);
      }
      String[] numbers = entry.substring(equals + 1).split(":", -1);
      if (numbers.length != 3) {
        throw new IllegalArgumentException(
            where + " has " + numbers.length + " numbers, not 3; " + SYNTAX);
      }
      double rate = number(where, "requestsPerSecond", numbers[0]);
      int burst = whole(where, "burst", numbers[1]);
      int concurrent = whole(where, "maxConcurrent", numbers[2]);
      if (tenants.put(tenant, new QuotaLimits(rate, burst, concurrent)) != null) {
        throw new IllegalArgumentException(
            where + ": tenant '" + tenant + "' is named twice; " + SYNTAX);
      }
    }
    return tenants;
  }

  private static double number(String where, String what, String text) {
    try {
      double value = Double.parseDouble(text.trim());
      if (value >= 0 && !Double.isInfinite(value)) {
        return value;
      }
    } catch (NumberFormatException e) {
      // said below
    }
    throw new IllegalArgumentException(
        where + ": " + what + " '" + text + "' is not a number >= 0; " + SYNTAX);
  }

  private static int whole(String where, String what, String text) {
    try {
      int value = Integer.parseInt(text.trim());
      if (value >= 0) {
        return value;
      }
    } catch (NumberFormatException e) {
      // said below
    }
    throw new IllegalArgumentException(
        where + ": " + what + " '" + text + "' is not a whole number >= 0; " + SYNTAX);
  }

  /** {@code tenant}'s limits: its own if named, else the defaults. */
  public QuotaLimits limitsFor(String tenant) {
    QuotaLimits own = tenant == null ? null : tenants.get(tenant);
    return own != null ? own : defaults;
  }

  /** Whether any tenant has any limit. */
  public boolean enabled() {
    return !defaults.unlimited() || tenants.values().stream().anyMatch(l -> !l.unlimited());
  }

  /**
   * The tenant's label on the quota metrics: bounded by the configuration, never a free-form value
   * a client chose.
   */
  public String metricLabel(String tenant) {
    return tenant != null && tenants.containsKey(tenant) ? tenant : OTHER;
  }

  /** Every label {@link #metricLabel} gives: the named tenants, then {@link #OTHER}. */
  public List<String> metricLabels() {
    List<String> labels = new ArrayList<>(tenants.keySet());
    labels.add(OTHER);
    return labels;
  }

  public QuotaLimits defaults() {
    return defaults;
  }

  public Map<String, QuotaLimits> tenants() {
    return tenants;
  }

  @Override
  public String toString() {
    return "TenantQuotas{defaults=" + defaults + ", tenants=" + tenants + "}";
  }
}
