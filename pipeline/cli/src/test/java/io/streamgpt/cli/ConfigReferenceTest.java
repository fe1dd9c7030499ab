package io.streamgpt.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's configuration reference is what the job options say (regenerate: ./streamgpt
 * config-reference).
 */
class ConfigReferenceTest {

    @Test
    void readmeHasTheCurrentConfigurationReference() throws Exception {
        String readme = Files.readString(Path.of("../docs/configuration.md"));
        String generated = ConfigReference.markdown();
        assertThat(generated)
                .contains(
                        "| `--replicas` | `2` |",
                        "| `--sync-every` | `10` |",
                        "| `--preset` | `cpu` |");
        int start = readme.indexOf(ConfigReference.START);
        int end = readme.indexOf(ConfigReference.END);
        assertThat(start).as("README has the reference's markers").isGreaterThanOrEqualTo(0);
        assertThat(readme.substring(start, end + ConfigReference.END.length()) + "\n")
                .as(
                        "README's configuration reference: regenerate it with ./streamgpt"
                                + " config-reference")
                .isEqualTo(generated);
    }
}
