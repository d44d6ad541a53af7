package dev.streamrag.inference.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.inference.InferenceJob;
import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.jobs.config.JobConfig;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** The quota settings: the per-tenant syntax, its errors, and each task's share of a limit. */
class TenantQuotasTest {
  private static Configuration config(String... flags) {
    return JobConfig.load(flags, Map.of(), InferenceOptions.ALL);
  }

  @Test
  void offByDefault() {
    TenantQuotas quotas = TenantQuotas.of(config());
    assertThat(quotas.enabled()).isFalse();
    assertThat(quotas.limitsFor("acme")).isEqualTo(QuotaLimits.UNLIMITED);
    assertThat(quotas.metricLabels()).containsExactly(TenantQuotas.OTHER);
  }

  @Test
  void namedTenantsReplaceTheDefaults() {
    TenantQuotas quotas =
        TenantQuotas.of(
            config(
                "--quota.requests-per-second", "10",
                "--quota.max-concurrent", "4",
                "--quota.tenants", " acme=50:100:20 ; guest=0.5:2:1;vip=0:0:0;"));
    assertThat(quotas.enabled()).isTrue();
    assertThat(quotas.limitsFor("acme")).isEqualTo(new QuotaLimits(50, 100, 20));
    assertThat(quotas.limitsFor("guest")).isEqualTo(new QuotaLimits(0.5, 2, 1));
    assertThat(quotas.limitsFor("vip").unlimited()).isTrue();
    assertThat(quotas.limitsFor("anyone")).isEqualTo(new QuotaLimits(10, 0, 4));
    assertThat(quotas.limitsFor("anyone").effectiveBurst()).isEqualTo(10);
    assertThat(quotas.metricLabel("acme")).isEqualTo("acme");
    assertThat(quotas.metricLabel("anyone")).isEqualTo("_other");
    assertThat(quotas.metricLabel(null)).isEqualTo("_other");
    assertThat(quotas.metricLabels()).containsExactly("acme", "guest", "vip", "_other");
  }

  @Test
  void aTenantListAloneTurnsQuotasOn() {
    assertThat(TenantQuotas.of(config("--quota.tenants", "guest=1:2:1")).enabled()).isTrue();
    assertThat(TenantQuotas.of(config("--quota.tenants", "vip=0:0:0")).enabled()).isFalse();
  }

  @Test
  void aBadEntryStopsTheJobAtBuildNamingTheEntry() {
    assertBad("acme", "entry 1 'acme' has no '='");
    assertBad("acme=1:2", "entry 1 'acme=1:2' has 2 numbers, not 3");
    assertBad("acme=1:2:3:4", "has 4 numbers, not 3");
    assertBad("acme=1:2:3;guest=x:2:1", "entry 2 'guest=x:2:1': requestsPerSecond 'x'");
    assertBad("acme=-1:2:3", "requestsPerSecond '-1' is not a number >= 0");
    assertBad("acme=NaN:2:3", "requestsPerSecond 'NaN'");
    assertBad("acme=1e999:2:3", "requestsPerSecond '1e999'");
    assertBad("acme=1:2.5:3", "burst '2.5' is not a whole number >= 0");
    assertBad("acme=1:2:-3", "maxConcurrent '-3' is not a whole number >= 0");
    assertBad("a:b=1:2:3", "'a:b' is not a tenant id");
    assertBad("=1:2:3", "'' is not a tenant id");
    assertBad("acme=1:2:3;;guest=1:1:1", "entry 2 '' has no '='");
    assertBad("acme=1:2:3;acme=4:5:6", "tenant 'acme' is named twice");
    assertThatThrownBy(() -> TenantQuotas.of(config("--quota.max-concurrent", "-1")))
        .hasMessageContaining("quota.max-concurrent")
        .hasMessageContaining("must be >= 0, was -1");
    assertThatThrownBy(() -> TenantQuotas.of(config("--quota.requests-per-second", "-0.5")))
        .hasMessageContaining("quota.requests-per-second");
  }

  private static void assertBad(String spec, String message) {
    assertThatThrownBy(() -> new InferenceJob(config("--quota.tenants", spec)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("quota.tenants: ")
        .hasMessageContaining(message)
        .hasMessageContaining("e.g. acme=50:100:20");
  }

  @Test
  void eachTaskEnforcesItsShare() {
    QuotaLimits limits = new QuotaLimits(10, 20, 6);
    assertThat(limits.share(1)).isEqualTo(new QuotaLimits.TaskShare(10, 20, 6));
    assertThat(limits.share(4)).isEqualTo(new QuotaLimits.TaskShare(2.5, 5, 2));
    // Never a bucket below one request or no slot at all: a task could then admit nothing.
    assertThat(new QuotaLimits(1, 2, 1).share(4)).isEqualTo(new QuotaLimits.TaskShare(0.25, 1, 1));
    assertThat(new QuotaLimits(0, 0, 0).share(3)).isEqualTo(new QuotaLimits.TaskShare(0, 1, 0));
    // Burst 0: one second's worth.
    assertThat(new QuotaLimits(2.5, 0, 0).effectiveBurst()).isEqualTo(3);
    assertThat(new QuotaLimits(0.2, 0, 0).effectiveBurst()).isEqualTo(1);
    assertThat(new QuotaLimits(2, 4, 0).describeRate()).isEqualTo("2 requests/s (burst 4)");
    assertThat(new QuotaLimits(0.5, 1, 0).describeRate()).isEqualTo("0.5 requests/s (burst 1)");
  }
}
