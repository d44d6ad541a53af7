package dev.streamrag.gateway.exchange;

import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.metrics.GatewayMetrics.PieceOutcome;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.codec.Decoded;
import dev.streamrag.schemas.codec.RecordCodec;
import java.util.Objects;

/**
 * Hands each record of the reply partition to the open exchange of its request. Runs on the pieces
 * consumer thread and never blocks: delivering is queueing a task on the exchange's event loop.
 * Pieces of requests this gateway does not hold (other gateways' requests on a shared partition,
 * pieces after an answer ended) and pieces whose tenant is not the request's are ignored and
 * counted; undecodable records too.
 */
public final class PieceRouter {
  private final ExchangeRegistry exchanges;
  private final GatewayMetrics metrics;
  private final RecordCodec<AnswerPiece> codec = RecordCodec.of(AnswerPiece.class);

  public PieceRouter(ExchangeRegistry exchanges, GatewayMetrics metrics) {
    this.exchanges = Objects.requireNonNull(exchanges, "exchanges");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /**
   * Routes one record.
   *
   * @param key the record key (the requestId), or null; a key no open exchange has saves decoding
   */
  public PieceOutcome route(String key, byte[] value) {
    PieceOutcome outcome = routeOnce(key, value);
    metrics.piece(outcome);
    return outcome;
  }

  private PieceOutcome routeOnce(String key, byte[] value) {
    if (key != null && exchanges.get(key) == null) {
      return PieceOutcome.UNKNOWN;
    }
    if (value == null) {
      return PieceOutcome.UNDECODABLE;
    }
    Decoded<AnswerPiece> decoded = codec.decode(value);
    if (!decoded.isOk()) {
      return PieceOutcome.UNDECODABLE;
    }
    AnswerPiece piece = decoded.value();
    Exchange exchange = exchanges.get(piece.getRequestId());
    if (exchange == null || !exchange.tenantId().equals(piece.getTenantId())) {
      return PieceOutcome.UNKNOWN;
    }
    exchange.deliver(piece);
    return PieceOutcome.ROUTED;
  }
}
