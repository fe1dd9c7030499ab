package io.streamgpt.cli;

import io.streamgpt.pipeline.Reports;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Prints the generated samples of the samples topic. */
@Command(name = "samples", mixinStandardHelpOptions = true, description = "Print the samples the job generated.")
final class SamplesCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--topic", defaultValue = "streamgpt-samples", description = "Samples topic. Default: ${DEFAULT-VALUE}.")
    String topic;

    @Option(names = "--bootstrap-servers", defaultValue = "127.0.0.1:9092", description = "Kafka bootstrap servers. Default: ${DEFAULT-VALUE}.")
    String bootstrapServers;

    @Option(names = "--last", defaultValue = "5", description = "How many of the newest samples to print. Default: ${DEFAULT-VALUE}.")
    int last;

    @Option(names = "--follow", description = "Keep printing new samples until interrupted.")
    boolean follow;

    @Override
    public Integer call() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "streamgpt-samples-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        PrintWriter out = spec.commandLine().getOut();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic));
            Deque<Reports.SampleRecord> newest = new ArrayDeque<>();
            int emptyPolls = 0;
            while (emptyPolls < 3) { // read what the topic holds
                var records = consumer.poll(Duration.ofSeconds(1));
                emptyPolls = records.isEmpty() ? emptyPolls + 1 : 0;
                for (ConsumerRecord<String, String> r : records) {
                    newest.addLast(Reports.fromJson(r.value(), Reports.SampleRecord.class));
                    if (newest.size() > last) {
                        newest.removeFirst();
                    }
                }
            }
            newest.forEach(s -> print(out, s));
            while (follow && !Thread.currentThread().isInterrupted()) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
                    print(out, Reports.fromJson(r.value(), Reports.SampleRecord.class));
                }
            }
        }
        return 0;
    }

    private static void print(PrintWriter out, Reports.SampleRecord sample) {
        out.printf("--- step %d (round %d) ---%n%s%n", sample.step(), sample.round(), sample.text());
        out.flush();
    }
}
