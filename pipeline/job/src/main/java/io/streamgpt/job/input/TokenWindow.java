package io.streamgpt.job.input;

/**
 * block_size+1 consecutive tokens of one source partition.
 *
 * @param source the Kafka topic-partition the tokens came from
 * @param position offset of the first token in that partition's token stream
 * @param index the window's number within its partition (0, 1, 2, ...)
 * @param tokens the token ids
 */
public record TokenWindow(String source, long position, long index, int[] tokens) {

    /** Every tenth window, by position in its partition, is held out for validation. */
    public boolean heldOut() {
        return index % 10 == 9;
    }
}
