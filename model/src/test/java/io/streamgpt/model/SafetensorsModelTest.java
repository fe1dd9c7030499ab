package io.streamgpt.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * safetensors files byte by byte, and the mapping between streamgpt's flat layout and the PyTorch
 * reference's state_dict on a model small enough to check by hand: vocabulary 5, block 3, one
 * layer, 2 heads of width 2 (n_embd 4). The check against PyTorch itself is {@code
 * SafetensorsPytorchTest} (cli).
 */
class SafetensorsModelTest {

    private static final GptConfig SMALL = new GptConfig(5, 3, 1, 2, 4, 0.0);

    @Test
    void aFileIsTheHeaderLengthTheJsonHeaderAndTheLittleEndianFloats(@TempDir Path dir)
            throws IOException {
        Path file = dir.resolve("x.safetensors");
        SafetensorsFile.write(
                file,
                Map.of("step", "7"),
                List.of(new SafetensorsFile.Tensor("x", new long[] {2}, new float[] {1f, -2f})));
        byte[] bytes = Files.readAllBytes(file);
        String json =
                "{\"__metadata__\":{\"step\":\"7\"},\"x\":{\"dtype\":\"F32\",\"shape\":[2],"
                        + "\"data_offsets\":[0,8]}}";
        int padded = (json.length() + 7) / 8 * 8; // 80 -> 80
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(in.getLong(0)).isEqualTo(padded);
        assertThat(new String(bytes, 8, padded, StandardCharsets.UTF_8).trim()).isEqualTo(json);
        assertThat(bytes).hasSize(8 + padded + 8);
        // 1.0f = 0x3F800000, -2.0f = 0xC0000000, low byte first
        assertThat(Arrays.copyOfRange(bytes, 8 + padded, bytes.length))
                .containsExactly(0, 0, (byte) 0x80, 0x3F, 0, 0, 0, (byte) 0xC0);

        SafetensorsFile.Contents read = SafetensorsFile.read(file);
        assertThat(read.metadata()).containsExactly(Map.entry("step", "7"));
        assertThat(read.tensors().get("x").values()).containsExactly(1f, -2f);
        assertThat(read.tensors().get("x").shape()).containsExactly(2);
    }

    @Test
    void theStateDictHasTheReferenceNamesAndShapes() {
        float[] flat = new float[(int) ParameterLayout.of(SMALL).size()];
        Map<String, long[]> shapes = new LinkedHashMap<>();
        SafetensorsModel.stateDict(SMALL, flat).forEach(t -> shapes.put(t.name(), t.shape()));
        assertThat(shapes.keySet())
                .containsExactly(
                        "tok.weight",
                        "pos.weight",
                        "blocks.0.sa.heads.0.key.weight",
                        "blocks.0.sa.heads.0.query.weight",
                        "blocks.0.sa.heads.0.value.weight",
                        "blocks.0.sa.heads.0.tril",
                        "blocks.0.sa.heads.1.key.weight",
                        "blocks.0.sa.heads.1.query.weight",
                        "blocks.0.sa.heads.1.value.weight",
                        "blocks.0.sa.heads.1.tril",
                        "blocks.0.sa.proj.weight",
                        "blocks.0.sa.proj.bias",
                        "blocks.0.ffwd.0.weight",
                        "blocks.0.ffwd.0.bias",
                        "blocks.0.ffwd.2.weight",
                        "blocks.0.ffwd.2.bias",
                        "blocks.0.ln1.weight",
                        "blocks.0.ln1.bias",
                        "blocks.0.ln2.weight",
                        "blocks.0.ln2.bias",
                        "ln_f.weight",
                        "ln_f.bias",
                        "lm_head.weight",
                        "lm_head.bias");
        assertThat(shapes.get("tok.weight")).containsExactly(5, 4);
        assertThat(shapes.get("pos.weight")).containsExactly(3, 4);
        assertThat(shapes.get("blocks.0.sa.heads.1.query.weight")).containsExactly(2, 4);
        assertThat(shapes.get("blocks.0.ffwd.0.weight")).containsExactly(16, 4);
        assertThat(shapes.get("blocks.0.ffwd.2.weight")).containsExactly(4, 16);
        assertThat(shapes.get("lm_head.weight")).containsExactly(5, 4);
        // the parameters count as the reference's: tril is a buffer
        long parameters =
                SafetensorsModel.stateDict(SMALL, flat).stream()
                        .filter(t -> !t.name().endsWith(".tril"))
                        .mapToLong(t -> t.values().length)
                        .sum();
        assertThat(parameters).isEqualTo(ParameterLayout.of(SMALL).size());
    }

    @Test
    void eachHeadsQueryKeyAndValueAreItsRowsOfTheJointProjection() {
        float[] flat = new float[(int) ParameterLayout.of(SMALL).size()];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = i; // each value is its own offset
        }
        Map<String, float[]> dict = new LinkedHashMap<>();
        SafetensorsModel.stateDict(SMALL, flat).forEach(t -> dict.put(t.name(), t.values()));
        // c_attn (12, 4) starts after wte 5x4, wpe 3x4, ln_1 weight and bias 4 + 4: offset 40;
        // row r of it is 40 + 4r .. 40 + 4r + 3
        assertThat(dict.get("blocks.0.sa.heads.0.query.weight")).containsExactly(range(40, 48));
        assertThat(dict.get("blocks.0.sa.heads.1.query.weight")).containsExactly(range(48, 56));
        // keys from row C = 4: head 0 rows 4-5, head 1 rows 6-7
        assertThat(dict.get("blocks.0.sa.heads.0.key.weight")).containsExactly(range(56, 64));
        assertThat(dict.get("blocks.0.sa.heads.1.key.weight")).containsExactly(range(64, 72));
        // values from row 2C = 8: head 1 rows 10-11
        assertThat(dict.get("blocks.0.sa.heads.1.value.weight")).containsExactly(range(80, 88));
        assertThat(dict.get("tok.weight")).containsExactly(range(0, 20));
        assertThat(dict.get("blocks.0.sa.heads.0.tril")).containsExactly(1, 0, 0, 1, 1, 0, 1, 1, 1);
    }

    @Test
    void aModelRoundTripsWithItsConfigVocabularyStepAndLineage(@TempDir Path dir)
            throws IOException {
        Vocabulary vocab = Vocabulary.ofText("abcde");
        float[] flat = ParameterLayout.of(SMALL).initialValues(5);
        Path file = dir.resolve("m.safetensors");
        SafetensorsModel.save(
                file,
                new ModelFile.Contents(SMALL, vocab, flat, 1234),
                Map.of("generation", 2, "round", 61));
        ModelFile.Contents loaded = SafetensorsModel.load(file, null, 0.5);
        assertThat(loaded.config()).isEqualTo(SMALL); // from the metadata: dropout 0, not 0.5
        assertThat(loaded.vocabulary()).isEqualTo(vocab);
        assertThat(loaded.step()).isEqualTo(1234);
        assertThat(loaded.parameters()).containsExactly(flat);
        assertThat(SafetensorsModel.lineage(file))
                .containsEntry("generation", 2)
                .containsEntry("round", 61);
        assertThat(Files.list(dir)).containsExactly(file); // no temporary file left
    }

    @Test
    void karpathysGptPyNamesWithoutMetadataAreReadWithTheShapeFromTheTensors(@TempDir Path dir)
            throws IOException {
        float[] flat = ParameterLayout.of(SMALL).initialValues(9);
        List<SafetensorsFile.Tensor> renamed = new ArrayList<>();
        for (SafetensorsFile.Tensor t : SafetensorsModel.stateDict(SMALL, flat)) {
            String name =
                    t.name()
                            .replace("tok.", "token_embedding_table.")
                            .replace("pos.", "position_embedding_table.")
                            .replace(".ffwd.", ".ffwd.net.");
            renamed.add(new SafetensorsFile.Tensor("module." + name, t.shape(), t.values()));
        }
        Path file = dir.resolve("gpt.safetensors");
        SafetensorsFile.write(file, Map.of(), renamed);
        ModelFile.Contents loaded = SafetensorsModel.load(file, Vocabulary.ofText("vwxyz"), 0.2);
        assertThat(loaded.config()).isEqualTo(new GptConfig(5, 3, 1, 2, 4, 0.2));
        assertThat(loaded.parameters()).containsExactly(flat);
        assertThat(loaded.step()).isZero();
        assertThatThrownBy(() -> SafetensorsModel.load(file, null, 0))
                .hasMessageContaining("names no vocabulary");
        assertThatThrownBy(() -> SafetensorsModel.load(file, Vocabulary.ofText("ab"), 0))
                .hasMessageContaining("embedding of 5 tokens, the vocabulary has 2");
    }

    @Test
    void missingMisShapedAndForeignTensorsAreRefusedByName(@TempDir Path dir) throws IOException {
        float[] flat = ParameterLayout.of(SMALL).initialValues(1);
        Map<String, SafetensorsFile.Tensor> dict = new LinkedHashMap<>();
        SafetensorsModel.stateDict(SMALL, flat).forEach(t -> dict.put(t.name(), t));
        dict.remove("ln_f.bias");
        dict.put(
                "lm_head.bias",
                new SafetensorsFile.Tensor("lm_head.bias", new long[] {4}, new float[4]));
        dict.put(
                "extra.weight",
                new SafetensorsFile.Tensor("extra.weight", new long[] {1}, new float[1]));
        assertThatThrownBy(() -> SafetensorsModel.parameters(SMALL, dict))
                .hasMessageContaining("missing [ln_f.bias]")
                .hasMessageContaining("unexpected [extra.weight]")
                .hasMessageContaining("lm_head.bias has shape [4], the config needs [5]");
    }

    @Test
    void damagedFilesAreRefusedWithTheReason(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("x.safetensors");
        SafetensorsFile.write(
                file,
                Map.of(),
                List.of(new SafetensorsFile.Tensor("x", new long[] {2}, new float[] {1f, 2f})));
        byte[] good = Files.readAllBytes(file);

        Files.write(file, Arrays.copyOf(good, good.length - 1)); // truncated
        assertThatThrownBy(() -> SafetensorsFile.read(file))
                .hasMessageContaining("data_offsets [0, 8]");
        Files.write(file, Arrays.copyOf(good, good.length + 4)); // bytes after the last tensor
        assertThatThrownBy(() -> SafetensorsFile.read(file))
                .hasMessageContaining("4 bytes after its last tensor");
        byte[] huge = good.clone();
        huge[7] = 0x7f; // header length beyond the file
        Files.write(file, huge);
        assertThatThrownBy(() -> SafetensorsFile.read(file)).hasMessageContaining("header length");
        String f16 = new String(good, StandardCharsets.ISO_8859_1).replace("F32", "F16");
        Files.write(file, f16.getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> SafetensorsFile.read(file))
                .hasMessageContaining("is F16, only F32");
    }

    private static float[] range(int from, int to) {
        float[] r = new float[to - from];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }
}
