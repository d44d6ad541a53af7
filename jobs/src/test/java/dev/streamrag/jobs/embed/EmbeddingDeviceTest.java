package dev.streamrag.jobs.embed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

class EmbeddingDeviceTest {
  @Test
  void autoUsesTheAssignedGpuOrTheCpu() {
    assertThat(EmbeddingDevice.select("auto", List.of())).isEqualTo(Device.cpu());
    assertThat(EmbeddingDevice.select(null, List.of("2", "3"))).isEqualTo(Device.gpu(2));
  }

  @Test
  void explicitSettings() {
    assertThat(EmbeddingDevice.select("CPU", List.of("0"))).isEqualTo(Device.cpu());
    assertThat(EmbeddingDevice.select("gpu", List.of("1"))).isEqualTo(Device.gpu(1));
    assertThat(EmbeddingDevice.select("gpu:3", List.of())).isEqualTo(Device.gpu(3));
  }

  @Test
  void aGpuThatWasNotAssignedOrMakesNoSenseIsAnError() {
    assertThatThrownBy(() -> EmbeddingDevice.select("gpu", List.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("assigned no GPU");
    assertThatThrownBy(() -> EmbeddingDevice.select("gpu:x", List.of()))
        .hasMessageContaining("invalid GPU index 'x'");
    assertThatThrownBy(() -> EmbeddingDevice.select("tpu", List.of()))
        .hasMessageContaining("use cpu, gpu, gpu:N or auto");
  }
}
