package io.streamgpt.job.input;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Cuts one partition's token stream into windows of {@code width} tokens every {@code stride}
 * tokens, keeping the tail that does not fill a window yet for the next record.
 *
 * <p>Accounting: every emitted window advances the stream by {@code stride} tokens, so at any time
 * {@code tokensIn == windows * stride + tail}: no token is lost or counted twice.
 */
public final class TokenWindower {

    private final String source;
    private final int width;
    private final int stride;
    private int[] tail;
    private long tailPosition; // stream offset of tail[0]
    private long windows;

    TokenWindower(String source, int width, int stride, State state) {
        if (width < 2 || stride < 1 || stride > width) {
            throw new IllegalArgumentException(
                    "window width must be >= 2 and stride in [1, width], got "
                            + width
                            + "/"
                            + stride);
        }
        this.source = source;
        this.width = width;
        this.stride = stride;
        this.tail = state == null ? new int[0] : state.tail();
        this.tailPosition = state == null ? 0 : state.tailPosition();
        this.windows = state == null ? 0 : state.windows();
    }

    /** What survives a checkpoint: the tail and the counters. */
    public record State(int[] tail, long tailPosition, long windows) {}

    /** Appends tokens and emits every window they complete. */
    void add(int[] tokens, Consumer<TokenWindow> emit) {
        add(tokens, TokenWindow.UNKNOWN, TokenWindow.UNKNOWN, emit);
    }

    /**
     * Appends the tokens of the Kafka record before {@code nextOffset}, with {@code timestampMs},
     * and emits every window they complete, each naming that record: the newest whose tokens it
     * holds. (Tokens a window carries over from an older record's tail are named by this one.)
     */
    void add(int[] tokens, long nextOffset, long timestampMs, Consumer<TokenWindow> emit) {
        if (tokens.length == 0) {
            return;
        }
        int[] buffer = Arrays.copyOf(tail, tail.length + tokens.length);
        System.arraycopy(tokens, 0, buffer, tail.length, tokens.length);
        int start = 0;
        while (buffer.length - start >= width) {
            emit.accept(
                    new TokenWindow(
                            source,
                            tailPosition,
                            windows,
                            Arrays.copyOfRange(buffer, start, start + width),
                            nextOffset,
                            timestampMs));
            windows++;
            start += stride;
            tailPosition += stride;
        }
        tail = Arrays.copyOfRange(buffer, start, buffer.length);
    }

    State state() {
        return new State(tail, tailPosition, windows);
    }
}
