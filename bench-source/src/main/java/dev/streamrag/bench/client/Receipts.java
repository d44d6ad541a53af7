package dev.streamrag.bench.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The receipts of one run, by requestId, shared by the client's receiving threads. Saved beside the
 * report as {@code receipts.jsonl}, so the report can be made again from what the client saw.
 */
public final class Receipts {
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String FILE = "receipts.jsonl";

  private final Map<String, Receipt> byId = new ConcurrentHashMap<>();

  /** No receipts: a report from Kafka alone, with in-job figures only. */
  public static Receipts none() {
    return new Receipts();
  }

  public Receipt of(String requestId) {
    return byId.computeIfAbsent(requestId, Receipt::new);
  }

  public Receipt get(String requestId) {
    return byId.get(requestId);
  }

  public boolean isEmpty() {
    return byId.isEmpty();
  }

  public int size() {
    return byId.size();
  }

  public Collection<Receipt> all() {
    return byId.values();
  }

  /** Whether every one of {@code ids} has its END and its committed response. */
  public boolean complete(Collection<String> ids) {
    for (String id : ids) {
      Receipt receipt = byId.get(id);
      if (receipt == null || receipt.endMicros() == 0 || receipt.committedMicros() == 0) {
        return false;
      }
    }
    return true;
  }

  public void write(Path file) {
    try {
      Files.createDirectories(file.getParent());
      try (BufferedWriter out = Files.newBufferedWriter(file)) {
        for (Receipt receipt : byId.values()) {
          out.write(JSON.writeValueAsString(receipt));
          out.newLine();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  public static Receipts read(Path file) {
    Receipts receipts = new Receipts();
    try {
      List<String> lines = Files.readAllLines(file);
      for (String line : lines) {
        if (!line.isBlank()) {
          Receipt receipt = JSON.readValue(line, Receipt.class);
          receipts.byId.put(receipt.requestId(), receipt);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read receipts " + file, e);
    }
    return receipts;
  }
}
