package dev.streamrag.jobs.embed;

/**
 * Keeps DJL from downloading anything. The tokenizers and ONNX Runtime jars carry their native
 * libraries for Linux (x86-64, arm64) and macOS, which DJL extracts to its cache ({@code
 * DJL_CACHE_DIR}, default {@code ~/.djl.ai}). Offline mode makes a missing one an error instead of
 * a silent download from DJL's servers. A user who sets {@code ai.djl.offline} keeps their value.
 */
final class NativeLibraries {
  private NativeLibraries() {}

  static void stayOffline() {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
  }
}
