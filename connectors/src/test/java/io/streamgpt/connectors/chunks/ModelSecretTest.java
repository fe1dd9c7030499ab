package io.streamgpt.connectors.chunks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelSecretTest {

    @Test
    void ensureCreatesAnOwnerOnlyFileOfThirtyTwoRandomBytesOnceAndKeepsIt(@TempDir Path dir)
            throws Exception {
        Path file = dir.resolve("keys").resolve("model-secret");
        String location = "file:" + file;
        assertThat(ModelSecret.ensure(location)).isTrue();
        String key = Files.readString(file);
        assertThat(key).matches("[0-9a-f]{64}\n"); // 32 bytes as hex, one line
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
        assertThat(ModelSecret.read(location)).hasSize(64).asString().isEqualTo(key.strip());

        assertThat(ModelSecret.ensure(location)).as("an existing key is the job's").isFalse();
        assertThat(Files.readString(file)).isEqualTo(key);
    }

    @Test
    void aShortOrMissingKeyFailsNamingTheLocationNotTheKey(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("short");
        Files.writeString(file, "hunter2-hunter2-hunter2\n"); // 23 bytes
        assertThatThrownBy(() -> ModelSecret.read("file:" + file))
                .hasMessageContaining(file.toString())
                .hasMessageContaining("has 23 bytes, at least 32")
                .message()
                .doesNotContain("hunter2");
        assertThatThrownBy(() -> ModelSecret.read("file:" + dir.resolve("none")))
                .hasMessageContaining("cannot read the model secret file");
        assertThatThrownBy(() -> ModelSecret.ensure("env:STREAMGPT_TEST_NO_SUCH_VARIABLE"))
                .hasMessageContaining(
                        "environment variable STREAMGPT_TEST_NO_SUCH_VARIABLE is not set");
        assertThat(ModelSecret.isLocation("/etc/key")).isFalse();
        assertThat(ModelSecret.path("file:~/k"))
                .isEqualTo(Path.of(System.getProperty("user.home"), "k"));
    }
}
