package dev.streamrag.jobs.pieces;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.kafka.RecordFormat;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.ReplyTo;
import dev.streamrag.security.KafkaClientSettings;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PieceDestinationTest {
  private static final PieceSettings SETTINGS =
      new PieceSettings(
          KafkaClientSettings.plaintext("127.0.0.1:9092"),
          "rag.pieces",
          List.of("gateway.replies"),
          RecordFormat.AVRO,
          8,
          Duration.ofMillis(20),
          Duration.ZERO,
          null);

  @Test
  void withoutReplyToPiecesGoToTheDefaultTopicByRequestId() {
    assertThat(PieceDestination.of(request(null), SETTINGS))
        .isEqualTo(new PieceDestination("rag.pieces", null, "r-1"));
  }

  @Test
  void anAllowedReplyTopicAndPartitionAreFollowed() {
    assertThat(PieceDestination.of(request(new ReplyTo("gateway.replies", 3)), SETTINGS))
        .isEqualTo(new PieceDestination("gateway.replies", 3, "r-1"));
    assertThat(PieceDestination.of(request(new ReplyTo(null, 2)), SETTINGS))
        .isEqualTo(new PieceDestination("rag.pieces", 2, "r-1"));
  }

  @Test
  void aTopicThatIsNotAllowedIsNeverWrittenTo() {
    assertThat(PieceDestination.of(request(new ReplyTo("rag.responses", 0)), SETTINGS))
        .isEqualTo(new PieceDestination("rag.pieces", null, "r-1"));
  }

  private static InferenceRequest request(ReplyTo replyTo) {
    return InferenceRequest.newBuilder()
        .setRequestId("r-1")
        .setTenantId("acme")
        .setPrompt("hi")
        .setReplyTo(replyTo)
        .build();
  }

  @Test
  void anIsolatedTenantsPiecesGoToItsOwnTopicWhateverItsReplyToSays() {
    PieceSettings settings =
        new PieceSettings(
            KafkaClientSettings.plaintext("127.0.0.1:9092"),
            "rag.pieces",
            List.of("gateway.replies"),
            RecordFormat.AVRO,
            8,
            Duration.ofMillis(20),
            Duration.ZERO,
            new dev.streamrag.jobs.kafka.IsolatedTenants(java.util.Set.of("acme")));
    dev.streamrag.schemas.InferenceRequest request =
        dev.streamrag.schemas.InferenceRequest.newBuilder()
            .setRequestId("r1")
            .setTenantId("acme")
            .setKind(dev.streamrag.schemas.RequestKind.CHAT)
            .setMessages(List.of())
            .setCreatedAt(java.time.Instant.EPOCH)
            .setReplyTo(new dev.streamrag.schemas.ReplyTo("gateway.replies", 3))
            .build();
    assertThat(PieceDestination.of(request, settings))
        .isEqualTo(new PieceDestination("rag.pieces.acme", null, "r1"));
    request.setTenantId("globex");
    assertThat(PieceDestination.of(request, settings).topic()).isEqualTo("gateway.replies");
  }
}
