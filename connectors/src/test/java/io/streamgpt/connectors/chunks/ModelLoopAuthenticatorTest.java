package io.streamgpt.connectors.chunks;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

class ModelLoopAuthenticatorTest {

    static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);

    @Test
    void aTagVerifiesItsValueOnItsTopicAndNothingElse() {
        ModelLoopAuthenticator auth = new ModelLoopAuthenticator(KEY);
        byte[] value =
                ModelChunkFormat.serialize(
                        new GlobalChunk(
                                new RoundId(0, 3),
                                2,
                                new Progress(30, 480, 2.5f),
                                new float[] {2.4f, 2.6f},
                                new Slice(0, 2, new float[] {1f, 2f})));
        byte[] tag = auth.sign("model", value);
        assertThat(tag).hasSize(ModelLoopAuthenticator.TAG_BYTES);
        assertThat(auth.verifies("model", value, tag)).isTrue();

        byte[] laterRound = value.clone();
        laterRound[2 + 4] = 4; // the round's low byte, in the header: 3 -> 4
        assertThat(auth.verifies("model", laterRound, tag)).as("header changed").isFalse();
        byte[] otherValue = value.clone();
        otherValue[value.length - 1] ^= 1; // last payload float's top byte
        assertThat(auth.verifies("model", otherValue, tag)).as("payload changed").isFalse();
        assertThat(auth.verifies("other-model", value, tag)).as("another topic").isFalse();
        assertThat(auth.verifies("model", value, Arrays.copyOf(tag, 16))).as("truncated").isFalse();
        assertThat(auth.verifies("model", value, null)).isFalse();

        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        assertThat(new ModelLoopAuthenticator(otherKey).verifies("model", value, tag))
                .as("another key")
                .isFalse();
    }
}
