package io.streamgpt.connectors.client;

import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Asks the running job: sends prompt requests to the prompts topic and completes each with the
 * answer that carries its id on the answers topic. One reader thread follows the answers topic from
 * its end as it was when the client started, so an answer is never missed and old ones are never
 * read. {@code generate} asks once; {@code serve} shares one client among its HTTP requests (and
 * replaces it when its reader stopped, see {@link #isOpen}).
 *
 * <p>Every request waits at most its own {@code timeout_ms}: then its future fails with a {@link
 * TimeoutException} and its id is free again.
 */
public final class PromptClient implements AutoCloseable {

    private final String promptsTopic;
    private final KafkaConsumer<String, String> answers;
    private final KafkaProducer<String, String> producer;
    private final Map<String, Pending> waiting = new ConcurrentHashMap<>();
    private final Thread reader;
    private volatile boolean closed;

    /** A request waiting for its answer, and who wants its parts. */
    private record Pending(
            CompletableFuture<Reports.Answer> answer, Consumer<Reports.Answer> parts) {}

    /**
     * @param connectTimeout how long Kafka may take to answer, here and when sending
     * @throws IllegalStateException if Kafka does not answer or the answers topic does not exist
     */
    public PromptClient(
            KafkaClientSettings kafka,
            String promptsTopic,
            String answersTopic,
            Duration connectTimeout) {
        this.promptsTopic = promptsTopic;
        this.answers = KafkaStreams.textConsumer(kafka, "streamgpt-answers");
        String bootstrapServers = kafka.bootstrapServers();
        try {
            List<PartitionInfo> partitions;
            try {
                partitions = answers.partitionsFor(answersTopic, connectTimeout);
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                throw new IllegalStateException(
                        "Kafka at "
                                + bootstrapServers
                                + " did not answer within "
                                + connectTimeout.toSeconds()
                                + " s");
            }
            if (partitions == null || partitions.isEmpty()) {
                throw new IllegalStateException(
                        "no topic "
                                + answersTopic
                                + " at "
                                + bootstrapServers
                                + ": has a streamgpt job been started there?");
            }
            List<TopicPartition> assigned =
                    partitions.stream()
                            .map(p -> new TopicPartition(p.topic(), p.partition()))
                            .toList();
            answers.assign(assigned);
            answers.seekToEnd(assigned);
            assigned.forEach(answers::position); // fix the start before any request goes out
        } catch (RuntimeException e) {
            answers.close();
            throw e;
        }
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(connectTimeout.toMillis()));
        props.put(
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
                String.valueOf(connectTimeout.toMillis()));
        props.put(
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                String.valueOf(connectTimeout.toMillis() + 5_000));
        this.producer = new KafkaProducer<>(props);
        this.reader = new Thread(this::readAnswers, "streamgpt-answers-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Sends {@code request}; the future completes with its answer, or fails if it could not be
     * sent.
     *
     * @throws IllegalArgumentException if a request with the same id is still waiting
     */
    public CompletableFuture<Reports.Answer> ask(PromptRequest request) {
        return ask(request, part -> {});
    }

    /**
     * As {@link #ask(PromptRequest)}, handing each part of the answer to {@code parts} (on the
     * reader thread, in order) as the job publishes it.
     */
    public CompletableFuture<Reports.Answer> ask(
            PromptRequest request, Consumer<Reports.Answer> parts) {
        CompletableFuture<Reports.Answer> answer = new CompletableFuture<>();
        if (closed) {
            answer.completeExceptionally(new IllegalStateException("the prompt client is closed"));
            return answer;
        }
        Pending pending = new Pending(answer, parts);
        if (waiting.putIfAbsent(request.id(), pending) != null) {
            throw new IllegalArgumentException(
                    "a request with id " + request.id() + " is already waiting for its answer");
        }
        answer.whenComplete((a, e) -> waiting.remove(request.id(), pending));
        // nobody waits longer than the request says, so its id never stays taken
        answer.orTimeout(request.timeoutMs(), TimeUnit.MILLISECONDS);
        producer.send(
                new ProducerRecord<>(promptsTopic, request.id(), request.toJson()),
                (metadata, e) -> {
                    if (e != null) {
                        answer.completeExceptionally(
                                new IllegalStateException(
                                        "could not send the request to "
                                                + promptsTopic
                                                + ": "
                                                + e.getMessage(),
                                        e));
                    }
                });
        return answer;
    }

    private void readAnswers() {
        try {
            while (!closed) {
                for (ConsumerRecord<String, String> record : answers.poll(Duration.ofMillis(200))) {
                    Reports.Answer answer;
                    try {
                        answer = Reports.fromJson(record.value(), Reports.Answer.class);
                    } catch (IllegalArgumentException e) {
                        continue; // not an answer: someone else's record
                    }
                    Pending asked = answer.id() == null ? null : waiting.get(answer.id());
                    if (asked == null) {
                        continue;
                    }
                    if (answer.inProgress()) {
                        try {
                            asked.parts().accept(answer);
                        } catch (RuntimeException e) {
                            asked.answer().completeExceptionally(e); // that listener's problem
                        }
                    } else {
                        asked.answer().complete(answer);
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            closed = true; // later requests fail at once rather than wait for their timeout
            waiting.values().forEach(p -> p.answer().completeExceptionally(e));
        } finally {
            answers.close();
        }
    }

    /**
     * Whether answers can still arrive: false once closed or once the reader stopped on an error
     * (then every waiting request failed with it, and a new client is needed).
     */
    public boolean isOpen() {
        return !closed && reader.isAlive();
    }

    @Override
    public void close() {
        closed = true;
        answers.wakeup();
        try {
            reader.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofSeconds(5));
        waiting.values()
                .forEach(
                        p ->
                                p.answer()
                                        .completeExceptionally(
                                                new IllegalStateException(
                                                        "the prompt client closed")));
    }
}
