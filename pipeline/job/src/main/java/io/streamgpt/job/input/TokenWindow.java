package io.streamgpt.job.input;

/**
 * block_size+1 consecutive tokens of one source partition.
 *
 * @param source the Kafka topic-partition the tokens came from
 * @param position offset of the first token in that partition's token stream
 * @param index the window's number within its partition (0, 1, 2, ...)
 * @param tokens the token ids
 * @param nextOffset the Kafka offset after the text record that completed the window (its newest
 *     tokens' record, offset + 1, Kafka's "next offset" convention); {@link #UNKNOWN} if not known
 * @param timestampMs that record's Kafka timestamp; {@link #UNKNOWN} if not known
 */
public record TokenWindow(
        String source, long position, long index, int[] tokens, long nextOffset, long timestampMs) {

    /** A Kafka offset or timestamp that is not known. */
    public static final long UNKNOWN = -1;

    /** A window whose source record is not known. */
    public TokenWindow(String source, long position, long index, int[] tokens) {
        this(source, position, index, tokens, UNKNOWN, UNKNOWN);
    }

    /** Every tenth window, by position in its partition, is held out for validation. */
    public boolean heldOut() {
        return index % 10 == 9;
    }
}
