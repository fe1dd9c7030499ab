package io.streamgpt.job.eval;

import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TopicRecord;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The replicas' reports of what they contributed, one {@code lineage} record per global version out
 * to the losses topic (see {@link LineageTally}). Not checkpointed: after a restore the running
 * maximum restarts from what the replicas receive from then on.
 */
public final class LineageReporter extends ProcessFunction<LineageTally.Consumed, TopicRecord> {

    private final int replicas;
    private final String lossesTopic;

    private transient LineageTally tally;

    public LineageReporter(int replicas, String lossesTopic) {
        this.replicas = replicas;
        this.lossesTopic = lossesTopic;
    }

    @Override
    public void open(OpenContext context) {
        tally = new LineageTally(replicas);
    }

    @Override
    public void processElement(
            LineageTally.Consumed consumed, Context ctx, Collector<TopicRecord> out) {
        for (EvalRecords.Lineage record : tally.add(consumed)) {
            out.collect(new TopicRecord(lossesTopic, Reports.toJson(record)));
        }
    }
}
