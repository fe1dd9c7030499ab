package io.streamgpt.cli.stream;

import io.streamgpt.cli.KafkaOptions;
import io.streamgpt.cli.ParamOptions;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.job.config.TopicsConfig;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** Prints the generated samples of the samples ParamOptions.value(spec, TopicsConfig.SAMPLES). */
@Command(
        name = "samples",
        mixinStandardHelpOptions = true,
        modelTransformer = SamplesCommand.Options.class,
        description = "Print the samples the job generated.")
public final class SamplesCommand implements Callable<Integer> {

    /** The job's Kafka and the topics this command reads or writes. */
    public static final class Options extends KafkaOptions {
        public Options() {
            super(TopicsConfig.SAMPLES);
        }
    }

    @Spec CommandSpec spec;

    @Option(
            names = "--last",
            defaultValue = "5",
            description = "How many of the newest samples to print. Default: ${DEFAULT-VALUE}.")
    int last;

    @Option(names = "--follow", description = "Keep printing new samples until interrupted.")
    boolean follow;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (KafkaConsumer<String, String> consumer =
                KafkaStreams.textConsumer(
                        KafkaOptions.bootstrapServers(spec), "streamgpt-samples")) {
            // the newest --last records of each partition as the ParamOptions.value(spec,
            // TopicsConfig.SAMPLES) is now: a job that keeps
            // writing
            // samples must not keep this read going
            List<TopicPartition> partitions =
                    consumer
                            .partitionsFor(
                                    ParamOptions.value(spec, TopicsConfig.SAMPLES),
                                    Duration.ofSeconds(10))
                            .stream()
                            .map(
                                    p ->
                                            new TopicPartition(
                                                    ParamOptions.value(spec, TopicsConfig.SAMPLES),
                                                    p.partition()))
                            .toList();
            if (partitions.isEmpty()) {
                throw new IllegalArgumentException(
                        "no ParamOptions.value(spec, TopicsConfig.SAMPLES) "
                                + ParamOptions.value(spec, TopicsConfig.SAMPLES)
                                + " on "
                                + KafkaOptions.bootstrapServers(spec));
            }
            consumer.assign(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(10));
            Map<TopicPartition, Long> begin =
                    consumer.beginningOffsets(partitions, Duration.ofSeconds(10));
            partitions.forEach(p -> consumer.seek(p, Math.max(begin.get(p), end.get(p) - last)));
            List<ConsumerRecord<String, String>> read = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))
                    && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
                        read.add(r);
                    }
                }
            }
            read.sort(Comparator.comparingLong(ConsumerRecord::timestamp));
            for (ConsumerRecord<String, String> r :
                    read.subList(Math.max(0, read.size() - last), read.size())) {
                print(out, Reports.fromJson(r.value(), Reports.SampleRecord.class));
            }
            while (follow && !Thread.currentThread().isInterrupted()) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
                    print(out, Reports.fromJson(r.value(), Reports.SampleRecord.class));
                }
            }
        }
        return 0;
    }

    private static void print(PrintWriter out, Reports.SampleRecord sample) {
        out.printf(
                "--- step %d (round %d) ---%n%s%n", sample.step(), sample.round(), sample.text());
        out.flush();
    }
}
