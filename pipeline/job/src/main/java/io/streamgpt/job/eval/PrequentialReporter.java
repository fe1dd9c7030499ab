package io.streamgpt.job.eval;

import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TopicRecord;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The replicas' prequential scores in, one {@code prequential} record per global version out to the
 * losses topic (see {@link PrequentialTally}), and the newest as metrics. Scores of versions still
 * open when the job fails are not kept: a restored job reports from its next versions on.
 */
public final class PrequentialReporter
        extends ProcessFunction<PrequentialScorer.Score, TopicRecord> {

    private final int replicas;
    private final String lossesTopic;

    private transient PrequentialTally tally;
    private transient volatile float loss = Float.NaN;

    public PrequentialReporter(int replicas, String lossesTopic) {
        this.replicas = replicas;
        this.lossesTopic = lossesTopic;
    }

    @Override
    public void open(OpenContext context) {
        tally = new PrequentialTally(replicas);
        var metrics = getRuntimeContext().getMetricGroup();
        metrics.gauge("prequential_loss", () -> loss);
        metrics.gauge("prequential_bits_per_char", () -> (float) (loss / Math.log(2)));
    }

    @Override
    public void processElement(
            PrequentialScorer.Score score, Context ctx, Collector<TopicRecord> out) {
        for (EvalRecords.ModelLoss record : tally.add(score)) {
            loss = record.loss() == null ? Float.NaN : record.loss();
            out.collect(new TopicRecord(lossesTopic, Reports.toJson(record)));
        }
    }
}
