package dev.streamrag.llmsim.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.streamrag.llmsim.engine.VirtualTimeRun.Arrival;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bundled profiles load, and reproduce the public measurements their files cite (engine side, on
 * the simulated clock, so the comparison is exact).
 */
class EngineProfilesTest {

  private static double meanTpotMillis(
      EngineProfile profile, int concurrency, int prompt, int output) {
    Random random = new Random(1);
    List<Arrival> arrivals = new ArrayList<>();
    for (int i = 0; i < concurrency; i++) {
      int[] tokens = new int[prompt];
      for (int t = 0; t < prompt; t++) {
        tokens[t] = random.nextInt(32000);
      }
      arrivals.add(new Arrival(0, new SequenceRequest("r" + i, tokens, output)));
    }
    return VirtualTimeRun.run(profile, arrivals).outcomes().values().stream()
            .mapToDouble(VirtualTimeRun.Outcome::tpotMicros)
            .average()
            .orElseThrow()
        / 1000;
  }

  @Test
  void everyBundledProfileLoads() {
    for (String name : EngineProfiles.BUNDLED) {
      assertThat(EngineProfiles.bundled(name).name()).isEqualTo(name);
    }
  }

  @Test
  void l4SmallModelMatchesItsCitedInterTokenLatencies() {
    EngineProfile l4 = EngineProfiles.bundled("qwen2.5-0.5b-l4");
    assertThat(meanTpotMillis(l4, 1, 256, 128)).isCloseTo(5.1, within(0.51));
    assertThat(meanTpotMillis(l4, 32, 256, 128)).isCloseTo(7.1, within(0.71));
  }

  @Test
  void h100EightBMatchesItsCitedTimePerOutputToken() {
    EngineProfile h100 = EngineProfiles.bundled("llama-3.1-8b-h100");
    assertThat(meanTpotMillis(h100, 1, 256, 128)).isCloseTo(6.48, within(0.65));
    assertThat(meanTpotMillis(h100, 16, 1000, 128)).isCloseTo(10.94, within(1.1));
  }

  @Test
  void cpuProfileGeneratesMoreThanTenTokensPerSecondAlone() {
    double tpot = meanTpotMillis(EngineProfiles.bundled("llama-3.2-1b-cpu"), 1, 200, 64);
    assertThat(1000 / tpot).isBetween(10.0, 40.0);
  }

  @Test
  void unknownNamesAndBadFilesFailWithClearMessages(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> EngineProfiles.bundled("gpt-9"))
        .hasMessageContaining("unknown profile 'gpt-9'")
        .hasMessageContaining("llama-3.1-8b-h100");

    Path typo = dir.resolve("typo.properties");
    Files.writeString(typo, "name=x\nmaxNumSeq=4\n");
    assertThatThrownBy(() -> EngineProfiles.fromFile(typo))
        .hasMessageContaining("unknown keys [maxNumSeq]")
        .hasMessageContaining("maxNumSeqs");

    Path missing = dir.resolve("missing.properties");
    Files.writeString(missing, "name=x\n");
    assertThatThrownBy(() -> EngineProfiles.fromFile(missing))
        .hasMessageContaining("missing key 'maxNumSeqs'");

    Path bad = dir.resolve("bad.properties");
    String valid =
        new String(
            EngineProfilesTest.class
                .getClassLoader()
                .getResourceAsStream("profiles/llama-3.2-1b-cpu.properties")
                .readAllBytes());
    Files.writeString(bad, valid.replace("maxNumSeqs=4", "maxNumSeqs=four"));
    assertThatThrownBy(() -> EngineProfiles.fromFile(bad))
        .hasMessageContaining("maxNumSeqs must be a whole number, got 'four'");

    Path good = dir.resolve("good.properties");
    Files.writeString(good, valid.replace("maxNumSeqs=4", "maxNumSeqs=8"));
    assertThat(EngineProfiles.fromFile(good).maxNumSeqs()).isEqualTo(8);
  }
}
