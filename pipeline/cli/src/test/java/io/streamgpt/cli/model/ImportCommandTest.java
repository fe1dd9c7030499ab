package io.streamgpt.cli.model;

import io.streamgpt.cli.CliRun;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.ParameterLayout;
import io.streamgpt.model.SafetensorsFile;
import io.streamgpt.model.SafetensorsModel;
import io.streamgpt.model.Vocabulary;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code import} of a safetensors file and what it does with the file's lineage metadata. */
class ImportCommandTest {

    private static final GptConfig SMALL = new GptConfig(65, 16, 2, 2, 32, 0.0);

    private static ModelFile.Contents contents() throws IOException {
        return new ModelFile.Contents(
                SMALL,
                Vocabulary.named("shakespeare"),
                ParameterLayout.of(SMALL).initialValues(3),
                5);
    }

    @Test
    void aVersionOnlyLineageIsCarriedAndNamedAsSuch(@TempDir Path dir) throws Exception {
        // what export writes for a job that published no lineage record: generation and round
        Path from = dir.resolve("versioned.safetensors");
        SafetensorsModel.save(from, contents(), Map.of("generation", 2, "round", 7));
        Path out = dir.resolve("versioned.sgpt");

        CliRun result = CliRun.of("import", "--from", from.toString(), "--out", out.toString());

        assertThat(result.exit()).as(result.err()).isEqualTo(0);
        assertThat(result.out())
                .contains("lineage: the file names its version only (generation 2, round 7)")
                .doesNotContain("losses topic"); // export's wording, not import's
        assertThat(ModelFile.lineage(out)).containsEntry("generation", 2).containsEntry("round", 7);
    }

    @Test
    void lineageMetadataThatIsNotJsonIsWarnedAboutAndLeftOut(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("good.safetensors");
        SafetensorsModel.save(good, contents(), Map.of());
        // the same tensors behind a lineage entry that is not JSON
        SafetensorsFile.Contents file = SafetensorsFile.read(good);
        Map<String, String> metadata = new HashMap<>(file.metadata());
        metadata.put(SafetensorsModel.LINEAGE, "{\"generation\": 2, \"round\":");
        Path from = dir.resolve("bad-lineage.safetensors");
        SafetensorsFile.write(from, metadata, List.copyOf(file.tensors().values()));
        Path out = dir.resolve("bad-lineage.sgpt");

        CliRun result = CliRun.of("import", "--from", from.toString(), "--out", out.toString());

        assertThat(result.exit()).as(result.err()).isEqualTo(0);
        assertThat(result.err())
                .contains("warning: " + from + ": its lineage metadata is not JSON");
        assertThat(result.out()).contains("imported " + from).doesNotContain("lineage:");
        assertThat(ModelFile.lineage(out)).isEmpty();
        assertThat(ModelFile.load(out).parameters())
                .containsExactly(ParameterLayout.of(SMALL).initialValues(3));
    }
}
