package io.streamgpt.job.input;

import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TextRecord;
import io.streamgpt.connectors.records.TopicRecord;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tokenizes the text of one source partition (the key) and cuts it into windows of block_size+1
 * tokens. The tail that does not fill a window yet is keyed state, so windows span record
 * boundaries and survive restarts with no token lost or repeated. Every tenth window is held out
 * for validation on a side output.
 *
 * <p>Bad records ({@link RecordTokenizer} says which) never stop the job: what can be trained on
 * is, the rest is counted, and each bad record gets one dead-letter record (its topic, partition,
 * offset and the reason) on a second side output bound for the dead-letter topic. Records whose
 * only problem is characters outside the vocabulary are the exception: their dead letters are
 * sampled, at most one per subtask every 10 s with the count since the last ({@link
 * UnknownCharacterWatch}), and the share of unknown characters is a gauge, unknown_character_rate.
 */
public final class WindowAssembler extends KeyedProcessFunction<String, TextRecord, TokenWindow> {

    public static final OutputTag<TokenWindow> HELD_OUT =
            new OutputTag<>("held-out", TypeInformation.of(TokenWindow.class));

    /**
     * Dead-letter records ({@link Reports.DeadLetter} as JSON), already addressed to the
     * dead-letter topic.
     */
    public static final OutputTag<TopicRecord> DEAD_LETTERS =
            new OutputTag<>("dead-letters", TypeInformation.of(TopicRecord.class));

    private static final Logger LOG = LoggerFactory.getLogger(WindowAssembler.class);

    private final RecordTokenizer tokenizer;
    private final String deadLetterTopic;
    private final int width;
    private final int stride;

    private transient ValueState<TokenWindower.State> windowerState;
    private transient Counter records;
    private transient Counter tokens;
    private transient Counter windows;
    private transient Counter heldOut;
    private transient Counter unknownCharacters;
    private transient Counter charactersIn;
    private transient UnknownCharacterWatch unknownWatch;
    private transient Counter malformedBytes;
    private transient Counter controlCharacters;
    private transient Counter emptyRecords;
    private transient Counter oversizedRecords;
    private transient Counter deadLetters;

    public WindowAssembler(
            Vocabulary vocabulary,
            int blockSize,
            int stride,
            int maxRecordBytes,
            String deadLetterTopic) {
        this.tokenizer = new RecordTokenizer(vocabulary, maxRecordBytes);
        this.deadLetterTopic = deadLetterTopic;
        this.width = blockSize + 1;
        this.stride = stride;
    }

    @Override
    public void open(OpenContext context) {
        windowerState =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "windower", TypeInformation.of(TokenWindower.State.class)));
        var metrics = getRuntimeContext().getMetricGroup();
        records = metrics.counter("text_records");
        tokens = metrics.counter("tokens_in");
        windows = metrics.counter("windows");
        heldOut = metrics.counter("windows_held_out");
        unknownCharacters = metrics.counter("unknown_characters");
        charactersIn = metrics.counter("characters_in");
        unknownWatch = new UnknownCharacterWatch(UnknownCharacterWatch.INTERVAL_MS);
        metrics.gauge("unknown_character_rate", () -> unknownWatch.rate());
        malformedBytes = metrics.counter("malformed_bytes");
        controlCharacters = metrics.counter("control_characters");
        emptyRecords = metrics.counter("empty_records");
        oversizedRecords = metrics.counter("oversized_records");
        deadLetters = metrics.counter("dead_letters");
    }

    @Override
    public void processElement(TextRecord record, Context ctx, Collector<TokenWindow> out)
            throws Exception {
        records.inc();
        RecordTokenizer.Tokens text = tokenizer.tokenize(record.value());
        count(text);
        String warning = unknownWatch.count(text.characters(), text.unknownCharacters());
        if (warning != null) {
            LOG.warn("{} (source {})", warning, record.source());
        }
        String problem = tokenizer.problem(text);
        if (problem != null && onlyUnknownCharacters(text)) {
            UnknownCharacterWatch.Sample due =
                    unknownWatch.sample(text.unknownCharacters(), System.currentTimeMillis());
            problem =
                    due == null
                            ? null
                            : due.records() == 1
                                    ? problem
                                    : problem
                                            + "; sampled: "
                                            + due.unknownCharacters()
                                            + " unknown characters in "
                                            + due.records()
                                            + " records since the last such dead letter, this one"
                                            + " included";
        }
        if (problem != null) {
            deadLetters.inc();
            ctx.output(
                    DEAD_LETTERS,
                    new TopicRecord(
                            deadLetterTopic,
                            Reports.toJson(
                                    new Reports.DeadLetter(
                                            record.topic(),
                                            record.partition(),
                                            record.offset(),
                                            problem,
                                            text.bytes(),
                                            System.currentTimeMillis()))));
        }
        if (text.tokens().length == 0) {
            return; // nothing to add: the state stays as it is
        }
        TokenWindower windower =
                new TokenWindower(record.source(), width, stride, windowerState.value());
        windower.add(
                text.tokens(),
                record.offset() + 1, // Kafka's next offset: what lineage names
                record.timestampMs(),
                window -> {
                    windows.inc();
                    if (window.heldOut()) {
                        heldOut.inc();
                        ctx.output(HELD_OUT, window);
                    } else {
                        out.collect(window);
                    }
                });
        windowerState.update(windower.state());
    }

    /** Unknown characters are the record's only problem (no_tokens may follow from them). */
    private static boolean onlyUnknownCharacters(RecordTokenizer.Tokens text) {
        return text.unknownCharacters() > 0
                && !text.empty()
                && !text.oversized()
                && text.malformedBytes() == 0
                && text.controlCharacters() == 0;
    }

    private void count(RecordTokenizer.Tokens text) {
        tokens.inc(text.tokens().length);
        charactersIn.inc(text.characters());
        malformedBytes.inc(text.malformedBytes());
        controlCharacters.inc(text.controlCharacters());
        unknownCharacters.inc(text.unknownCharacters());
        if (text.empty()) {
            emptyRecords.inc();
        }
        if (text.oversized()) {
            oversizedRecords.inc();
        }
    }
}
