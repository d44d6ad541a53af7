package dev.streamrag.jobs.embed;

import ai.djl.Device;
import java.util.List;
import java.util.Locale;

/**
 * Which device the embedder runs on, from configuration and what Flink assigned the slot.
 *
 * <ul>
 *   <li>{@code cpu}: always the CPU.
 *   <li>{@code gpu}: the GPU Flink's GPU external resource gave this TaskManager (its first index);
 *       an error if it gave none, so a mis-scheduled job fails loudly instead of running slowly on
 *       CPU.
 *   <li>{@code gpu:N}: GPU N, for runs outside Flink's external resources.
 *   <li>{@code auto} (default): the assigned GPU if there is one, else the CPU.
 * </ul>
 */
public final class EmbeddingDevice {
  private EmbeddingDevice() {}

  /**
   * @param setting the configured device
   * @param assignedGpuIndexes the {@code index} values of Flink's {@code gpu} external resource for
   *     this task (empty without GPUs)
   */
  public static Device select(String setting, List<String> assignedGpuIndexes) {
    String value = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
    if (value.equals("cpu")) {
      return Device.cpu();
    }
    if (value.equals("auto")) {
      return assignedGpuIndexes.isEmpty() ? Device.cpu() : gpu(assignedGpuIndexes.get(0));
    }
    if (value.equals("gpu")) {
      if (assignedGpuIndexes.isEmpty()) {
        throw new IllegalStateException(
            "embedding device 'gpu' requested but Flink assigned no GPU to this TaskManager;"
                + " configure external-resources: gpu (see docs/operations.md) or use 'auto'");
      }
      return gpu(assignedGpuIndexes.get(0));
    }
    if (value.startsWith("gpu:")) {
      return gpu(value.substring(4));
    }
    throw new IllegalArgumentException(
        "unknown embedding device '" + setting + "'; use cpu, gpu, gpu:N or auto");
  }

  private static Device gpu(String index) {
    try {
      int gpu = Integer.parseInt(index.trim());
      if (gpu < 0) {
        throw new NumberFormatException();
      }
      return Device.gpu(gpu);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid GPU index '" + index + "'", e);
    }
  }
}
