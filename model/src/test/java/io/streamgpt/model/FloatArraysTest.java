package io.streamgpt.model;

import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;

class FloatArraysTest {

    @Test
    void theChecksumOfAVectorLongerThanOneBlockIsTheCrc32OfAllItsBigEndianBytes() {
        // 40,000 values: two whole blocks of 16,384 and a last one of 7,232
        float[] values = new float[40_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.25f - 3f;
        }
        CRC32 whole = new CRC32();
        whole.update(FloatArrays.toBytes(values, ByteOrder.BIG_ENDIAN));

        assertThat(FloatArrays.crc32(values)).isEqualTo(whole.getValue());
    }

    @Test
    void oneValueChangedInTheLastBlockChangesTheChecksum() {
        float[] values = new float[40_000];
        long before = FloatArrays.crc32(values);
        values[39_999] = 1f;

        assertThat(FloatArrays.crc32(values)).isNotEqualTo(before);
    }

    @Test
    void theChecksumOfNoValuesIsTheCrc32OfNoBytes() {
        assertThat(FloatArrays.crc32(new float[0])).isEqualTo(new CRC32().getValue());
    }
}
