package dev.streamrag.inference.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.inference.Stages;
import dev.streamrag.inference.output.FinishResponse;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The quota stage on Flink's operator harness, with the finish stage's harness of the same subtask
 * freeing concurrency slots as it produces responses.
 */
class EnforceQuotasTest {
  private final JobID job = new JobID();
  private final List<OneInputStreamOperatorTestHarness<?, ?>> opened = new ArrayList<>();
  private int ids;

  @AfterEach
  void closeAll() throws Exception {
    for (OneInputStreamOperatorTestHarness<?, ?> harness : opened) {
      harness.close();
    }
  }

  private MockEnvironment environment(int parallelism, int subtask) {
    return new MockEnvironmentBuilder()
        .setJobID(job)
        .setParallelism(parallelism)
        .setSubtaskIndex(subtask)
        .setMaxParallelism(128)
        .build();
  }

  private OneInputStreamOperatorTestHarness<InFlightRequest, InFlightRequest> quota(
      TenantQuotas quotas, int parallelism, int subtask, OperatorSubtaskState restored)
      throws Exception {
    OneInputStreamOperatorTestHarness<InFlightRequest, InFlightRequest> harness =
        new OneInputStreamOperatorTestHarness<>(
            new ProcessOperator<>(new EnforceQuotas(quotas)), environment(parallelism, subtask));
    harness.setup();
    harness.initializeState(restored);
    harness.open();
    opened.add(harness);
    return harness;
  }

  private OneInputStreamOperatorTestHarness<InFlightRequest, InferenceResponse> finish(
      int parallelism, int subtask) throws Exception {
    OneInputStreamOperatorTestHarness<InFlightRequest, InferenceResponse> harness =
        new OneInputStreamOperatorTestHarness<>(
            new ProcessOperator<>(
                new FinishResponse(
                    null, Duration.ofMillis(50), Duration.ofHours(1), Duration.ofDays(1), null)),
            environment(parallelism, subtask));
    harness.open();
    opened.add(harness);
    return harness;
  }

  private InFlightRequest request(String tenant, long deadline) {
    InferenceRequest request =
        InferenceRequest.newBuilder()
            .setRequestId("r-" + ids++)
            .setTenantId(tenant)
            .setKind(RequestKind.CHAT)
            .setMessages(List.of(new ChatMessage(ChatRole.USER, "hello", null, null, List.of())))
            .build();
    return InFlightRequest.newBuilder()
        .setRequest(request)
        .setModel("m")
        .setCreatedAt(0)
        .setDeadline(deadline)
        .setMarkMicros(Stages.nowMicros())
        .setTimings(new StageTimings())
        .setPassages(List.of())
        .setPrompt(List.of())
        .build();
  }

  /** Sends {@code count} requests of {@code tenant} at {@code now}; returns those admitted. */
  private List<InFlightRequest> send(
      OneInputStreamOperatorTestHarness<InFlightRequest, InFlightRequest> harness,
      String tenant,
      int count,
      long now)
      throws Exception {
    harness.setProcessingTime(now);
    int before = harness.extractOutputValues().size();
    for (int i = 0; i < count; i++) {
      harness.processElement(new StreamRecord<>(request(tenant, now + 30_000)));
    }
    List<InFlightRequest> out = harness.extractOutputValues();
    return new ArrayList<>(out.subList(before, out.size()));
  }

  private static List<InferenceResponse> rejected(
      OneInputStreamOperatorTestHarness<InFlightRequest, InFlightRequest> harness) {
    ConcurrentLinkedQueue<StreamRecord<InFlightRequest>> finished =
        harness.getSideOutput(Stages.FINISHED);
    List<InferenceResponse> responses = new ArrayList<>();
    if (finished != null) {
      finished.forEach(r -> responses.add(r.getValue().getResponse()));
    }
    return responses;
  }

  /** Produces the responses of {@code requests} as the finish stage does, freeing their slots. */
  private static void answer(
      OneInputStreamOperatorTestHarness<InFlightRequest, InferenceResponse> finish,
      List<InFlightRequest> requests)
      throws Exception {
    for (InFlightRequest request : requests) {
      request.setResponse(Stages.response(request, ResponseStatus.OK).setText("hi").build());
      finish.processElement(new StreamRecord<>(request));
    }
  }

  private static long rejectedCount(
      OneInputStreamOperatorTestHarness<InFlightRequest, InFlightRequest> harness,
      String label,
      String limit) {
    EnforceQuotas function =
        (EnforceQuotas) ((ProcessOperator<?, ?>) harness.getOneInputOperator()).getUserFunction();
    return function.rejected(label, limit);
  }

  @Test
  void withoutQuotasEveryRequestPasses() throws Exception {
    var harness = quota(TenantQuotas.none(), 1, 0, null);
    assertThat(send(harness, "acme", 1_000, 0)).hasSize(1_000);
    assertThat(rejected(harness)).isEmpty();
  }

  @Test
  void theRateAdmitsTheBurstThenRequestsPerSecondAndRejectsTheRestAsQuotaExceeded()
      throws Exception {
    var harness = quota(new TenantQuotas(new QuotaLimits(2, 4, 0), Map.of()), 1, 0, null);
    assertThat(send(harness, "acme", 10, 1_000)).hasSize(4);
    assertThat(send(harness, "acme", 10, 1_499)).isEmpty();
    assertThat(send(harness, "acme", 10, 1_500)).hasSize(1);
    assertThat(send(harness, "globex", 3, 1_500)).as("a tenant of its own").hasSize(3);
    List<InferenceResponse> rejected = rejected(harness);
    assertThat(rejected).hasSize(6 + 10 + 9);
    for (InferenceResponse response : rejected) {
      assertThat(response.getStatus()).isEqualTo(ResponseStatus.REJECTED);
      assertThat(response.getTenantId()).isEqualTo("acme");
      assertThat(response.getError().getCode()).isEqualTo("quota.exceeded");
      assertThat(response.getError().getStage()).isEqualTo("quota");
      assertThat(response.getError().getRetryable()).isTrue();
      assertThat(response.getError().getMessage())
          .isEqualTo("over this tenant's rate quota of 2 requests/s (burst 4): retry later")
          .doesNotContain("globex");
    }
    assertThat(rejectedCount(harness, TenantQuotas.OTHER, EnforceQuotas.RATE)).isEqualTo(25);
    assertThat(rejectedCount(harness, TenantQuotas.OTHER, EnforceQuotas.CONCURRENCY)).isZero();
  }

  @Test
  void aConcurrencySlotIsHeldUntilTheFinishStageProducesTheResponse() throws Exception {
    var harness = quota(new TenantQuotas(new QuotaLimits(0, 0, 2), Map.of()), 1, 0, null);
    var finish = finish(1, 0);
    List<InFlightRequest> first = send(harness, "acme", 3, 0);
    assertThat(first).hasSize(2);
    assertThat(rejected(harness))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r.getError().getMessage())
                    .isEqualTo(
                        "over this tenant's concurrency quota of 2 requests in flight: retry"
                            + " once one of them has been answered"));
    assertThat(send(harness, "acme", 1, 10)).as("still both in flight").isEmpty();
    answer(finish, first.subList(0, 1));
    assertThat(send(harness, "acme", 2, 20)).as("one freed").hasSize(1);
    // A rejected request's response (produced by the finish stage too) frees nothing.
    answer(finish, List.of(harness.getSideOutput(Stages.FINISHED).peek().getValue()));
    assertThat(send(harness, "acme", 1, 30)).isEmpty();
    assertThat(rejectedCount(harness, TenantQuotas.OTHER, EnforceQuotas.CONCURRENCY)).isEqualTo(4);
  }

  @Test
  void aRequestTurnedAwayForConcurrencyKeepsTheTenantsToken() throws Exception {
    var harness = quota(new TenantQuotas(new QuotaLimits(1, 1, 1), Map.of()), 1, 0, null);
    var finish = finish(1, 0);
    List<InFlightRequest> first = send(harness, "acme", 5, 0);
    assertThat(first).hasSize(1);
    assertThat(rejected(harness))
        .allMatch(r -> r.getError().getMessage().contains("concurrency quota of 1 request "));
    answer(finish, first);
    assertThat(send(harness, "acme", 1, 999)).as("the bucket: 0.999 tokens").isEmpty();
    assertThat(send(harness, "acme", 1, 1_000)).hasSize(1);
  }

  @Test
  void eachTaskAdmitsItsShareOfTheLimits() throws Exception {
    // 8 req/s, burst 8, 6 in flight over 4 tasks: 2 req/s, a bucket of 2, 2 in flight per task.
    var harness = quota(new TenantQuotas(new QuotaLimits(8, 8, 6), Map.of()), 4, 1, null);
    var finish = finish(4, 1);
    List<InFlightRequest> admitted = send(harness, "acme", 5, 0);
    assertThat(admitted).hasSize(2);
    answer(finish, admitted);
    assertThat(send(harness, "acme", 5, 1)).as("slots free, bucket empty").isEmpty();
    assertThat(send(harness, "acme", 5, 500)).hasSize(1);
  }

  @Test
  void theFinishStageOfAnotherSubtaskFreesNothingHere() throws Exception {
    var harness = quota(new TenantQuotas(new QuotaLimits(0, 0, 2), Map.of()), 2, 0, null);
    var otherFinish = finish(2, 1);
    List<InFlightRequest> admitted = send(harness, "acme", 2, 0);
    answer(otherFinish, admitted);
    assertThat(send(harness, "acme", 1, 1)).isEmpty();
  }

  @Test
  void namedTenantsHaveTheirOwnLimitsAndMetricLabels() throws Exception {
    var harness =
        quota(
            new TenantQuotas(
                new QuotaLimits(100, 100, 100),
                Map.of("noisy", new QuotaLimits(1, 1, 0), "vip", QuotaLimits.UNLIMITED)),
            1,
            0,
            null);
    assertThat(send(harness, "noisy", 50, 0)).hasSize(1);
    assertThat(send(harness, "vip", 500, 0)).hasSize(500);
    assertThat(send(harness, "quiet", 50, 0)).hasSize(50);
    assertThat(rejected(harness)).hasSize(49).allMatch(r -> r.getTenantId().equals("noisy"));
    assertThat(rejected(harness).get(0).getError().getMessage())
        .contains("1 request/s (burst 1)")
        .doesNotContain("quiet")
        .doesNotContain("vip")
        .doesNotContain("100");
    assertThat(rejectedCount(harness, "noisy", EnforceQuotas.RATE)).isEqualTo(49);
    assertThat(rejectedCount(harness, TenantQuotas.OTHER, EnforceQuotas.RATE)).isZero();
  }

  @Test
  void aRestoredTaskStartsWithNoSlotsHeldSoNoneLeaks() throws Exception {
    TenantQuotas quotas = new TenantQuotas(new QuotaLimits(0, 0, 1), Map.of());
    var before = quota(quotas, 1, 0, null);
    assertThat(send(before, "acme", 1, 0)).hasSize(1);
    assertThat(send(before, "acme", 1, 1)).isEmpty();
    OperatorSubtaskState snapshot = before.snapshot(1, 1);
    before.close();
    opened.remove(before);

    var after = quota(quotas, 1, 0, snapshot);
    var finish = finish(1, 0);
    List<InFlightRequest> admitted = send(after, "acme", 1, 2);
    assertThat(admitted).as("the slot held before the failure is gone").hasSize(1);
    // The request admitted before the restore is answered now (it was in an Async I/O queue):
    // its release must not free the slot of the one admitted since.
    answer(finish, List.of(request("acme", 30_000)));
    assertThat(send(after, "acme", 1, 3)).isEmpty();
    answer(finish, admitted);
    assertThat(send(after, "acme", 1, 4)).hasSize(1);
  }

  @Test
  void aSlotWhoseResponseNeverComesExpiresAfterTheDeadline() throws Exception {
    var harness = quota(new TenantQuotas(new QuotaLimits(0, 0, 1), Map.of()), 1, 0, null);
    assertThat(send(harness, "acme", 1, 0)).hasSize(1); // deadline 30 s
    assertThat(send(harness, "acme", 1, 30_000 + InFlightSlots.GRACE_MILLIS - 1)).isEmpty();
    assertThat(send(harness, "acme", 1, 30_000 + InFlightSlots.GRACE_MILLIS)).hasSize(1);
    EnforceQuotas function =
        (EnforceQuotas) ((ProcessOperator<?, ?>) harness.getOneInputOperator()).getUserFunction();
    assertThat(function.expiredCount()).isEqualTo(1);
  }
}
