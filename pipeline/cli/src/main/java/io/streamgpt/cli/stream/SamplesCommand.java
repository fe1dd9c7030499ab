package io.streamgpt.cli.stream;

import io.streamgpt.cli.KafkaOptions;
import io.streamgpt.cli.ParamOptions;
import io.streamgpt.connectors.kafka.TopicReader;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.job.config.TopicsConfig;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
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
        String topic = ParamOptions.value(spec, TopicsConfig.SAMPLES);
        try (TopicReader reader = TopicReader.open(KafkaOptions.settings(spec))) {
            // the newest --last records of each partition as the topic is now: a job that keeps
            // writing samples must not keep this read going
            List<ConsumerRecord<byte[], byte[]>> read =
                    new ArrayList<>(reader.readNewest(topic, last, Duration.ofSeconds(30)));
            read.sort(Comparator.comparingLong(ConsumerRecord::timestamp));
            for (ConsumerRecord<byte[], byte[]> r :
                    read.subList(Math.max(0, read.size() - last), read.size())) {
                print(out, r);
            }
            while (follow && !Thread.currentThread().isInterrupted()) {
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofSeconds(1))) {
                    print(out, r);
                }
            }
        }
        return 0;
    }

    private static void print(PrintWriter out, ConsumerRecord<byte[], byte[]> record) {
        Reports.SampleRecord sample =
                Reports.fromJsonOrNull(TopicReader.text(record), Reports.SampleRecord.class);
        if (sample == null) { // a foreign or damaged record: said, and skipped
            out.printf(
                    "(skipped a record that is not a sample at partition %d, offset %d)%n",
                    record.partition(), record.offset());
            return;
        }
        print(out, sample);
    }

    private static void print(PrintWriter out, Reports.SampleRecord sample) {
        out.printf(
                "--- step %d (round %d) ---%n%s%n", sample.step(), sample.round(), sample.text());
        out.flush();
    }
}
