package dev.streamrag.deploycheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kubernetes NetworkPolicy ingress, evaluated as the API defines it: a pod that no policy with type
 * Ingress selects accepts everything; a selected pod accepts a connection only if a rule of one of
 * those policies lets it in (policies add up). A rule with no {@code from} admits every source and
 * with no {@code ports} every port; a peer with a pod selector only means pods of the policy's
 * namespace, with a namespace selector only every pod of the matching namespaces, with both the
 * matching pods of the matching namespaces. IP blocks admit no pod here (the checks do not model
 * addresses, and no manifest uses them). Every rendered policy is in the platform's namespace.
 */
final class NetworkAccess {
  /** A pod that opens a connection: its namespace's labels and its own. */
  record Source(String name, Map<String, String> namespaceLabels, Map<String, String> labels) {
    static Source inPlatform(Pods.Pod pod) {
      return new Source(pod.name(), namespace(Pods.NAMESPACE), pod.labels());
    }

    static Source elsewhere(String name, String namespace, Map<String, String> labels) {
      return new Source(name, namespace(namespace), labels);
    }
  }

  private final List<ObjectNode> policies;

  NetworkAccess(List<ObjectNode> policies) {
    this.policies = policies;
  }

  static NetworkAccess of(Rendered rendered) {
    return new NetworkAccess(rendered.ofKind("NetworkPolicy"));
  }

  /** The labels Kubernetes gives every namespace. */
  static Map<String, String> namespace(String name) {
    return Map.of("kubernetes.io/metadata.name", name);
  }

  /** The policies restricting ingress to pods with {@code labels} in the platform's namespace. */
  List<ObjectNode> selecting(Map<String, String> labels) {
    return policies.stream()
        .filter(p -> restrictsIngress(p) && matches(p.path("spec").path("podSelector"), labels))
        .toList();
  }

  boolean isolated(Pods.Pod target) {
    return !selecting(target.labels()).isEmpty();
  }

  /** Whether {@code source} may open a TCP connection to {@code target} on {@code port}. */
  boolean admits(Source source, Pods.Pod target, int port) {
    List<ObjectNode> selecting = selecting(target.labels());
    if (selecting.isEmpty()) {
      return true;
    }
    for (ObjectNode policy : selecting) {
      for (JsonNode rule : policy.path("spec").path("ingress")) {
        if (admitsFrom(rule.path("from"), source) && admitsPort(rule.path("ports"), target, port)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether a list of peers (a rule's {@code from}, or a Strimzi listener's {@code
   * networkPolicyPeers}) lets {@code source} in; an absent or empty list admits everyone.
   */
  static boolean admitsFrom(JsonNode peers, Source source) {
    if (peers.isMissingNode() || peers.isNull() || peers.isEmpty()) {
      return true;
    }
    for (JsonNode peer : peers) {
      boolean hasPods = peer.has("podSelector");
      boolean hasNamespaces = peer.has("namespaceSelector");
      if (!hasPods && !hasNamespaces) {
        continue; // an ipBlock
      }
      boolean namespaceOk =
          hasNamespaces
              ? matches(peer.path("namespaceSelector"), source.namespaceLabels())
              : source.namespaceLabels().equals(namespace(Pods.NAMESPACE));
      boolean podOk = !hasPods || matches(peer.path("podSelector"), source.labels());
      if (namespaceOk && podOk) {
        return true;
      }
    }
    return false;
  }

  private static boolean admitsPort(JsonNode ports, Pods.Pod target, int port) {
    if (ports.isMissingNode() || ports.isNull() || ports.isEmpty()) {
      return true;
    }
    for (JsonNode entry : ports) {
      if (!entry.path("protocol").asText("TCP").equals("TCP")) {
        continue;
      }
      JsonNode value = entry.path("port");
      if (value.isMissingNode()) {
        return true; // every port of the protocol
      }
      if (value.isInt()) {
        int from = value.asInt();
        int to = entry.path("endPort").asInt(from);
        if (port >= from && port <= to) {
          return true;
        }
      } else if (namedPorts(target).contains(value.asText() + ":" + port)) {
        return true;
      }
    }
    return false;
  }

  private static Set<String> namedPorts(Pods.Pod target) {
    Set<String> named = new HashSet<>();
    for (JsonNode container : target.spec().path("containers")) {
      for (JsonNode port : container.path("ports")) {
        named.add(port.path("name").asText() + ":" + port.path("containerPort").asInt());
      }
    }
    return named;
  }

  private static boolean restrictsIngress(ObjectNode policy) {
    JsonNode types = policy.path("spec").path("policyTypes");
    if (types.isMissingNode() || types.isEmpty()) {
      return true; // Ingress is implied
    }
    for (JsonNode type : types) {
      if (type.asText().equals("Ingress")) {
        return true;
      }
    }
    return false;
  }

  /** A label selector: {@code {}} selects everything, matchLabels and matchExpressions all hold. */
  static boolean matches(JsonNode selector, Map<String, String> labels) {
    if (selector.isMissingNode() || selector.isNull()) {
      return false;
    }
    for (Map.Entry<String, JsonNode> wanted : iterable(selector.path("matchLabels"))) {
      if (!wanted.getValue().asText().equals(labels.get(wanted.getKey()))) {
        return false;
      }
    }
    for (JsonNode expression : selector.path("matchExpressions")) {
      String value = labels.get(expression.path("key").asText());
      Set<String> values = new HashSet<>();
      expression.path("values").forEach(v -> values.add(v.asText()));
      boolean holds =
          switch (expression.path("operator").asText()) {
            case "In" -> value != null && values.contains(value);
            case "NotIn" -> value == null || !values.contains(value);
            case "Exists" -> value != null;
            case "DoesNotExist" -> value == null;
            default -> throw new IllegalArgumentException("unknown operator in " + expression);
          };
      if (!holds) {
        return false;
      }
    }
    return true;
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
    return node::fields;
  }
}
