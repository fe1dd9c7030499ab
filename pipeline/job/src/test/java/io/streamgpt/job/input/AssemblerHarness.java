package io.streamgpt.job.input;

import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TextRecord;
import io.streamgpt.connectors.records.TopicRecord;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.metrics.groups.InternalOperatorMetricGroup;
import org.apache.flink.runtime.metrics.groups.UnregisteredMetricGroups;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A {@link WindowAssembler} in Flink's keyed operator harness, its windows, dead letters and
 * counters readable.
 */
final class AssemblerHarness implements AutoCloseable {

    static final String DEAD_LETTER_TOPIC = "dead-letters";

    /**
     * The operator's metric group, which keeps what the operator registers so tests can read its
     * counters.
     */
    private static final class Metrics
            extends UnregisteredMetricGroups.UnregisteredTaskMetricGroup {
        final InterceptingOperatorMetricGroup operator = new InterceptingOperatorMetricGroup();

        @Override
        public InternalOperatorMetricGroup getOrAddOperator(
                OperatorID id, String name, Map<String, String> variables) {
            return operator;
        }
    }

    private final Metrics metrics = new Metrics();
    private final MockEnvironment environment;
    private final KeyedOneInputStreamOperatorTestHarness<String, TextRecord, TokenWindow> harness;
    private long time;

    AssemblerHarness(
            Vocabulary vocabulary,
            int blockSize,
            int stride,
            int maxRecordBytes,
            OperatorSubtaskState restore)
            throws Exception {
        environment = new MockEnvironmentBuilder().setMetricGroup(metrics).build();
        harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(
                                new WindowAssembler(
                                        vocabulary,
                                        blockSize,
                                        stride,
                                        maxRecordBytes,
                                        DEAD_LETTER_TOPIC)),
                        TextRecord::source,
                        Types.STRING,
                        environment);
        if (restore != null) {
            harness.initializeState(restore);
        }
        harness.open();
    }

    void process(TextRecord record) throws Exception {
        harness.processElement(record, time++);
    }

    OperatorSubtaskState snapshot() throws Exception {
        return harness.snapshot(1, time);
    }

    List<TokenWindow> trainWindows() {
        return harness.extractOutputValues();
    }

    List<TokenWindow> heldOutWindows() {
        return values(harness.getSideOutput(WindowAssembler.HELD_OUT));
    }

    /** The dead-letter records, parsed; each must be addressed to the dead-letter topic. */
    List<Reports.DeadLetter> deadLetters() {
        List<Reports.DeadLetter> letters = new ArrayList<>();
        for (TopicRecord record : values(harness.getSideOutput(WindowAssembler.DEAD_LETTERS))) {
            if (!DEAD_LETTER_TOPIC.equals(record.topic())) {
                throw new AssertionError("dead letter bound for " + record.topic());
            }
            letters.add(Reports.fromJson(record.value(), Reports.DeadLetter.class));
        }
        return letters;
    }

    long counter(String name) {
        Counter counter = (Counter) metrics.operator.get(name);
        if (counter == null) {
            throw new AssertionError("no counter " + name);
        }
        return counter.getCount();
    }

    private static <T> List<T> values(Iterable<StreamRecord<T>> records) {
        List<T> values = new ArrayList<>();
        if (records != null) {
            records.forEach(r -> values.add(r.getValue()));
        }
        return values;
    }

    @Override
    public void close() throws Exception {
        harness.close();
        environment.close();
    }
}
