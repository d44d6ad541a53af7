package dev.streamrag.jobs.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CompletionsUriTest {

  @ParameterizedTest
  @CsvSource({
    "http://vllm:8000, http://vllm:8000/v1/chat/completions",
    "http://vllm:8000/, http://vllm:8000/v1/chat/completions",
    "http://vllm:8000/v1, http://vllm:8000/v1/chat/completions",
    "https://gw.example.com/openai/v1, https://gw.example.com/openai/v1/chat/completions",
    "https://gw.example.com/openai/v1/, https://gw.example.com/openai/v1/chat/completions",
    "https://gw.example.com/team-a, https://gw.example.com/team-a/v1/chat/completions"
  })
  void aPathPrefixIsKeptAndV1IsNotDoubled(String base, String expected) {
    assertThat(StreamingChatClient.completionsUri(URI.create(base))).hasToString(expected);
  }
}
