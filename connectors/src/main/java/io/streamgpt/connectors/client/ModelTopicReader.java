package io.streamgpt.connectors.client;

import io.streamgpt.connectors.chunks.Fragments;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunkRejections;
import io.streamgpt.connectors.chunks.ModelChunkRejections.Reason;
import io.streamgpt.connectors.chunks.ModelLoopAuthenticator;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.connectors.chunks.VectorAssembly;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.ModelChunkRecords;
import io.streamgpt.connectors.kafka.TopicReader;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

/**
 * Finds the newest complete global model of a known parameter count on the model topic, for {@code
 * export}. Only the topic's tail is read: a verified record among the newest tells how many chunks
 * a round has, and the last three rounds' worth of records of every partition hold at least one
 * complete round (a partition receives the same chunk indices every round). "Newest" is the highest
 * {@link RoundId}: a restored job writes a higher generation.
 *
 * <p>Only records whose HMAC verifies under the job's key count, and every chunk must cut a vector
 * of the given parameter count: nothing is sized from a record field. At most {@value #ROUNDS_KEPT}
 * rounds are assembled at once (the oldest goes first).
 *
 * <p>With streamed fragments ({@code --sync-fragments F > 1}, {@link Fragments}) a round carries
 * only its fragment's chunks; the model is then the newest complete round of each fragment of the
 * newest generation, put together, named by the newest of those rounds. The tail of three rounds'
 * worth of chunks holds about 3 F fragment rounds, at least two of every fragment.
 */
public final class ModelTopicReader {

    /** Records read per partition to find the chunk count. */
    static final int PROBED = 16;

    /** Rounds assembled at once: the tail's three and one more. */
    static final int ROUNDS_KEPT = 4;

    /**
     * A complete global model version, and what was dropped on the way.
     *
     * @param rejected records dropped, by reason
     */
    public record Newest(
            RoundId version, long step, float[] parameters, ModelChunkRejections rejected) {}

    private ModelTopicReader() {}

    /**
     * @param parameters the model's parameter count, as the caller's model options give it
     * @throws IllegalStateException if the topic is missing, empty or holds no complete, verified
     *     round
     * @throws IllegalArgumentException if its verified chunks cut a model of another size
     */
    public static Newest newest(
            KafkaClientSettings kafka,
            String topic,
            ModelLoopAuthenticator verifier,
            int parameters,
            Duration timeout) {
        return newest(kafka, topic, verifier, parameters, 1, timeout);
    }

    /**
     * @param fragments F, the job's {@code --sync-fragments}: 1 for rounds of the whole vector
     */
    public static Newest newest(
            KafkaClientSettings kafka,
            String topic,
            ModelLoopAuthenticator verifier,
            int parameters,
            int fragments,
            Duration timeout) {
        ModelChunkRejections rejected = new ModelChunkRejections();
        try (TopicReader reader = TopicReader.open(kafka)) {
            // the newest verified chunk tells the chunk count; a few records per partition, not
            // one, so that a forged record at a partition's end does not hide the job's
            GlobalChunk last =
                    reader.readNewest(topic, PROBED, timeout).stream()
                            .map(r -> ModelChunkRecords.verified(r, verifier, rejected))
                            .filter(c -> c instanceof GlobalChunk)
                            .map(c -> (GlobalChunk) c)
                            .findFirst()
                            .orElse(null);
            if (last == null) {
                throw new IllegalStateException(
                        "the model topic "
                                + topic
                                + " holds no verified model chunks"
                                + dropped(rejected)
                                + ": has the job completed a sync round?");
            }
            int chunkCount = last.slice().count();
            if (chunkCount > parameters) { // each chunk has a value
                throw mismatch(topic, parameters, last.slice());
            }
            if (fragments > chunkCount) {
                throw new IllegalArgumentException(
                        "--sync-fragments "
                                + fragments
                                + " exceeds the "
                                + chunkCount
                                + " chunks of the model on "
                                + topic);
            }
            return assemble(
                    reader,
                    topic,
                    verifier,
                    parameters,
                    new Fragments(fragments, chunkCount),
                    last,
                    rejected,
                    timeout);
        }
    }

    /** One complete round of a fragment (the whole vector with 1 fragment). */
    private record FragmentRound(RoundId version, long step, int firstValue, float[] values) {}

    /**
     * The whole model from the newest complete round of each fragment, read from the topic's last 3
     * x chunk count records. With one fragment a round is the whole vector, and its chunk size is
     * its own (told by its first chunk), so that one odd chunk spoils its round only; with F > 1 a
     * round r carries fragment r mod F of the newest chunking, and the newest round of each
     * fragment, all of one generation, are put together.
     */
    private static Newest assemble(
            TopicReader reader,
            String topic,
            ModelLoopAuthenticator verifier,
            int parameters,
            Fragments fragments,
            GlobalChunk last,
            ModelChunkRejections rejected,
            Duration timeout) {
        int count = fragments.count();
        int chunkCount = last.slice().count();
        boolean anyFits = false;
        TreeMap<RoundId, VectorAssembly> partial = new TreeMap<>();
        TreeMap<RoundId, Long> steps = new TreeMap<>(); // from each round's first chunk
        FragmentRound[] newest = new FragmentRound[count];
        List<ConsumerRecord<byte[], byte[]>> tail =
                reader.readNewest(topic, 3 * chunkCount, timeout);
        for (ConsumerRecord<byte[], byte[]> record : tail) {
            if (!(ModelChunkRecords.verified(record, verifier, rejected)
                    instanceof GlobalChunk chunk)) {
                continue;
            }
            Slice slice = chunk.slice();
            RoundId version = chunk.version();
            int fragment = fragments.ofRound(version.round());
            VectorAssembly round = partial.get(version);
            int size = round != null ? round.chunkSize() : chunkSize(parameters, slice);
            if (size <= 0
                    || VectorAssembly.misfit(parameters, size, slice) != null
                    || (count > 1
                            && (slice.count() != chunkCount
                                    || fragments.ofChunk(slice.index()) != fragment))) {
                rejected.reject(Reason.LAYOUT);
                continue;
            }
            anyFits = true;
            FragmentRound done = newest[fragment];
            if (done != null && version.compareTo(done.version()) <= 0) {
                rejected.reject(Reason.STALE);
                continue;
            }
            if (round == null) {
                if (partial.size() == ROUNDS_KEPT * count) {
                    rejected.reject(Reason.TOO_MANY_ROUNDS);
                    if (version.compareTo(partial.firstKey()) < 0) {
                        continue;
                    }
                    steps.remove(partial.pollFirstEntry().getKey());
                }
                round =
                        count == 1
                                ? new VectorAssembly(parameters, size)
                                : new VectorAssembly(
                                        parameters,
                                        size,
                                        fragments.firstChunk(fragment),
                                        fragments.endChunk(fragment));
                partial.put(version, round);
            }
            round.add(slice);
            if (slice.index() == fragments.firstChunk(fragment)) {
                steps.put(version, chunk.progress().step());
            }
            if (round.complete()) {
                newest[fragment] =
                        new FragmentRound(
                                version,
                                steps.getOrDefault(version, chunk.progress().step()),
                                round.firstValue(),
                                round.values());
                partial.remove(version);
                steps.remove(version);
                if (count == 1) { // older rounds of the whole vector can only be stale now
                    partial.headMap(version).keySet().forEach(steps::remove);
                    partial.headMap(version).clear();
                }
            }
        }
        if (newest[0] == null && !anyFits && rejected.count(Reason.LAYOUT) > 0) {
            throw mismatch(topic, parameters, last.slice());
        }
        int generation =
                java.util.Arrays.stream(newest)
                        .filter(java.util.Objects::nonNull)
                        .mapToInt(f -> f.version().generation())
                        .max()
                        .orElse(-1);
        float[] whole = count == 1 ? null : new float[parameters];
        FragmentRound head = null;
        for (int f = 0; f < count; f++) {
            FragmentRound round = newest[f];
            if (round == null || round.version().generation() != generation) {
                throw new IllegalStateException(
                        (count == 1
                                        ? "no complete model round of " + parameters + " parameters"
                                        : "no complete round of fragment "
                                                + f
                                                + " of "
                                                + count
                                                + " (generation "
                                                + generation
                                                + ")")
                                + " in the last "
                                + tail.size()
                                + " records of "
                                + topic
                                + " (dropped: "
                                + counts(rejected)
                                + ")"
                                + dropped(rejected));
            }
            if (whole != null) {
                System.arraycopy(
                        round.values(), 0, whole, round.firstValue(), round.values().length);
            }
            if (head == null || round.version().compareTo(head.version()) > 0) {
                head = round;
            }
        }
        return new Newest(
                head.version(), head.step(), whole == null ? head.values() : whole, rejected);
    }

    /**
     * The chunk size that makes {@code slice} a piece of a {@code parameters}-value vector: its
     * length if it is not the last piece, else what leaves it as the remainder; 0 if none does.
     */
    static int chunkSize(int parameters, Slice slice) {
        int length = slice.values().length;
        if (slice.index() < slice.count() - 1) {
            return length;
        }
        if (slice.count() == 1) {
            return length == parameters ? parameters : 0;
        }
        int rest = parameters - length; // (count - 1) full chunks before the last
        return rest > 0 && rest % (slice.count() - 1) == 0 ? rest / (slice.count() - 1) : 0;
    }

    private static IllegalArgumentException mismatch(String topic, int parameters, Slice slice) {
        return new IllegalArgumentException(
                "the model chunks on "
                        + topic
                        + " do not cut a model of "
                        + String.format(Locale.ROOT, "%,d", parameters)
                        + " parameters (chunk "
                        + slice.index()
                        + "/"
                        + slice.count()
                        + " has "
                        + slice.values().length
                        + " values)");
    }

    private static String counts(ModelChunkRejections rejected) {
        StringBuilder out = new StringBuilder();
        for (Reason reason : Reason.values()) {
            if (rejected.count(reason) > 0) {
                out.append(out.isEmpty() ? "" : ", ")
                        .append(reason.name().toLowerCase(Locale.ROOT))
                        .append(' ')
                        .append(rejected.count(reason));
            }
        }
        return out.isEmpty() ? "none" : out.toString();
    }

    private static String dropped(ModelChunkRejections rejected) {
        long unverified = rejected.count(Reason.UNSIGNED) + rejected.count(Reason.BAD_SIGNATURE);
        return unverified == 0
                ? ""
                : " ("
                        + unverified
                        + " records failed HMAC verification: is --model-secret the job's?)";
    }
}
