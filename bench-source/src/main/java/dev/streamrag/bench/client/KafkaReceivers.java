package dev.streamrag.bench.client;

import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import dev.streamrag.security.KafkaClientSettings;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A Kafka client's receiving side for one run, started before its load: it follows the pieces topic
 * (each answer assembled by the {@code AnswerPiece} contract, first piece, first text and END
 * stamped on arrival) and the responses topic as read_committed (when each final answer became
 * readable). Either side can be left out: under HTTP load the gateway's client stamps the stream,
 * and only the committed responses are followed here.
 */
public final class KafkaReceivers implements AutoCloseable {
  private final Receipts receipts;
  private final RecordCodec<AnswerPiece> pieceCodec = RecordCodec.of(AnswerPiece.class);
  private final RecordCodec<InferenceResponse> responseCodec =
      RecordCodec.of(InferenceResponse.class);
  // Touched by the pieces thread only.
  private final Map<String, StreamedAnswer> answers = new ConcurrentHashMap<>();
  private final TopicTail pieces;
  private final TopicTail responses;

  /**
   * @param piecesTopic the pieces topic to follow, or null not to
   * @param ofRun whether a request id belongs to this run (pieces carry no attributes)
   * @param runAttribute the run's {@code bench.run} attribute value, for responses
   */
  public KafkaReceivers(
      KafkaClientSettings kafka,
      String piecesTopic,
      String responsesTopic,
      Predicate<String> ofRun,
      String runAttribute,
      Receipts receipts) {
    this.receipts = receipts;
    this.pieces =
        piecesTopic == null
            ? null
            : new TopicTail(kafka, piecesTopic, false, (r, at) -> piece(r, at, ofRun));
    this.responses =
        new TopicTail(kafka, responsesTopic, true, (r, at) -> committed(r, at, runAttribute));
  }

  /** Positions both at their topics' ends; returns once nothing written from now can be missed. */
  public KafkaReceivers start() {
    if (pieces != null) {
      pieces.start();
    }
    responses.start();
    return this;
  }

  private void piece(ConsumerRecord<byte[], byte[]> record, long arrived, Predicate<String> ofRun) {
    AnswerPiece piece = pieceCodec.decode(record.value()).value();
    if (piece == null || !ofRun.test(piece.getRequestId())) {
      return;
    }
    StreamedAnswer answer = answers.computeIfAbsent(piece.getRequestId(), StreamedAnswer::new);
    StreamedAnswer.Update update = answer.offer(piece);
    Receipt receipt = receipts.of(piece.getRequestId());
    receipt.piece(arrived);
    if (!update.text().isEmpty()) {
      receipt.text(arrived);
    }
    if (update.end() != null) {
      receipt.end(arrived, update.end().getStatus().name(), answer);
    } else if (answer.finished() || answer.diverged()) {
      receipt.noteReplays(answer); // a replay after the end: counted, not stamped
    }
  }

  private void committed(ConsumerRecord<byte[], byte[]> record, long arrived, String run) {
    InferenceResponse response = responseCodec.decode(record.value()).value();
    if (response != null && run.equals(response.getAttributes().get(RequestFactory.RUN))) {
      receipts.of(response.getRequestId()).committed(arrived);
    }
  }

  /** Why a receiving thread stopped early, or null. */
  public Throwable failure() {
    Throwable failure = pieces == null ? null : pieces.failure();
    return failure != null ? failure : responses.failure();
  }

  @Override
  public void close() {
    if (pieces != null) {
      pieces.close();
    }
    responses.close();
  }
}
