package io.streamgpt.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job jar that {@code submit} uploads holds the job and what it needs on a cluster, and nothing
 * of the command line: no CLI, HTTP, stack or benchmark class, no Kafka broker, no picocli (an
 * integration test: it reads the jar the build packaged).
 */
class JobJarIT {

    @Test
    void theJobJarIsOnlyTheJob() throws Exception {
        Path target = Paths.home().resolve("pipeline").resolve("job").resolve("target");
        Path jar;
        try (Stream<Path> files = Files.list(target)) {
            jar =
                    files.filter(
                                    f ->
                                            f.getFileName()
                                                    .toString()
                                                    .matches("streamgpt-job-.*-job\\.jar"))
                            .findFirst()
                            .orElseThrow();
        }
        List<String> classes;
        try (JarFile file = new JarFile(jar.toFile())) {
            classes =
                    file.stream().map(e -> e.getName()).filter(n -> n.endsWith(".class")).toList();
        }
        assertThat(classes)
                .contains(
                        "io/streamgpt/job/JobMain.class",
                        "io/streamgpt/job/StreamingTrainerJob.class",
                        "io/streamgpt/model/Gpt.class",
                        "io/streamgpt/connectors/kafka/KafkaStreams.class",
                        "org/apache/kafka/clients/consumer/KafkaConsumer.class");
        assertThat(classes)
                .noneMatch(n -> n.startsWith("io/streamgpt/cli/"))
                .noneMatch(n -> n.startsWith("io/streamgpt/embedded/"))
                .noneMatch(n -> n.startsWith("kafka/server/")) // the broker
                .noneMatch(n -> n.startsWith("org/apache/kafka/metadata/"))
                .noneMatch(n -> n.startsWith("picocli/"))
                .noneMatch(n -> n.startsWith("org/eclipse/jetty/"))
                .noneMatch(n -> n.startsWith("me/tongfei/progressbar/"))
                .noneMatch(n -> n.startsWith("ai/djl/")); // the cluster's, loaded once per JVM
    }
}
