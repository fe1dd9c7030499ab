package io.streamgpt.connectors.client;

import io.streamgpt.model.GptConfig;
import io.streamgpt.model.Vocabulary;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The metadata record: versioned JSON read back exactly, and the differences it names. */
class ModelMetadataTest {

    private static final GptConfig SHAPE = new GptConfig(5, 16, 1, 2, 32, 0.0);
    private static final Vocabulary VOCAB = Vocabulary.ofText("\nab\u00e9\uD83D\uDE00");

    @Test
    void itReadsBackWhatItWroteAndNamesEachDifference() {
        ModelMetadata written =
                new ModelMetadata(
                        "m", SHAPE, VOCAB, 1000, Map.of("n-head", "2", "chunk-size", "1000"), 7L);
        String json = new String(written.toJson(), StandardCharsets.UTF_8);
        assertThat(json).startsWith("{\"format\":1,\"model_topic\":\"m\",\"config\":{");
        ModelMetadata read = ModelMetadata.fromJson(written.toJson());
        assertThat(read).usingRecursiveComparison().isEqualTo(written);
        assertThat(read.sameModel(written)).isTrue();

        assertThat(written.mismatch(SHAPE, VOCAB)).isNull();
        // 4 heads of 8 have the parameters of 2 heads of 16: only the metadata tells them apart
        assertThat(written.mismatch(SHAPE.with(GptConfig.N_HEAD, 4), Vocabulary.ofText("\nabcd")))
                .isEqualTo(
                        "n-head 4 (given) vs 2 (the job's), vocab chars(5) (given) vs chars(5)"
                                + " (the job's)");
    }

    @Test
    void itSaysHowManyStreamedFragmentsTheTopicCarriesAndOneWhenAnOlderJobDidNot() {
        ModelMetadata fragmented =
                new ModelMetadata(
                        "m", SHAPE, VOCAB, 1000, Map.of(ModelMetadata.FRAGMENTS_OPTION, "2"), 7L);
        assertThat(ModelMetadata.fromJson(fragmented.toJson()).fragments()).isEqualTo(2);
        ModelMetadata older = new ModelMetadata("m", SHAPE, VOCAB, 1000, Map.of(), 7L);
        assertThat(ModelMetadata.fromJson(older.toJson()).fragments()).isEqualTo(1);
        ModelMetadata broken =
                new ModelMetadata(
                        "m", SHAPE, VOCAB, 1000, Map.of(ModelMetadata.FRAGMENTS_OPTION, "0"), 7L);
        assertThatThrownBy(broken::fragments)
                .hasMessageContaining("model metadata of m: sync-fragments 0");
    }

    @Test
    void anotherFormatIsRefused() {
        assertThatThrownBy(
                        () ->
                                ModelMetadata.fromJson(
                                        "{\"format\":2}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("model metadata of format 2, this build reads 1");
    }
}
