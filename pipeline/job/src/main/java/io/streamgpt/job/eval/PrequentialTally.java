package io.streamgpt.job.eval;

import io.streamgpt.connectors.records.EvalRecords;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Joins the replicas' prequential scores of each global version into one record: a version is
 * complete when every replica reported it, or when a replica reports a version two or more rounds
 * later (a replica that skipped it, having jumped to a newer one, never will). Its loss is the mean
 * over all replicas' scored windows, {@code sum_r lossSum_r / sum_r windows_r}; a version nobody
 * scored a window with is not reported.
 */
public final class PrequentialTally {

    private record Version(int generation, long round) {}

    private static final Comparator<Version> ORDER =
            Comparator.comparingInt(Version::generation).thenComparingLong(Version::round);

    private final int replicas;
    private final TreeMap<Version, List<PrequentialScorer.Score>> open = new TreeMap<>(ORDER);

    public PrequentialTally(int replicas) {
        this.replicas = replicas;
    }

    /** Adds a replica's score; returns the versions it completes, oldest first. */
    public List<EvalRecords.ModelLoss> add(PrequentialScorer.Score score) {
        Version version = new Version(score.generation(), score.round());
        open.computeIfAbsent(version, v -> new ArrayList<>()).add(score);
        List<EvalRecords.ModelLoss> done = new ArrayList<>();
        for (Map.Entry<Version, List<PrequentialScorer.Score>> entry :
                new ArrayList<>(open.entrySet())) {
            Version v = entry.getKey();
            boolean overtaken =
                    v.generation() < version.generation() || v.round() + 2 <= version.round();
            if (entry.getValue().size() >= replicas || overtaken) {
                open.remove(v);
                EvalRecords.ModelLoss record = record(entry.getValue());
                if (record != null) {
                    done.add(record);
                }
            }
        }
        return done;
    }

    private static EvalRecords.ModelLoss record(List<PrequentialScorer.Score> scores) {
        double lossSum = 0;
        long windows = 0;
        for (PrequentialScorer.Score s : scores) {
            lossSum += s.lossSum();
            windows += s.windows();
        }
        if (windows == 0) {
            return null;
        }
        PrequentialScorer.Score first = scores.get(0);
        return EvalRecords.ModelLoss.of(
                EvalRecords.PREQUENTIAL,
                first.step(),
                first.round(),
                first.generation(),
                first.tokens(),
                (float) (lossSum / windows),
                windows);
    }
}
