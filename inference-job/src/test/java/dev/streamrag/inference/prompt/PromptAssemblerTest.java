package dev.streamrag.inference.prompt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.inference.Stages;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.internal.InFlightRequest;
import dev.streamrag.schemas.internal.Passage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptAssemblerTest {
  private static InFlightRequest rag(String question, int maxTokens, int passages) {
    InferenceRequest request =
        InferenceRequest.newBuilder()
            .setRequestId("r")
            .setTenantId("t")
            .setKind(RequestKind.RAG)
            .setMessages(List.of(new ChatMessage(ChatRole.USER, question, null, null, List.of())))
            .setMaxTokens(maxTokens)
            .build();
    List<Passage> found = new ArrayList<>();
    for (int i = 0; i < passages; i++) {
      found.add(
          new Passage(
              "doc-" + i,
              "t:doc-" + i + ":0",
              1.0 - i / 10.0,
              "Title " + i,
              null,
              "Passage number " + i + " says something. ".repeat(10)));
    }
    return InFlightRequest.newBuilder()
        .setRequest(request)
        .setModel("m")
        .setCreatedAt(0)
        .setDeadline(Long.MAX_VALUE)
        .setMarkMicros(Stages.nowMicros())
        .setTimings(new StageTimings())
        .setQuestion(question)
        .setPassages(found)
        .setPrompt(List.of())
        .build();
  }

  @Test
  void ragPromptEndsWithTheQuestionAndKeepsEveryPassageThatFits() {
    InFlightRequest request = rag("Where does the\nriver rise?", 64, 3);
    new PromptAssembler("Use the context.", 4096, 256, 3.0).map(request);

    List<ChatMessage> prompt = request.getPrompt();
    assertThat(prompt.get(0).getRole()).isEqualTo(ChatRole.SYSTEM);
    String user = prompt.get(prompt.size() - 1).getContent();
    assertThat(user).startsWith("Context:\n[1] Title 0: ").contains("[3] Title 2: ");
    assertThat(user.lines().reduce((a, b) -> b).orElseThrow())
        .isEqualTo("Question: Where does the river rise?");
    assertThat(request.getPassages()).hasSize(3);
    assertThat(request.getTimings().getPromptMs()).isNotNull();
  }

  @Test
  void passagesThatDoNotFitTheBudgetAreDroppedFromPromptAndCitations() {
    // Each passage entry is ~200 characters, ~66 tokens at 3 chars/token; the window of 600 minus
    // maxTokens 300 leaves 300, of which system message and question take ~23: four fit, not five.
    InFlightRequest request = rag("Where?", 300, 5);
    new PromptAssembler("Use the context.", 600, 256, 3.0).map(request);

    assertThat(Stages.isFinished(request)).isFalse();
    assertThat(request.getPassages())
        .extracting(Passage::getDocId)
        .containsExactly("doc-0", "doc-1", "doc-2", "doc-3");
    assertThat(request.getPrompt().get(1).getContent()).doesNotContain("Title 4");
    assertThat(request.getPromptTokensEstimate()).isLessThanOrEqualTo(300);
    assertThat(request.getMaxTokens()).isEqualTo(300);
  }

  @Test
  void aConversationLargerThanTheWindowIsRejected() {
    InFlightRequest request = rag("x".repeat(3_000), 100, 0);
    new PromptAssembler("Use the context.", 1000, 256, 3.0).map(request);

    assertThat(request.getResponse().getStatus()).isEqualTo(ResponseStatus.REJECTED);
    assertThat(request.getResponse().getError().getCode()).isEqualTo("validation.prompt_too_long");
  }

  @Test
  void aModelsPromptFillsWhatItsMostGenerousPoolTakes() {
    // The CPU pool takes prompts up to 150 tokens, the GPU pool a window of 600: five passages
    // (~66 tokens each) are cut to four, as with one window of 600.
    InFlightRequest both = rag("Where?", 300, 5);
    PromptAssembler assembler =
        new PromptAssembler(
            "Use the context.",
            8192,
            java.util.Map.of(
                "m",
                List.of(new PromptAssembler.Limit(2048, 150), new PromptAssembler.Limit(600, 0))),
            256,
            3.0);
    assembler.map(both);
    assertThat(both.getPassages()).hasSize(4);

    // Served by the CPU pool alone, the prompt is trimmed to its 150 tokens, not rejected.
    InFlightRequest cpuOnly = rag("Where?", 300, 5);
    new PromptAssembler(
            "Use the context.",
            8192,
            java.util.Map.of("m", List.of(new PromptAssembler.Limit(2048, 150))),
            256,
            3.0)
        .map(cpuOnly);
    assertThat(Stages.isFinished(cpuOnly)).isFalse();
    assertThat(cpuOnly.getPassages()).hasSize(1);
    assertThat(cpuOnly.getPromptTokensEstimate()).isLessThanOrEqualTo(150);
  }

  @Test
  void maxTokensBeyondTheModelsLargestWindowIsRejectedAsSuch() {
    InFlightRequest request = rag("Where?", 3000, 1);
    new PromptAssembler(
            "Use the context.",
            8192,
            java.util.Map.of("m", List.of(new PromptAssembler.Limit(2048, 0))),
            256,
            3.0)
        .map(request);
    assertThat(request.getResponse().getError().getCode()).isEqualTo("validation.max_tokens");
    assertThat(request.getResponse().getError().getMessage())
        .isEqualTo(
            "maxTokens must be below 2048, the largest context window serving model 'm', got 3000");
  }
}
