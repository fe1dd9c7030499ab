package io.streamgpt.job.eval;

import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TopicRecord;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

import java.util.List;

/**
 * The replicas' reports of what they contributed, one {@code lineage} record per global version out
 * to the losses topic (see {@link LineageTally}). Its running maxima are checkpointed (as JSON in
 * operator state), so versions after a restore still name what their ancestors trained on.
 */
public final class LineageReporter extends ProcessFunction<LineageTally.Consumed, TopicRecord>
        implements CheckpointedFunction {

    private final int replicas;
    private final String lossesTopic;

    private transient LineageTally tally;
    private transient ListState<String> seenState;

    public LineageReporter(int replicas, String lossesTopic) {
        this.replicas = replicas;
        this.lossesTopic = lossesTopic;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        seenState =
                context.getOperatorStateStore()
                        .getListState(new ListStateDescriptor<>("lineage-seen", Types.STRING));
        tally = new LineageTally(replicas);
        for (String json : seenState.get()) {
            tally.restore(Reports.fromJson(json, LineageTally.Seen.class));
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        seenState.update(List.of(Reports.toJson(tally.seen())));
    }

    @Override
    public void processElement(
            LineageTally.Consumed consumed, Context ctx, Collector<TopicRecord> out) {
        for (EvalRecords.Lineage record : tally.add(consumed)) {
            out.collect(new TopicRecord(lossesTopic, Reports.toJson(record)));
        }
    }
}
