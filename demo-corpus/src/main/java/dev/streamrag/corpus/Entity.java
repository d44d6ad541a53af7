package dev.streamrag.corpus;

import java.util.Map;

/**
 * One entity of the corpus as a tool would return it: the facts its article states, by attribute.
 *
 * @param docId the article about it
 * @param tenantId the tenant whose corpus holds it
 * @param kind river, company, scientist, probe or city
 * @param name how questions name it, e.g. {@code the Oslen River}, {@code Diodu Industries}
 * @param attributes attribute → the value as the article states it (e.g. {@code length → 1234 km})
 */
public record Entity(
    String docId, String tenantId, String kind, String name, Map<String, String> attributes) {
  public Entity {
    attributes = Map.copyOf(attributes);
  }
}
