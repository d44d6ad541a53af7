package dev.streamrag.ingest.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.jobs.batch.BatchFunction;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A model call that throws fails only the chunks it cannot take, never the task. */
class FailureIsolatingEmbeddingTest {

  /**
   * A fault-injection double for the model: throws for any batch holding the text "poison" (a real
   * embedding failure cannot be produced on demand); counts its calls.
   */
  static final class PoisonedModel implements BatchFunction<ChunkAction, ChunkAction> {
    final List<Integer> calls = new ArrayList<>();

    @Override
    public List<ChunkAction> apply(List<ChunkAction> batch) {
      calls.add(batch.size());
      for (ChunkAction action : batch) {
        if ("poison".equals(action.text)) {
          throw new IllegalStateException("ORT: invalid input");
        }
      }
      for (ChunkAction action : batch) {
        action.vector = new float[] {1};
      }
      return batch;
    }
  }

  private static List<ChunkAction> chunks(String... texts) {
    List<ChunkAction> actions = new ArrayList<>();
    for (String text : texts) {
      ChunkAction action = new ChunkAction();
      action.kind = ChunkAction.Kind.UPSERT;
      action.text = text;
      actions.add(action);
    }
    return actions;
  }

  @Test
  void onlyTheChunkTheModelCannotTakeFails() {
    PoisonedModel model = new PoisonedModel();
    List<ChunkAction> out =
        new FailureIsolatingEmbedding(model)
            .apply(chunks("a", "b", "c", "poison", "e", "f", "g", "h"));
    assertThat(out)
        .extracting(a -> a.text)
        .containsExactly("a", "b", "c", "poison", "e", "f", "g", "h");
    assertThat(out)
        .filteredOn(a -> a.failureCode != null)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.text).isEqualTo("poison");
              assertThat(a.failureCode).isEqualTo(FailureIsolatingEmbedding.FAILED);
              assertThat(a.failureReason).contains("ORT: invalid input");
              assertThat(a.vector).isNull();
            });
    assertThat(out).filteredOn(a -> a.failureCode == null).allMatch(a -> a.vector != null);
    // 8 → 4 (a..poison) → 2 (a, b: passes) and 2 (c, poison) → 1 and 1 → 4 (e..h: passes).
    assertThat(model.calls).containsExactly(8, 4, 2, 2, 1, 1, 4);
  }

  @Test
  void aModelThatAlwaysThrowsFailsEveryChunkWithoutThrowing() {
    BatchFunction<ChunkAction, ChunkAction> broken =
        batch -> {
          throw new IllegalStateException("model unloaded");
        };
    List<ChunkAction> out = new FailureIsolatingEmbedding(broken).apply(chunks("a", "b", "c"));
    assertThat(out).allMatch(a -> FailureIsolatingEmbedding.FAILED.equals(a.failureCode));
  }
}
