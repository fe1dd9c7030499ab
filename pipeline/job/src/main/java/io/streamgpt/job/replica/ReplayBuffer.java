package io.streamgpt.job.replica;

import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.model.TokenCorpus;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Random;

/**
 * A replica's bounded memory of training text: contiguous runs of tokens, so that training examples
 * can start at any token offset as the reference's random offsets into the corpus do.
 *
 * <p>Consecutive windows of a partition overlap and extend the same run; a gap (a held-out window,
 * another partition, or windows routed to another replica) starts a new run. Batches are sampled
 * uniformly over every valid start position of every run. When the buffer exceeds its capacity the
 * oldest tokens are dropped.
 */
public final class ReplayBuffer {

    /** Tokens of one source partition from stream offset {@code start}, contiguous. */
    public record Run(String source, long start, int[] tokens) {
        long end() {
            return start + tokens.length;
        }
    }

    private final long capacity;
    private final Deque<Run> runs = new ArrayDeque<>();
    private long size;
    private List<Run> index; // sampling index, null when the runs changed
    private long[] indexCumulative;
    private int indexBlockSize;

    public ReplayBuffer(long capacityTokens) {
        if (capacityTokens < 1) {
            throw new IllegalArgumentException(
                    "buffer capacity must be >= 1 token, got " + capacityTokens);
        }
        this.capacity = capacityTokens;
    }

    /** Adds a window's tokens: extends the newest run when the window continues it. */
    public void add(TokenWindow window) {
        index = null;
        Run last = runs.peekLast();
        long windowEnd = window.position() + window.tokens().length;
        if (last != null
                && last.source().equals(window.source())
                && window.position() <= last.end()
                && windowEnd > last.end()) {
            int skip = (int) (last.end() - window.position());
            int[] merged =
                    Arrays.copyOf(
                            last.tokens(), last.tokens().length + window.tokens().length - skip);
            System.arraycopy(
                    window.tokens(),
                    skip,
                    merged,
                    last.tokens().length,
                    window.tokens().length - skip);
            runs.pollLast();
            runs.addLast(new Run(last.source(), last.start(), merged));
            size += window.tokens().length - skip;
        } else if (last == null
                || !(last.source().equals(window.source())
                        && windowEnd <= last.end()
                        && window.position() >= last.start())) {
            runs.addLast(new Run(window.source(), window.position(), window.tokens().clone()));
            size += window.tokens().length;
        }
        evict();
    }

    private void evict() {
        while (size > capacity) {
            Run oldest = runs.pollFirst();
            long excess = size - capacity;
            if (excess < oldest.tokens().length) {
                int drop = (int) excess;
                runs.addFirst(
                        new Run(
                                oldest.source(),
                                oldest.start() + drop,
                                Arrays.copyOfRange(oldest.tokens(), drop, oldest.tokens().length)));
                size -= drop;
            } else {
                size -= oldest.tokens().length;
            }
        }
    }

    long size() {
        return size;
    }

    long capacity() {
        return capacity;
    }

    /**
     * A batch of windows at uniformly random start positions over all runs; null when no run is
     * long enough yet.
     */
    public TokenCorpus.Batch sample(Random random, int batchSize, int blockSize) {
        if (index == null || indexBlockSize != blockSize) {
            buildIndex(blockSize);
        }
        List<Run> usable = index;
        long[] cumulative = indexCumulative;
        long total = usable.isEmpty() ? 0 : cumulative[usable.size() - 1];
        if (total == 0) {
            return null;
        }
        long[] inputs = new long[batchSize * blockSize];
        long[] targets = new long[batchSize * blockSize];
        for (int b = 0; b < batchSize; b++) {
            long pick = (long) (random.nextDouble() * total);
            int r = Arrays.binarySearch(cumulative, 0, usable.size(), pick + 1);
            r = r >= 0 ? r : -r - 1;
            int[] tokens = usable.get(r).tokens();
            int offset = (int) (pick - (r == 0 ? 0 : cumulative[r - 1]));
            for (int t = 0; t < blockSize; t++) {
                inputs[b * blockSize + t] = tokens[offset + t];
                targets[b * blockSize + t] = tokens[offset + t + 1];
            }
        }
        return new TokenCorpus.Batch(inputs, targets, batchSize, blockSize);
    }

    /** The runs, oldest first, for checkpoints. */
    public List<Run> runs() {
        return List.copyOf(runs);
    }

    /**
     * The runs long enough to sample from and the running count of their start positions. Built
     * once per change of the buffer, not once per training step.
     */
    private void buildIndex(int blockSize) {
        List<Run> usable = new ArrayList<>();
        long[] cumulative = new long[runs.size()];
        long total = 0;
        for (Run run : runs) {
            int starts = Math.max(0, run.tokens().length - blockSize);
            if (starts > 0) {
                total += starts;
                cumulative[usable.size()] = total;
                usable.add(run);
            }
        }
        index = usable;
        indexCumulative = cumulative;
        indexBlockSize = blockSize;
    }

    /** Writes the runs, oldest first, for checkpoints. */
    public static void writeRuns(java.io.DataOutputStream out, List<Run> runs)
            throws java.io.IOException {
        out.writeInt(runs.size());
        for (Run run : runs) {
            out.writeUTF(run.source());
            out.writeLong(run.start());
            out.writeInt(run.tokens().length);
            for (int t : run.tokens()) {
                out.writeInt(t);
            }
        }
    }

    /** Reads what {@link #writeRuns} wrote. */
    public static List<Run> readRuns(java.io.DataInputStream in) throws java.io.IOException {
        int count = in.readInt();
        List<Run> runs = new ArrayList<>(count);
        for (int r = 0; r < count; r++) {
            String source = in.readUTF();
            long start = in.readLong();
            int[] tokens = new int[in.readInt()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = in.readInt();
            }
            runs.add(new Run(source, start, tokens));
        }
        return runs;
    }

    public void restore(List<Run> saved) {
        index = null;
        runs.clear();
        size = 0;
        for (Run run : saved) {
            runs.addLast(run);
            size += run.tokens().length;
        }
        evict();
    }
}
