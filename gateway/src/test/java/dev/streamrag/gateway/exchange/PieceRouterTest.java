package dev.streamrag.gateway.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.gateway.Pieces;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.metrics.GatewayMetrics.PieceOutcome;
import dev.streamrag.gateway.openai.ChatRequestMapper;
import dev.streamrag.gateway.openai.RequestOrigin;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.codec.RecordCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PieceRouterTest {
  private static final Exchange.Settings SETTINGS = new Exchange.Settings(0, 1000, 1000, 1024);
  private final RecordCodec<AnswerPiece> codec = RecordCodec.of(AnswerPiece.class);
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final ExchangeRegistry registry = new ExchangeRegistry(10);
  private final PieceRouter router = new PieceRouter(registry, metrics);
  private final List<Runnable> delivered = new ArrayList<>();

  private void open(String requestId, String tenant) {
    registry.tryAdd(
        new Exchange(
            ChatRequestMapper.builder()
                .build()
                .map(
                    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
                    new RequestOrigin(requestId, tenant, 0, "rag.pieces", 0, null))
                .request(),
            new RecordingResponse(),
            delivered::add,
            new ManualScheduler(),
            metrics,
            0,
            SETTINGS));
  }

  @Test
  void routesPiecesOfOpenRequestsOnlyAndCountsTheRest() {
    open("gw-1", "acme");
    AnswerPiece mine = new Pieces("gw-1", "acme").head(1);
    assertThat(router.route("gw-1", codec.encode(mine))).isEqualTo(PieceOutcome.ROUTED);
    assertThat(router.route(null, codec.encodeJson(mine)))
        .as("JSON, no key")
        .isEqualTo(PieceOutcome.ROUTED);
    assertThat(delivered).hasSize(2);

    AnswerPiece otherGateways = new Pieces("gw-other", "acme").head(1);
    assertThat(router.route("gw-other", codec.encode(otherGateways)))
        .isEqualTo(PieceOutcome.UNKNOWN);
    assertThat(router.route(null, codec.encode(otherGateways))).isEqualTo(PieceOutcome.UNKNOWN);

    AnswerPiece otherTenant = new Pieces("gw-1", "globex").head(1);
    assertThat(router.route("gw-1", codec.encode(otherTenant))).isEqualTo(PieceOutcome.UNKNOWN);

    assertThat(router.route("gw-1", "not a piece".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(PieceOutcome.UNDECODABLE);
    assertThat(router.route("gw-1", null)).isEqualTo(PieceOutcome.UNDECODABLE);
    assertThat(delivered).hasSize(2);

    assertThat(metrics.pieces(PieceOutcome.ROUTED)).isEqualTo(2);
    assertThat(metrics.pieces(PieceOutcome.UNKNOWN)).isEqualTo(3);
    assertThat(metrics.pieces(PieceOutcome.UNDECODABLE)).isEqualTo(2);
  }

  @Test
  void registryIsBounded() {
    ExchangeRegistry small = new ExchangeRegistry(1);
    Exchange first = exchange("a");
    assertThat(small.tryAdd(first)).isTrue();
    assertThat(small.tryAdd(exchange("b"))).isFalse();
    small.remove(first);
    assertThat(small.size()).isZero();
    assertThat(small.tryAdd(exchange("c"))).isTrue();
  }

  private Exchange exchange(String requestId) {
    return new Exchange(
        ChatRequestMapper.builder()
            .build()
            .map(
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
                new RequestOrigin(requestId, "t", 0, "rag.pieces", 0, null))
            .request(),
        new RecordingResponse(),
        Runnable::run,
        new ManualScheduler(),
        metrics,
        0,
        SETTINGS);
  }
}
