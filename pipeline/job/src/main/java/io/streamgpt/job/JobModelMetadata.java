package io.streamgpt.job;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;
import io.streamgpt.connectors.client.ModelMetadata;
import io.streamgpt.connectors.client.ModelMetadataTopic;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.Vocabulary;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The job's model metadata ({@link ModelMetadata}), published on the metadata topic before the job
 * writes a chunk, by whoever starts it ({@code submit}, {@code local}, {@link JobMain} on a
 * cluster).
 */
public final class JobModelMetadata {

    private JobModelMetadata() {}

    /**
     * The model the job trains: shape, vocabulary by content, chunking, the options behind them.
     */
    public static ModelMetadata of(JobConfig config) {
        Vocabulary vocabulary = config.vocabulary();
        Map<String, String> options = new LinkedHashMap<>();
        Params.values(config.model(), GptConfig.PARAMS)
                .forEach(
                        (param, value) -> {
                            if (!param.isDerived()) {
                                options.put(param.name(), format(param, value));
                            }
                        });
        options.put(InputConfig.VOCABULARY.name(), vocabulary.spec());
        options.put(SyncConfig.CHUNK_SIZE.name(), String.valueOf(config.sync().chunkSize()));
        options.put(ModelMetadata.FRAGMENTS_OPTION, String.valueOf(config.sync().fragments()));
        return new ModelMetadata(
                config.topics().model(),
                config.model(),
                vocabulary,
                config.sync().chunkSize(),
                options,
                System.currentTimeMillis());
    }

    /**
     * Publishes it on the job's metadata topic, which {@link StreamingTrainerJob#createTopics}
     * made.
     *
     * @throws IllegalArgumentException if the model topic already carries another model
     */
    public static void publish(JobConfig config) {
        ModelMetadataTopic.publish(
                config.kafka().clientSettings(), config.topics().metadata(), of(config));
    }

    /**
     * Makes the metadata topic if missing, then {@link #publish}es: for {@link JobMain}, which a
     * deployment manifest may run without {@code createTopics} before it.
     */
    public static void ensureTopicAndPublish(JobConfig config) {
        TopicAdmin.ensureTopics(
                config.kafka().clientSettings(),
                List.of(ModelMetadataTopic.spec(config.topics().metadata())));
        publish(config);
    }

    @SuppressWarnings("unchecked")
    private static <T> String format(Param<T> param, Object value) {
        return param.format((T) value);
    }
}
