package io.streamgpt.job;

import io.streamgpt.job.config.JobConfig;

import org.apache.kafka.common.acl.AclBinding;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobAclsTest {

    @Test
    void theDefaultJobNeedsReadOnItsTextAndPromptsWriteOnItsReportsBothOnTheModelAndItsGroups() {
        List<AclBinding> acls = JobAcls.forJob(JobConfig.defaults(), "User:job", false);
        assertThat(JobAcls.kafkaAclsCommands(acls, "--bootstrap-server B"))
                .containsExactly(
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Read --topic text",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Read --operation Write --operation DescribeConfigs"
                                + " --topic streamgpt-model",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Read --operation Write --topic streamgpt-metadata",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Write --topic streamgpt-losses",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Write --topic streamgpt-samples",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Write --topic streamgpt-answers",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Write --topic streamgpt-dead-letters",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Read --topic streamgpt-prompts",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Read --group streamgpt",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Read --group streamgpt-model",
                        "kafka-acls.sh --bootstrap-server B --add --allow-principal User:job"
                                + " --operation Read --group streamgpt-prompts");
        // with CREATE: one more on each of the 8 topics, none on the groups
        assertThat(JobAcls.forJob(JobConfig.defaults(), "User:job", true)).hasSize(acls.size() + 8);
    }

    @Test
    void aTopicPatternIsGrantedOnItsLiteralPrefix() {
        JobConfig pattern = JobConfig.parse(Map.of("text-topic-pattern", "logs\\.app-.*"));
        assertThat(JobAcls.kafkaAclsCommands(JobAcls.forJob(pattern, "User:job", false), "X"))
                .first()
                .isEqualTo(
                        "kafka-acls.sh X --add --allow-principal User:job --operation Read --topic"
                                + " logs.app- --resource-pattern-type prefixed");
        assertThat(JobAcls.literalPrefix("^text-[0-9]+")).isEqualTo("text-");
        assertThat(JobAcls.literalPrefix("texts?")).isEqualTo("text"); // the s is optional
        assertThatThrownBy(() -> JobAcls.literalPrefix(".*"))
                .hasMessageContaining("starts with no literal prefix");
        assertThatThrownBy(() -> JobAcls.forJob(JobConfig.defaults(), "job", false))
                .hasMessageContaining("a principal is TYPE:NAME");
    }
}
