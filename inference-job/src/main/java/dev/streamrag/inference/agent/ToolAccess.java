package dev.streamrag.inference.agent;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which tools each tenant's agents may call ({@code agent.tenant-tools}): {@code tenant=tool|tool}
 * entries separated by {@code ;}. {@code *} as tenant stands for every tenant without an entry of
 * its own, {@code *} as tool for every tool. A tenant's own entry replaces the {@code *} entry, it
 * does not add to it, so a tenant can be given less than the rest.
 */
public final class ToolAccess implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final String ANY = "*";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.:-]{1,128}");

  private final Map<String, Set<String>> byTenant;

  private ToolAccess(Map<String, Set<String>> byTenant) {
    this.byTenant = byTenant;
  }

  /** Every tenant may call every tool. */
  public static ToolAccess everything() {
    return parse("*=*");
  }

  /**
   * Reads {@code tenant=tool|tool;...}; whitespace around names is ignored.
   *
   * @throws IllegalArgumentException naming the entry that is not of that form
   */
  public static ToolAccess parse(String spec) {
    Map<String, Set<String>> byTenant = new LinkedHashMap<>();
    if (spec == null || spec.isBlank()) {
      return new ToolAccess(byTenant);
    }
    for (String entry : spec.split(";")) {
      if (entry.isBlank()) {
        continue;
      }
      int equals = entry.indexOf('=');
      if (equals < 0) {
        throw new IllegalArgumentException(
            "agent.tenant-tools: '" + entry.strip() + "' is not tenant=tool|tool");
      }
      String tenant = entry.substring(0, equals).strip();
      if (!tenant.equals(ANY) && !NAME.matcher(tenant).matches()) {
        throw new IllegalArgumentException(
            "agent.tenant-tools: '" + tenant + "' is not a tenant id or '*'");
      }
      if (byTenant.containsKey(tenant)) {
        throw new IllegalArgumentException(
            "agent.tenant-tools: tenant '" + tenant + "' has two entries");
      }
      Set<String> tools = new LinkedHashSet<>();
      for (String tool : entry.substring(equals + 1).split("\\|")) {
        String name = tool.strip();
        if (name.isEmpty()) {
          continue;
        }
        if (!name.equals(ANY) && !NAME.matcher(name).matches()) {
          throw new IllegalArgumentException(
              "agent.tenant-tools: '" + name + "' (tenant " + tenant + ") is not a tool name");
        }
        tools.add(name);
      }
      byTenant.put(tenant, Set.copyOf(tools));
    }
    return new ToolAccess(byTenant);
  }

  /** Whether {@code tenant}'s agents may call {@code tool}. */
  public boolean allowed(String tenant, String tool) {
    Set<String> tools = byTenant.getOrDefault(tenant, byTenant.get(ANY));
    return tools != null && (tools.contains(ANY) || tools.contains(tool));
  }
}
