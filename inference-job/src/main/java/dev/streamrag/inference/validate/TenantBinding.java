package dev.streamrag.inference.validate;

import dev.streamrag.jobs.kafka.DeadLetters;
import dev.streamrag.jobs.kafka.IsolatedTenants;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.InferenceRequest;
import java.io.IOException;
import java.time.Instant;
import java.util.Optional;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Binds each request to the tenant that sent it. On an isolated tenant's own requests topic the
 * tenant is the topic's: a request that names no tenant gets it, one that names another becomes a
 * dead letter {@code tenant.mismatch}. On the shared topic a request naming an isolated tenant
 * becomes a dead letter {@code tenant.isolated}: only the tenant's own topic, which Kafka ACLs
 * guard, speaks for it. A mismatch carries the request id and the owning tenant, so the sender gets
 * a REJECTED response on its own topic; {@code tenant.isolated} carries no tenant and gets no
 * response (it would land in the named tenant's topics): it stays a dead letter for operators.
 */
public final class TenantBinding
    implements KafkaRecordDeserializationSchema<Either<DeadLetter, InferenceRequest>> {
  private static final long serialVersionUID = 1L;

  private final KafkaRecordDeserializationSchema<Either<DeadLetter, InferenceRequest>> decoder;
  private final String requestsTopic;
  private final IsolatedTenants isolated;
  private final String job;

  public TenantBinding(
      KafkaRecordDeserializationSchema<Either<DeadLetter, InferenceRequest>> decoder,
      String requestsTopic,
      IsolatedTenants isolated,
      String job) {
    this.decoder = decoder;
    this.requestsTopic = requestsTopic;
    this.isolated = isolated;
    this.job = job;
  }

  @Override
  public void open(DeserializationSchema.InitializationContext context) throws Exception {
    decoder.open(context);
  }

  @Override
  public void deserialize(
      ConsumerRecord<byte[], byte[]> record, Collector<Either<DeadLetter, InferenceRequest>> out)
      throws IOException {
    Optional<String> owner = isolated.tenantOf(requestsTopic, record.topic());
    decoder.deserialize(
        record,
        new Collector<>() {
          @Override
          public void collect(Either<DeadLetter, InferenceRequest> decoded) {
            out.collect(decoded.isLeft() ? owned(decoded, owner) : bind(decoded.right(), owner));
          }

          @Override
          public void close() {}
        });
  }

  /**
   * An undecodable record on a tenant's topic is that tenant's, whatever the bytes claimed. One on
   * the shared topic that claims an isolated tenant is nobody's: a dead letter only, answered to no
   * one, or its producer could write into that tenant's answers.
   */
  private Either<DeadLetter, InferenceRequest> owned(
      Either<DeadLetter, InferenceRequest> dead, Optional<String> owner) {
    if (owner.isPresent()) {
      dead.left().setTenantId(owner.get());
    } else if (isolated.isolated(dead.left().getTenantId())) {
      dead.left().setTenantId(null);
    }
    return dead;
  }

  private Either<DeadLetter, InferenceRequest> bind(
      InferenceRequest request, Optional<String> owner) {
    String claimed = request.getTenantId();
    if (owner.isPresent()) {
      String tenant = owner.get();
      if (claimed == null || claimed.isEmpty() || claimed.equals(tenant)) {
        request.setTenantId(tenant);
        return Either.Right(request);
      }
      return Either.Left(
          refused(
              "tenant.mismatch",
              "a request on " + tenant + "'s own topic must be " + tenant + "'s (it named another)",
              request,
              tenant));
    }
    if (isolated.isolated(claimed)) {
      // No tenant on the dead letter: it gets no response, which would go to the claimed tenant's
      // own topics, where this producer must not be able to write anything.
      return Either.Left(
          refused(
              "tenant.isolated",
              "a request on the shared topic named isolated tenant "
                  + claimed
                  + ", which sends requests through its own topic only, "
                  + requestsTopic
                  + "."
                  + claimed,
              request,
              null));
    }
    return Either.Right(request);
  }

  private DeadLetter refused(String code, String reason, InferenceRequest request, String tenant) {
    return DeadLetters.rejected(
        code, reason, "tenant", job, new byte[0], request.getRequestId(), tenant, Instant.now());
  }

  @Override
  public TypeInformation<Either<DeadLetter, InferenceRequest>> getProducedType() {
    return decoder.getProducedType();
  }
}
