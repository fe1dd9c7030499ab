package io.streamgpt.model;

import ai.djl.Device;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelFileTest {

    @BeforeAll
    static void engine() {
        TorchRuntime.configure(1);
    }

    @Test
    void savesAndLoadsExactly(@TempDir Path dir) throws IOException {
        Vocabulary vocab = Vocabulary.ofText("hello, wörld 😀");
        GptConfig config = GptTest.TINY.withVocabSize(vocab.size());
        try (Gpt model = Gpt.create(config, 3, Device.cpu())) {
            Path file = dir.resolve("m.bin");
            ModelFile.save(file, model, vocab, 42);
            ModelFile.Contents loaded = ModelFile.load(file);
            assertThat(loaded.config()).isEqualTo(config);
            assertThat(loaded.vocabulary()).isEqualTo(vocab);
            assertThat(loaded.step()).isEqualTo(42);
            assertThat(loaded.parameters()).containsExactly(model.parameterValues());
            assertThat(Files.list(dir)).containsExactly(file); // no temporary file left
        }
    }

    @Test
    void bytesVocabularyRoundTrips(@TempDir Path dir) throws IOException {
        GptConfig config = GptTest.TINY.withVocabSize(256);
        float[] params = ParameterLayout.of(config).initialValues(1);
        Path file = dir.resolve("b.bin");
        ModelFile.save(file, new ModelFile.Contents(config, Vocabulary.bytes(), params, 0));
        assertThat(ModelFile.load(file).vocabulary()).isEqualTo(Vocabulary.bytes());
    }

    /**
     * The lineage is an optional header object: a file with it loads the same model, one without it
     * has an empty lineage.
     */
    @Test
    void lineageIsAnOptionalPartOfTheHeader(@TempDir Path dir) throws IOException {
        GptConfig config = GptTest.TINY.withVocabSize(256);
        float[] params = ParameterLayout.of(config).initialValues(1);
        ModelFile.Contents contents =
                new ModelFile.Contents(config, Vocabulary.bytes(), params, 20);
        Path with = dir.resolve("with.bin");
        Path without = dir.resolve("without.bin");
        ModelFile.save(
                with,
                contents,
                java.util.Map.of(
                        "round", 10, "tokens", 2560L, "input_offsets", java.util.Map.of("t-0", 3)));
        ModelFile.save(without, contents);
        assertThat(ModelFile.lineage(with))
                .containsEntry("round", 10)
                .containsEntry("tokens", 2560)
                .containsEntry("input_offsets", java.util.Map.of("t-0", 3));
        assertThat(ModelFile.lineage(without)).isEmpty();
        assertThat(ModelFile.load(with).parameters()).containsExactly(params);
        assertThat(ModelFile.load(with).step()).isEqualTo(20);
    }

    @Test
    void damagedFilesAreRejected(@TempDir Path dir) throws IOException {
        GptConfig config = GptTest.TINY;
        Path file = dir.resolve("m.bin");
        ModelFile.save(
                file,
                new ModelFile.Contents(
                        config,
                        Vocabulary.ofText("abcdefghijklmnopq"),
                        ParameterLayout.of(config).initialValues(1),
                        0));
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 1;
        Files.write(file, bytes);
        assertThatThrownBy(() -> ModelFile.load(file)).hasMessageContaining("checksum mismatch");
        bytes[bytes.length / 2] ^= 1;
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100)); // cut short
        assertThatThrownBy(() -> ModelFile.load(file)).hasMessageContaining("checksum mismatch");
        Files.writeString(file, "not a model");
        assertThatThrownBy(() -> ModelFile.load(file))
                .hasMessageContaining("not a streamgpt model file");
    }

    @Test
    void vocabularyMustMatchTheConfig(@TempDir Path dir) {
        GptConfig config = GptTest.TINY; // vocab 17
        assertThatThrownBy(
                        () ->
                                ModelFile.save(
                                        dir.resolve("x.bin"),
                                        new ModelFile.Contents(
                                                config,
                                                Vocabulary.ofText("ab"),
                                                ParameterLayout.of(config).initialValues(1),
                                                0)))
                .hasMessageContaining("vocabulary has 2 tokens, the config says 17");
    }
}
