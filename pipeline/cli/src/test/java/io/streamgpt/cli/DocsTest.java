package io.streamgpt.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** README.md stays a page, and its data-flow diagram is the one the job's wiring documents. */
class DocsTest {

    @Test
    void theReadmesDiagramIsTheCodes() throws Exception {
        String readme = Files.readString(Paths.home().resolve("README.md"));
        String job =
                Files.readString(
                        Paths.home()
                                .resolve(
                                        "pipeline/job/src/main/java/io/streamgpt/job/StreamingTrainerJob.java"));
        Matcher code = Pattern.compile("(?s)<pre>\\n(.*?) \\* </pre>").matcher(job);
        assertThat(code.find()).as("StreamingTrainerJob's Javadoc has a <pre> diagram").isTrue();
        String diagram = code.group(1).replaceAll("(?m)^ \\* ?", "").replace("&gt;", ">");
        Matcher text = Pattern.compile("(?s)```text\\n(.*?)```").matcher(readme);
        assertThat(text.find()).as("README has a ```text diagram").isTrue();
        assertThat(text.group(1)).isEqualTo(diagram);
    }

    @Test
    void theReadmeIsAtMostTwoHundredLinesAndStartsWithTheQuickStart() throws Exception {
        List<String> lines = Files.readAllLines(Paths.home().resolve("README.md"));
        assertThat(lines.size()).isLessThanOrEqualTo(200);
        String readme = String.join("\n", lines);
        assertThat(readme).contains("## Quick start", "./streamgpt local", ".ci/run");
        assertThat(readme.indexOf("## Quick start")).isLessThan(readme.indexOf("## How it works"));
    }
}
