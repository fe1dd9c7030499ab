package io.streamgpt.cli;

import io.streamgpt.config.Param;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.SyncConfig;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job's settings are defined once, in their {@link Param}s: docs/configuration.md, the command
 * line's help and {@link JobConfig#defaults()} all say the same (regenerate the docs with
 * ./streamgpt config-reference).
 */
class ConfigReferenceTest {

    @Test
    void docsHaveTheCurrentConfigurationReference() throws Exception {
        String docs = Files.readString(Paths.home().resolve("docs").resolve("configuration.md"));
        String generated = ConfigReference.markdown();
        assertThat(generated)
                .contains(
                        "| `--replicas` | `2` |",
                        "| `--sync-every` | `10` |",
                        "| `--preset` | `cpu` |",
                        "| `--bootstrap-servers`, `--bootstrap-server` |"
                                + " `$STREAMGPT_BOOTSTRAP_SERVERS`, else `127.0.0.1:9092` |");
        int start = docs.indexOf(ConfigReference.START);
        int end = docs.indexOf(ConfigReference.END);
        assertThat(start)
                .as("docs/configuration.md has the reference's markers")
                .isGreaterThanOrEqualTo(0);
        assertThat(docs.substring(start, end + ConfigReference.END.length()) + "\n")
                .as("docs/configuration.md: regenerate it with ./streamgpt config-reference")
                .isEqualTo(generated);
    }

    @Test
    void helpShowsEverySettingUnderItsSectionWithTheDefaultsOfJobConfigDefaults() {
        String help =
                CliRun.of("local", "--help")
                        .successfulOut()
                        .replaceAll("\\s+", " "); // as wrapped at 80 columns
        JobConfig defaults = JobConfig.defaults();
        defaults.settings()
                .forEach(
                        (param, value) -> {
                            assertThat(help).contains("--" + param.name());
                            if (!param.defaultText().isEmpty()
                                    && !param.defaultText().equals("the preset's")) {
                                // what --help prints as the default is what defaults() holds
                                assertThat(param.defaultText()).isEqualTo(param.format(value));
                                assertThat(help)
                                        .contains(
                                                "Default: "
                                                        + (param.environmentVariable() == null
                                                                ? ""
                                                                : "$"
                                                                        + param
                                                                                .environmentVariable()
                                                                        + ", else ")
                                                        + param.defaultText());
                            }
                        });
        for (JobConfig.Section section : JobConfig.SECTIONS) {
            assertThat(help).contains(section.heading() + ":");
        }
        assertThat(defaults.sync().every()).isEqualTo(10); // and the default is K = 10
        assertThat(help)
                .contains(
                        "--sync-every=<sync-every> Local steps between parameter averaging rounds"
                                + " (K). Default: 10.");
        assertThat(SyncConfig.EVERY.defaultText()).isEqualTo("10");
    }
}
