package io.streamgpt.pipeline;

import io.streamgpt.connectors.TextRecord;
import io.streamgpt.connectors.Utf8Text;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Tokenizes the text of one source partition (the key) and cuts it into windows of block_size+1
 * tokens. The tail that does not fill a window yet is keyed state, so windows span record
 * boundaries and survive restarts with no token lost or repeated. Every tenth window is held out
 * for validation on a side output.
 */
final class WindowAssembler extends KeyedProcessFunction<String, TextRecord, TokenWindow> {

    static final OutputTag<TokenWindow> HELD_OUT = new OutputTag<>("held-out", TypeInformation.of(TokenWindow.class));

    private final Vocabulary vocabulary;
    private final int width;
    private final int stride;

    private transient ValueState<TokenWindower.State> windowerState;
    private transient Counter records;
    private transient Counter tokens;
    private transient Counter windows;
    private transient Counter heldOut;
    private transient Counter unknownCharacters;
    private transient Counter malformedBytes;

    WindowAssembler(Vocabulary vocabulary, int blockSize, int stride) {
        this.vocabulary = vocabulary;
        this.width = blockSize + 1;
        this.stride = stride;
    }

    @Override
    public void open(OpenContext context) {
        windowerState = getRuntimeContext().getState(
                new ValueStateDescriptor<>("windower", TypeInformation.of(TokenWindower.State.class)));
        var metrics = getRuntimeContext().getMetricGroup();
        records = metrics.counter("text_records");
        tokens = metrics.counter("tokens_in");
        windows = metrics.counter("windows");
        heldOut = metrics.counter("windows_held_out");
        unknownCharacters = metrics.counter("unknown_characters");
        malformedBytes = metrics.counter("malformed_bytes");
    }

    @Override
    public void processElement(TextRecord record, Context ctx, Collector<TokenWindow> out) throws Exception {
        records.inc();
        int[] ids;
        if (vocabulary.kind() == Vocabulary.Kind.BYTES) {
            ids = bytesOf(record.value());
        } else {
            Utf8Text.Decoded text = Utf8Text.decode(record.value());
            malformedBytes.inc(text.malformedBytes());
            long before = vocabulary.unknownCharacters();
            ids = vocabulary.encode(text.text());
            unknownCharacters.inc(vocabulary.unknownCharacters() - before);
        }
        tokens.inc(ids.length);
        TokenWindower windower = new TokenWindower(record.source(), width, stride, windowerState.value());
        windower.add(ids, window -> {
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

    /** A bytes vocabulary takes the raw bytes: every byte is a token, nothing is malformed. */
    private static int[] bytesOf(byte[] value) {
        int[] ids = new int[value.length];
        for (int i = 0; i < value.length; i++) {
            ids[i] = value[i] & 0xff;
        }
        return ids;
    }
}
