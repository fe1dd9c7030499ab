package io.streamgpt.connectors.records;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Decodes record values as UTF-8, skipping and counting malformed bytes instead of failing. */
public final class Utf8Text {

    /** Decoded text and the number of bytes that were not valid UTF-8. */
    public record Decoded(String text, int malformedBytes) {}

    private Utf8Text() {}

    public static Decoded decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            return new Decoded("", 0);
        }
        CharsetDecoder decoder =
                StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        int malformed = 0;
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            if (result.isError()) {
                malformed += result.length();
                in.position(in.position() + result.length());
            } else {
                break; // underflow: all input consumed (out can hold as many chars as there are
                // bytes)
            }
        }
        decoder.flush(out);
        out.flip();
        return new Decoded(out.toString(), malformed);
    }
}
