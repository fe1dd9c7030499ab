package io.streamgpt.job.replica;

import io.streamgpt.job.config.ReplicaConfig.ReplayPolicy;
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
 * another partition, or windows routed to another replica) starts a new run. With the {@code
 * UNIFORM} policy batches are sampled uniformly over every valid start position of every run; with
 * {@code RECENT} a start is drawn with a probability that halves every {@code halfLife} tokens of
 * age (see {@link #sample}). When the buffer exceeds its capacity the oldest tokens are dropped.
 */
public final class ReplayBuffer {

    /** Tokens of one source partition from stream offset {@code start}, contiguous. */
    public record Run(String source, long start, int[] tokens) {
        long end() {
            return start + tokens.length;
        }
    }

    private final long capacity;
    private final ReplayPolicy policy;
    private final double decayPerToken; // lambda = ln 2 / halfLife, RECENT only
    private final Deque<Run> runs = new ArrayDeque<>();
    private long size;
    private List<Run> index; // sampling index, null when the runs changed
    private long[] indexCumulative;
    private int indexBlockSize;
    private double[] indexWeights; // RECENT: running sum of the usable runs' weights

    /** A buffer sampled uniformly. */
    public ReplayBuffer(long capacityTokens) {
        this(capacityTokens, ReplayPolicy.UNIFORM, 1);
    }

    /**
     * @param halfLifeTokens with {@code RECENT}: the age in buffered tokens at which a start's
     *     weight is half the newest's; unused with {@code UNIFORM}
     */
    public ReplayBuffer(long capacityTokens, ReplayPolicy policy, long halfLifeTokens) {
        if (capacityTokens < 1) {
            throw new IllegalArgumentException(
                    "buffer capacity must be >= 1 token, got " + capacityTokens);
        }
        if (halfLifeTokens < 1) {
            throw new IllegalArgumentException(
                    "replay half-life must be >= 1 token, got " + halfLifeTokens);
        }
        this.capacity = capacityTokens;
        this.policy = policy;
        this.decayPerToken = Math.log(2) / halfLifeTokens;
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
        if (policy == ReplayPolicy.RECENT) {
            return sampleRecent(random, batchSize, blockSize);
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

    /**
     * RECENT: a start's age {@code a} is the number of buffered tokens from it to the newest end,
     * counted over all runs in arrival order (runs are appended, and only the newest one grows, so
     * the buffer's tokens oldest-to-newest are the order they arrived in; nothing extra needs
     * checkpointing). A start is drawn with probability
     *
     * <pre>
     *   P(start) = w(a) / W,   w(a) = 2^(-a / H) = q^a,   q = exp(-lambda),  lambda = ln 2 / H
     * </pre>
     *
     * <p>A run's n starts, newest first, have ages a0, a0 + 1, ..., a0 + n - 1, so its weight is a
     * geometric sum {@code q^a0 (1 - q^n) / (1 - q)}. A draw picks a run by the running sums of
     * these, then inverts the run's own sum: with {@code u} uniform in [0, 1) of the run's weight,
     * the i-th newest start is the first i with {@code (1 - q^(i+1)) / (1 - q^n) > u}, that is
     * {@code i = floor(ln(1 - u (1 - q^n)) / ln q)}. Weights are relative to the newest token, so
     * they never overflow; starts older than ~1000 half-lives weigh 0.
     */
    private TokenCorpus.Batch sampleRecent(Random random, int batchSize, int blockSize) {
        List<Run> usable = index;
        double[] cumulative = indexWeights;
        int count = usable.size();
        double total = count == 0 ? 0 : cumulative[count - 1];
        if (count == 0 || !(total > 0)) {
            return null;
        }
        double logQ = -decayPerToken; // ln q
        long[] inputs = new long[batchSize * blockSize];
        long[] targets = new long[batchSize * blockSize];
        for (int b = 0; b < batchSize; b++) {
            double pick = random.nextDouble() * total;
            int r = Arrays.binarySearch(cumulative, 0, count, pick);
            r = r >= 0 ? Math.min(r + 1, count - 1) : Math.min(-r - 1, count - 1);
            double before = r == 0 ? 0 : cumulative[r - 1];
            double runWeight = cumulative[r] - before;
            double u = Math.min(Math.max((pick - before) / runWeight, 0), 1); // within the run
            Run run = usable.get(r);
            int starts = run.tokens().length - blockSize;
            double oneMinusQPowN = -Math.expm1(logQ * starts); // 1 - q^n
            int newest = (int) Math.floor(Math.log1p(-u * oneMinusQPowN) / logQ);
            newest = Math.min(Math.max(newest, 0), starts - 1);
            int offset = starts - 1 - newest; // i-th newest start of the run
            int[] tokens = run.tokens();
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
        if (policy == ReplayPolicy.RECENT) {
            buildRecentIndex(blockSize);
        }
    }

    /**
     * RECENT: the running sum of the usable runs' weights {@code q^a0 (1 - q^n) / (1 - q)}, oldest
     * run first, where a0 is the age of the run's newest start: the tokens from it to the buffer's
     * newest end, {@code size - (tokens before the run) - (n - 1)}.
     */
    private void buildRecentIndex(int blockSize) {
        double[] weights = new double[runs.size()];
        double oneMinusQ = -Math.expm1(-decayPerToken);
        double total = 0;
        long before = 0; // tokens of older runs, usable or not
        int u = 0;
        for (Run run : runs) {
            int starts = Math.max(0, run.tokens().length - blockSize);
            if (starts > 0) {
                long age = size - before - (starts - 1);
                // q^a0 (1 - q^n) / (1 - q)
                total +=
                        Math.exp(-decayPerToken * age)
                                * -Math.expm1(-decayPerToken * starts)
                                / oneMinusQ;
                weights[u++] = total;
            }
            before += run.tokens().length;
        }
        indexWeights = weights;
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
