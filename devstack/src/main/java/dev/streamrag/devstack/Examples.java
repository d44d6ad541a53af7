package dev.streamrag.devstack;

import java.util.Map;

/** What {@code up} prints after the endpoints: how to ask the running stack, four ways. */
final class Examples {
  private Examples() {}

  private static final String QUESTION = "Where is Diodu Industries headquartered?";

  private static final String TEMPLATE =
      """

      Ask a question (the answer streams as it is generated):
        ./streamrag ask --tenant acme "%2$s"

      Through the OpenAI-compatible gateway, streamed (curl):
        curl -N %1$s/chat/completions \\
          -H 'Authorization: Bearer %3$s' -H 'Content-Type: application/json' \\
          -d '{"model": "%4$s", "stream": true, "streamrag": {"kind": "RAG"},
               "messages": [{"role": "user", "content": "%2$s"}]}'

      With the Python openai package (pip install openai):
        from openai import OpenAI
        client = OpenAI(base_url="%1$s", api_key="%3$s")
        stream = client.chat.completions.create(model="%4$s", stream=True,
            messages=[{"role": "user", "content": "%2$s"}],
            extra_body={"streamrag": {"kind": "RAG"}})
        for chunk in stream:
            if chunk.choices:
                print(chunk.choices[0].delta.content or "", end="", flush=True)

      Or produce JSON requests to Kafka with any client, e.g. kafka-console-producer:
        echo '{"requestId": "r-1", "tenantId": "acme", "kind": "RAG", "messages": [{"role": "user", "content": "%2$s"}]}' \\
          | kafka-console-producer.sh --bootstrap-server %5$s --topic rag.requests
      and watch the answer stream in pieces, then its committed record:
        kafka-console-consumer.sh --bootstrap-server %5$s --topic rag.pieces
        kafka-console-consumer.sh --bootstrap-server %5$s --topic rag.responses --isolation-level read_committed
      %6$s""";

  static String text(Map<String, String> endpoints, Map<String, String> settings) {
    boolean json =
        "JSON".equalsIgnoreCase(settings.getOrDefault("inference.responses-format", "AVRO"));
    return TEMPLATE.formatted(
        endpoints.get("gateway.url"),
        QUESTION,
        endpoints.get("gateway.api-key.acme"),
        endpoints.getOrDefault("llm.model", LocalStack.PROFILE),
        endpoints.get("kafka.bootstrap-servers"),
        json
            ? "(both are plain JSON in this stack; --set pieces.format=AVRO and"
                + " --set inference.responses-format=AVRO switch to Avro)"
            : "(both are Avro single-object encoding; --set pieces.format=JSON and"
                + " --set inference.responses-format=JSON write plain JSON)");
  }
}
