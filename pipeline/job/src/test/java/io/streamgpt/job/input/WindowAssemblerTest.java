package io.streamgpt.job.input;

import io.streamgpt.connectors.records.TextRecord;
import io.streamgpt.connectors.records.Utf8Text;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tokenizing and windowing as a Flink operator: exact accounting over messy records of two
 * partitions.
 */
class WindowAssemblerTest {

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    @Test
    void everyTokenLandsInExactlyTheWindowsItShould() throws Exception {
        Vocabulary vocabulary = Vocabulary.named("shakespeare");
        Random random = new Random(7);
        String alphabet = "abcdefgh ijk\nLMNOP,.;!?é€😀"; // é, €, 😀 are outside the vocabulary
        List<TextRecord> records = new ArrayList<>();
        Map<String, List<Integer>> streams = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            int partition = random.nextInt(2);
            StringBuilder text = new StringBuilder();
            for (int c = random.nextInt(60); c > 0; c--) {
                text.appendCodePoint(
                        alphabet.codePointAt(
                                alphabet.offsetByCodePoints(
                                        0,
                                        random.nextInt(
                                                alphabet.codePointCount(0, alphabet.length())))));
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.writeBytes(text.toString().getBytes(StandardCharsets.UTF_8));
            if (i % 37 == 0) {
                bytes.write(0xff); // a malformed byte: counted, skipped
            }
            TextRecord record = new TextRecord("text", partition, i, bytes.toByteArray());
            records.add(record);
            for (int id : vocabulary.encode(Utf8Text.decode(record.value()).text())) {
                streams.computeIfAbsent(record.source(), s -> new ArrayList<>()).add(id);
            }
        }
        int blockSize = 16;
        int stride = 12;

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        SingleOutputStreamOperator<TokenWindow> train =
                env.fromData(records)
                        .keyBy(TextRecord::source)
                        .process(
                                new WindowAssembler(
                                        vocabulary, blockSize, stride, 1 << 20, "dead-letters"));
        DataStream<TokenWindow> heldOut = train.getSideOutput(WindowAssembler.HELD_OUT);
        List<String> out = new ArrayList<>();
        train.map(
                        w ->
                                "T "
                                        + w.source()
                                        + " "
                                        + w.index()
                                        + " "
                                        + w.position()
                                        + " "
                                        + encode(w.tokens()))
                .union(
                        heldOut.map(
                                w ->
                                        "V "
                                                + w.source()
                                                + " "
                                                + w.index()
                                                + " "
                                                + w.position()
                                                + " "
                                                + encode(w.tokens())))
                .executeAndCollect()
                .forEachRemaining(out::add);

        Set<String> seen = new HashSet<>();
        Map<String, Integer> windowsPerSource = new HashMap<>();
        for (String line : out) {
            String[] f = line.split(" ", 5);
            String source = f[1];
            long index = Long.parseLong(f[2]);
            long position = Long.parseLong(f[3]);
            assertThat(seen.add(source + "#" + index))
                    .as("window %s#%d emitted once", source, index)
                    .isTrue();
            assertThat(f[0]).isEqualTo(index % 10 == 9 ? "V" : "T");
            assertThat(position).isEqualTo(index * stride);
            List<Integer> stream = streams.get(source);
            assertThat(f[4])
                    .isEqualTo(
                            encode(
                                    stream
                                            .subList((int) position, (int) position + blockSize + 1)
                                            .stream()
                                            .mapToInt(Integer::intValue)
                                            .toArray()));
            windowsPerSource.merge(source, 1, Integer::sum);
        }
        for (var entry : streams.entrySet()) {
            int n = entry.getValue().size();
            int expected = n < blockSize + 1 ? 0 : (n - (blockSize + 1)) / stride + 1;
            assertThat(windowsPerSource.getOrDefault(entry.getKey(), 0))
                    .as(entry.getKey())
                    .isEqualTo(expected);
            int tail = n - expected * stride; // tokens in = windows * stride + tail, the tail
            // shorter than a window
            assertThat(tail).isBetween(0, blockSize);
        }
    }

    private static String encode(int[] tokens) {
        StringBuilder s = new StringBuilder();
        for (int t : tokens) {
            s.append(t).append(',');
        }
        return s.toString();
    }
}
