package dev.streamrag.gateway.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.CacheMode;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChatRequestMapperTest {
  private static final long RECEIVED = 1_700_000_000_000L;
  private static final RequestOrigin ORIGIN =
      new RequestOrigin("gw-1", "acme", RECEIVED, "rag.pieces", 3, null);

  private final ChatRequestMapper mapper =
      ChatRequestMapper.builder()
          .models(List.of("sim-model", "other-model"))
          .defaultKind(RequestKind.CHAT)
          .defaultTimeout(Duration.ofSeconds(30))
          .maxTimeout(Duration.ofSeconds(120))
          .build();

  private ChatRequest ok(String body) {
    ChatRequestMapper.Mapping mapping = mapper.map(body, ORIGIN);
    assertThat(mapping.error()).as("error").isNull();
    return mapping.request();
  }

  private ApiError error(String body) {
    ChatRequestMapper.Mapping mapping = mapper.map(body, ORIGIN);
    assertThat(mapping.isOk()).as("mapped without error").isFalse();
    return mapping.error();
  }

  @Test
  void minimalRequestGetsTheGatewaysIdsTenantTimesAndReplyPartition() {
    ChatRequest chat =
        ok("{\"model\":\"sim-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    InferenceRequest request = chat.request();
    assertThat(request.getRequestId()).isEqualTo("gw-1");
    assertThat(request.getTenantId()).isEqualTo("acme");
    assertThat(request.getKind()).isEqualTo(RequestKind.CHAT);
    assertThat(request.getModel()).isEqualTo("sim-model");
    assertThat(request.getMessages())
        .containsExactly(ChatMessage.newBuilder().setRole(ChatRole.USER).setContent("Hi").build());
    assertThat(request.getCreatedAt()).isEqualTo(Instant.ofEpochMilli(RECEIVED));
    assertThat(request.getDeadline()).isEqualTo(Instant.ofEpochMilli(RECEIVED + 30_000));
    assertThat(request.getReplyTo().getTopic()).isEqualTo("rag.pieces");
    assertThat(request.getReplyTo().getPartition()).isEqualTo(3);
    assertThat(request.getMaxTokens()).isNull();
    assertThat(request.getTemperature()).isNull();
    assertThat(request.getRetrieval()).isNull();
    assertThat(request.getCacheMode()).isEqualTo(CacheMode.DEFAULT);
    assertThat(request.getAttributes()).isEmpty();
    assertThat(request.getTraceId()).isNull();
    assertThat(chat.stream()).isFalse();
    assertThat(chat.includeUsage()).isFalse();
    assertThat(chat.timeoutMillis()).isEqualTo(30_000);
  }

  @Test
  void everyFieldIsMapped() {
    ChatRequest chat =
        ok(
            """
            {"model": "other-model",
             "messages": [
               {"role": "system", "content": "Be brief."},
               {"role": "developer", "content": "Cite sources."},
               {"role": "user", "name": "ann", "content": [
                 {"type": "text", "text": "First part."}, {"type": "text", "text": "Second part."}]},
               {"role": "assistant", "content": "Earlier answer."},
               {"role": "tool", "tool_call_id": "call_1", "content": "tool result"}],
             "max_tokens": 100, "max_completion_tokens": 64,
             "temperature": 0.5, "top_p": 0.9, "seed": 42,
             "stop": ["END", "STOP"],
             "stream": true, "stream_options": {"include_usage": true},
             "metadata": {"session": "s-42", "scenario": "demo"},
             "user": "user-7",
             "logprobs": false,
             "streamrag": {"kind": "rag", "cache_mode": "bypass", "timeout_ms": 5000,
               "retrieval": {"top_k": 8, "hybrid": true, "min_score": 0.25, "index": "docs",
                             "filters": {"lang": "en"}}}}
            """);
    InferenceRequest request = chat.request();
    assertThat(request.getModel()).isEqualTo("other-model");
    assertThat(chat.model()).isEqualTo("other-model");
    assertThat(request.getMessages())
        .extracting(ChatMessage::getRole)
        .containsExactly(
            ChatRole.SYSTEM, ChatRole.SYSTEM, ChatRole.USER, ChatRole.ASSISTANT, ChatRole.TOOL);
    assertThat(request.getMessages().get(2).getContent()).isEqualTo("First part.\nSecond part.");
    assertThat(request.getMessages().get(2).getName()).isEqualTo("ann");
    assertThat(request.getMessages().get(4).getToolCallId()).isEqualTo("call_1");
    assertThat(request.getMaxTokens()).as("max_completion_tokens wins").isEqualTo(64);
    assertThat(request.getTemperature()).isEqualTo(0.5);
    assertThat(request.getTopP()).isEqualTo(0.9);
    assertThat(request.getSeed()).isEqualTo(42L);
    assertThat(request.getStop()).containsExactly("END", "STOP");
    assertThat(chat.stream()).isTrue();
    assertThat(chat.includeUsage()).isTrue();
    assertThat(request.getAttributes())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("session", "s-42", "scenario", "demo", "user", "user-7"));
    assertThat(request.getKind()).isEqualTo(RequestKind.RAG);
    assertThat(request.getCacheMode()).isEqualTo(CacheMode.BYPASS);
    assertThat(chat.timeoutMillis()).isEqualTo(5000);
    assertThat(request.getDeadline()).isEqualTo(Instant.ofEpochMilli(RECEIVED + 5000));
    assertThat(request.getRetrieval().getTopK()).isEqualTo(8);
    assertThat(request.getRetrieval().getHybrid()).isTrue();
    assertThat(request.getRetrieval().getMinScore()).isEqualTo(0.25);
    assertThat(request.getRetrieval().getIndex()).isEqualTo("docs");
    assertThat(request.getRetrieval().getFilters()).containsExactly(Map.entry("lang", "en"));
  }

  @Test
  void maxTokensAloneAndStopAsOneString() {
    InferenceRequest request =
        ok("{\"model\":\"sim-model\",\"max_tokens\":7,\"stop\":\"\\n\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
            .request();
    assertThat(request.getMaxTokens()).isEqualTo(7);
    assertThat(request.getStop()).containsExactly("\n");
  }

  @Test
  void traceparentHeaderBecomesTheTraceId() {
    RequestOrigin origin =
        new RequestOrigin(
            "gw-2",
            "acme",
            RECEIVED,
            "rag.pieces",
            0,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    ChatRequestMapper.Mapping mapping =
        mapper.map(
            "{\"model\":\"sim-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
            origin);
    assertThat(mapping.request().request().getTraceId())
        .isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(new RequestOrigin("r", "t", 0, "p", 0, "garbage").traceId()).isNull();
  }

  @Test
  void anyModelIsForwardedWhenNoneAreConfigured() {
    ChatRequestMapper open = ChatRequestMapper.builder().build();
    assertThat(
            open.map(
                    "{\"model\":\"whatever\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                    ORIGIN)
                .isOk())
        .isTrue();
  }

  @Test
  void unknownModelIs404ModelNotFound() {
    ApiError error =
        error("{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    assertThat(error.status()).isEqualTo(404);
    assertThat(error.code()).isEqualTo("model_not_found");
    assertThat(error.param()).isEqualTo("model");
    assertThat(error.message()).contains("gpt-9");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          not json                | {oops                                                                     | <none>                     | could not parse the JSON
          empty body              | ''                                                                        | <none>                     | must be a JSON object
          array body              | []                                                                        | <none>                     | must be a JSON object
          trailing content        | {"model":"sim-model","messages":[{"role":"user","content":"x"}]} {}       | <none>                     | could not parse
          duplicate key           | {"model":"sim-model","model":"x","messages":[]}                           | <none>                     | Duplicate field
          no model                | {"messages":[{"role":"user","content":"x"}]}                              | model                      | Missing required parameter: 'model'
          model not a string      | {"model":5,"messages":[{"role":"user","content":"x"}]}                    | model                      | expected a string, but got number
          no messages             | {"model":"sim-model"}                                                     | messages                   | Missing required parameter: 'messages'
          empty messages          | {"model":"sim-model","messages":[]}                                       | messages                   | at least one message
          messages not array      | {"model":"sim-model","messages":"hi"}                                     | messages                   | must be an array
          message not object      | {"model":"sim-model","messages":["hi"]}                                   | messages[0]                | must be an object
          no role                 | {"model":"sim-model","messages":[{"content":"x"}]}                        | messages[0].role           | Missing required parameter
          bad role                | {"model":"sim-model","messages":[{"role":"bot","content":"x"}]}           | messages[0].role           | 'bot'
          no content              | {"model":"sim-model","messages":[{"role":"user"}]}                        | messages[0].content        | Missing required parameter
          content number          | {"model":"sim-model","messages":[{"role":"user","content":3}]}            | messages[0].content        | string or an array of text parts
          image part              | {"model":"sim-model","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]} | messages[0].content[0].type | only 'text' parts
          part without text       | {"model":"sim-model","messages":[{"role":"user","content":[{"type":"text"}]}]} | messages[0].content[0].text | Missing required parameter
          tool calls              | {"model":"sim-model","messages":[{"role":"assistant","content":"","tool_calls":[{"id":"c"}]}]} | messages[0].tool_calls | not supported
          tools                   | {"model":"sim-model","tools":[{"type":"function"}],"messages":[{"role":"user","content":"x"}]} | tools | not supported
          n above one             | {"model":"sim-model","n":2,"messages":[{"role":"user","content":"x"}]}    | n                          | Only n=1
          max_tokens zero         | {"model":"sim-model","max_tokens":0,"messages":[{"role":"user","content":"x"}]} | max_tokens           | below the minimum of 1
          max_tokens fraction     | {"model":"sim-model","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]} | max_tokens         | expected an integer
          max_completion_tokens   | {"model":"sim-model","max_completion_tokens":"9","messages":[{"role":"user","content":"x"}]} | max_completion_tokens | expected an integer, but got string
          temperature too high    | {"model":"sim-model","temperature":2.5,"messages":[{"role":"user","content":"x"}]} | temperature       | not between 0.0 and 2.0
          temperature a string    | {"model":"sim-model","temperature":"hot","messages":[{"role":"user","content":"x"}]} | temperature     | expected a number
          top_p too high          | {"model":"sim-model","top_p":1.5,"messages":[{"role":"user","content":"x"}]} | top_p                   | not between 0.0 and 1.0
          seed fraction           | {"model":"sim-model","seed":0.5,"messages":[{"role":"user","content":"x"}]} | seed                     | expected an integer
          stop number             | {"model":"sim-model","stop":5,"messages":[{"role":"user","content":"x"}]} | stop                       | string or an array of strings
          stop array of numbers   | {"model":"sim-model","stop":[5],"messages":[{"role":"user","content":"x"}]} | stop                     | 'stop[0]' must be a string
          stream a string         | {"model":"sim-model","stream":"yes","messages":[{"role":"user","content":"x"}]} | stream               | expected a boolean
          include_usage a string  | {"model":"sim-model","stream":true,"stream_options":{"include_usage":"y"},"messages":[{"role":"user","content":"x"}]} | stream_options.include_usage | expected a boolean
          metadata value number   | {"model":"sim-model","metadata":{"a":1},"messages":[{"role":"user","content":"x"}]} | metadata.a       | must be a string
          metadata not object     | {"model":"sim-model","metadata":"x","messages":[{"role":"user","content":"x"}]} | metadata             | must be an object
          user a number           | {"model":"sim-model","user":7,"messages":[{"role":"user","content":"x"}]} | user                       | expected a string
          streamrag not object    | {"model":"sim-model","streamrag":1,"messages":[{"role":"user","content":"x"}]} | streamrag             | must be an object
          streamrag unknown field | {"model":"sim-model","streamrag":{"topk":3},"messages":[{"role":"user","content":"x"}]} | streamrag.topk | Unknown field
          bad kind                | {"model":"sim-model","streamrag":{"kind":"agent"},"messages":[{"role":"user","content":"x"}]} | streamrag.kind | expected RAG or CHAT
          bad cache mode          | {"model":"sim-model","streamrag":{"cache_mode":"never"},"messages":[{"role":"user","content":"x"}]} | streamrag.cache_mode | DEFAULT, BYPASS or REFRESH
          timeout too long        | {"model":"sim-model","streamrag":{"timeout_ms":120001},"messages":[{"role":"user","content":"x"}]} | streamrag.timeout_ms | between 1 and 120000
          timeout zero            | {"model":"sim-model","streamrag":{"timeout_ms":0},"messages":[{"role":"user","content":"x"}]} | streamrag.timeout_ms | between 1 and 120000
          top_k zero              | {"model":"sim-model","streamrag":{"retrieval":{"top_k":0}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.top_k | below the minimum
          retrieval unknown field | {"model":"sim-model","streamrag":{"retrieval":{"k":3}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.k | Unknown field
          hybrid a string         | {"model":"sim-model","streamrag":{"retrieval":{"hybrid":"yes"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.hybrid | expected a boolean
          filters value number    | {"model":"sim-model","streamrag":{"retrieval":{"filters":{"lang":1}}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.filters.lang | must be a string
          response_format json    | {"model":"sim-model","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"x"}]} | response_format | Only 'response_format'
          response_format schema  | {"model":"sim-model","response_format":{"type":"json_schema","json_schema":{"name":"a"}},"messages":[{"role":"user","content":"x"}]} | response_format | cannot enforce JSON
          response_format string  | {"model":"sim-model","response_format":"text","messages":[{"role":"user","content":"x"}]} | response_format | Only 'response_format'
          tool_choice auto        | {"model":"sim-model","tool_choice":"auto","messages":[{"role":"user","content":"x"}]} | tool_choice | not supported
          tool_choice function    | {"model":"sim-model","tool_choice":{"type":"function","function":{"name":"f"}},"messages":[{"role":"user","content":"x"}]} | tool_choice | not supported
          logprobs true           | {"model":"sim-model","logprobs":true,"messages":[{"role":"user","content":"x"}]} | logprobs | not supported
          top_logprobs            | {"model":"sim-model","top_logprobs":3,"messages":[{"role":"user","content":"x"}]} | top_logprobs | not supported
          stream_options no stream| {"model":"sim-model","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]} | stream_options | only allowed when 'stream' is enabled
          stream_options stream false | {"model":"sim-model","stream":false,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]} | stream_options | only allowed when 'stream' is enabled
          index wildcard          | {"model":"sim-model","streamrag":{"retrieval":{"index":"*"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | not a plain index name
          index _all              | {"model":"sim-model","streamrag":{"retrieval":{"index":"_all"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | not a plain index name
          index list              | {"model":"sim-model","streamrag":{"retrieval":{"index":"docs,secrets"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | not a plain index name
          index remote            | {"model":"sim-model","streamrag":{"retrieval":{"index":"other:docs"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | not a plain index name
          index dot               | {"model":"sim-model","streamrag":{"retrieval":{"index":".security"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | not a plain index name
          index dash              | {"model":"sim-model","streamrag":{"retrieval":{"index":"-docs"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | not a plain index name
          index plus              | {"model":"sim-model","streamrag":{"retrieval":{"index":"+docs"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | not a plain index name
          index upper case        | {"model":"sim-model","streamrag":{"retrieval":{"index":"Docs"}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | not a plain index name
          index empty             | {"model":"sim-model","streamrag":{"retrieval":{"index":""}},"messages":[{"role":"user","content":"x"}]} | streamrag.retrieval.index | must not be empty
          """)
  void badInputIs400NamingTheField(String name, String body, String param, String message) {
    ApiError error = error(body);
    assertThat(error.status()).isEqualTo(400);
    assertThat(error.type()).isEqualTo("invalid_request_error");
    assertThat(error.param()).isEqualTo(param.equals("<none>") ? null : param);
    assertThat(error.message()).contains(message);
  }

  @Test
  void harmlessValuesOfRefusedFieldsPass() {
    ChatRequest chat =
        ok(
            """
            {"model": "sim-model", "messages": [{"role": "user", "content": "x"}],
             "response_format": {"type": "text"}, "tool_choice": "none", "logprobs": false,
             "top_logprobs": 0, "n": 1, "tools": [], "stream": true, "stream_options": null}
            """);
    assertThat(chat.stream()).isTrue();
  }

  @Test
  void indexNamesAreBoundedAndCheckedAgainstTheList() {
    String longName = "a".repeat(IndexNames.MAX_CHARS + 1);
    assertThat(
            error(
                    "{\"model\":\"sim-model\",\"streamrag\":{\"retrieval\":{\"index\":\""
                        + longName
                        + "\"}},\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
                .message())
        .contains("at most 100 characters")
        .doesNotContain(longName);
    assertThat(IndexNames.problem("docs_2024-v1")).isNull();
    assertThat(IndexNames.problem("a".repeat(IndexNames.MAX_CHARS))).isNull();

    ChatRequestMapper listed = ChatRequestMapper.builder().indexes(List.of("docs", "faq")).build();
    String body =
        "{\"model\":\"m\",\"streamrag\":{\"retrieval\":{\"index\":\"%s\"}},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    assertThat(
            listed.map(body.formatted("faq"), ORIGIN).request().request().getRetrieval().getIndex())
        .isEqualTo("faq");
    ApiError other = listed.map(body.formatted("payroll"), ORIGIN).error();
    assertThat(other.status()).isEqualTo(400);
    assertThat(other.param()).isEqualTo("streamrag.retrieval.index");
    assertThat(other.message()).contains("not an index of this gateway; known: docs, faq");
    assertThatThrownBy(() -> ChatRequestMapper.builder().indexes(List.of("*")).build())
        .hasMessageContaining("not a plain index name");
  }

  @Test
  void metadataAndUserAreBounded() {
    StringBuilder many = new StringBuilder("{");
    for (int i = 0; i <= ChatRequestMapper.MAX_METADATA_ENTRIES; i++) {
      many.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
    }
    many.append('}');
    assertThat(
            error(
                    "{\"model\":\"sim-model\",\"metadata\":"
                        + many
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
                .message())
        .contains("more than 16 entries");
    String longValue = "v".repeat(ChatRequestMapper.MAX_METADATA_VALUE_CHARS + 1);
    assertThat(
            error(
                    "{\"model\":\"sim-model\",\"metadata\":{\"a\":\""
                        + longValue
                        + "\"},\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
                .message())
        .contains("longer than 512 characters");
    String longKey = "k".repeat(ChatRequestMapper.MAX_METADATA_KEY_CHARS + 1);
    assertThat(
            error(
                    "{\"model\":\"sim-model\",\"metadata\":{\""
                        + longKey
                        + "\":\"v\"},\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
                .message())
        .contains("longer than 64 characters");
    assertThat(
            error(
                    "{\"model\":\"sim-model\",\"user\":\""
                        + "u".repeat(ChatRequestMapper.MAX_USER_CHARS + 1)
                        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
                .param())
        .isEqualTo("user");
  }

  @Test
  void builderRefusesBadSettings() {
    assertThatThrownBy(() -> ChatRequestMapper.builder().defaultKind(RequestKind.AGENT).build())
        .hasMessageContaining("AGENT");
    assertThatThrownBy(
            () ->
                ChatRequestMapper.builder()
                    .defaultTimeout(Duration.ofSeconds(60))
                    .maxTimeout(Duration.ofSeconds(30))
                    .build())
        .hasMessageContaining("shorter than defaultTimeout");
  }
}
