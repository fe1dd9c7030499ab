package io.streamgpt.connectors.records;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class Utf8TextTest {

    @Test
    void validTextDecodesUnchanged() {
        String text = "To be, or not 😀 é€";
        assertThat(Utf8Text.decode(text.getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(new Utf8Text.Decoded(text, 0));
        assertThat(Utf8Text.decode(new byte[0])).isEqualTo(new Utf8Text.Decoded("", 0));
    }

    @Test
    void malformedBytesAreSkippedAndCounted() {
        byte[] bytes = {'a', (byte) 0xff, 'b', (byte) 0xe2, (byte) 0x82, 'c', (byte) 0xc3};
        Utf8Text.Decoded decoded = Utf8Text.decode(bytes);
        assertThat(decoded.text()).isEqualTo("abc");
        assertThat(decoded.malformedBytes()).isEqualTo(4);
    }
}
