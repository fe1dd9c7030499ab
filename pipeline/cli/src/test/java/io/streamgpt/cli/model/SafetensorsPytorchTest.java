package io.streamgpt.cli.model;

import io.streamgpt.cli.CliRun;
import io.streamgpt.cli.Paths;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.chunks.ModelLoopAuthenticator;
import io.streamgpt.connectors.chunks.ModelSecret;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.SafetensorsModel;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.Trainer;
import io.streamgpt.model.TrainingConfig;
import io.streamgpt.model.Vocabulary;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Models moved between streamgpt and the PyTorch reference itself ({@code gpt_reference.py} in
 * {@code ../shared/reference/}, run by {@code docs/safetensors_reference.py} with Debian's
 * python3-torch) through safetensors files: a streamgpt model on a model topic (an in-JVM broker),
 * written by {@code export --format safetensors} and loaded there by {@code load_state_dict}, gives
 * the same loss on the same batch, a model the reference trained gives the same logits here after
 * {@code streamgpt import}, and streamgpt -> PyTorch -> streamgpt gives back the very parameters. A
 * small model (2 layers, 2 heads, n_embd 32, block 16, the 65 characters of tiny Shakespeare) on a
 * fixed batch of 2 rows of 16 tokens.
 */
class SafetensorsPytorchTest {

    private static final String PYTHON = "/usr/bin/python3";
    private static final Path REFERENCE =
            Path.of(
                    System.getProperty(
                            "streamgpt.reference",
                            Paths.home()
                                    .resolve("../shared/reference/gpt_reference.py")
                                    .normalize()
                                    .toString()));
    private static final Path SCRIPT = Paths.home().resolve("docs/safetensors_reference.py");
    private static final GptConfig SMALL = new GptConfig(65, 16, 2, 2, 32, 0.0);

    /** The same shape in the reference's key=value arguments, its seed and learning rate. */
    private static final List<String> REFERENCE_SHAPE =
            List.of(
                    "n_layer=2",
                    "n_head=2",
                    "n_embd=32",
                    "block_size=16",
                    "batch_size=4",
                    "dropout=0.0",
                    "learning_rate=1e-2",
                    "threads=1",
                    "seed=7");

    private static final ObjectMapper JSON = new ObjectMapper();

    private static Vocabulary vocabulary;
    private static int[] text;

    @BeforeAll
    static void pytorchReference() throws Exception {
        assumeTrue(
                Files.isRegularFile(REFERENCE),
                "the PyTorch reference is not at " + REFERENCE + " (-Dstreamgpt.reference=...)");
        assumeTrue(
                new ProcessBuilder(PYTHON, "-c", "import torch").start().waitFor() == 0,
                PYTHON + " has no torch (Debian: apt-get install python3-torch)");
        TorchRuntime.configure(1);
        vocabulary = Vocabulary.named("shakespeare");
        text = vocabulary.encode(Files.readString(Paths.shakespeare()).substring(0, 5_000));
    }

    @Test
    void anExportedModelGivesTheSameLossInTheReferenceAndComesBackUnchanged(@TempDir Path dir)
            throws Exception {
        TokenCorpus.Batch batch = fixedBatch();
        float[] trained;
        float streamgptLoss;
        // a few steps, so that biases and norms are no longer 0 and 1
        try (Gpt model = Gpt.create(SMALL, 3, Device.cpu());
                Trainer trainer =
                        new Trainer(
                                model,
                                TrainingConfig.preset("cpu")
                                        .with(TrainingConfig.BATCH_SIZE, 4)
                                        .with(TrainingConfig.LEARNING_RATE, 1e-2))) {
            Random random = new Random(1);
            TokenCorpus corpus = TokenCorpus.of(text);
            for (int i = 0; i < 5; i++) {
                trainer.step(corpus.sample(TokenCorpus.Split.TRAIN, random, 4, 16));
            }
            trained = model.parameterValues();
            streamgptLoss = model.evaluate(batch);
        }
        // on a model topic as the averager writes it (round 1 of generation 0, step 5), then
        // `export --format safetensors`
        Path exported = dir.resolve("streamgpt.safetensors");
        try (EmbeddedKafka kafka =
                EmbeddedKafka.start(EmbeddedKafka.freePort(), dir.resolve("kafka"))) {
            String secret = "file:" + dir.resolve("model-secret");
            ModelSecret.ensure(secret);
            publishModel(
                    kafka.bootstrapServers(), ModelLoopAuthenticator.fromSecret(secret), trained);
            CliRun export =
                    CliRun.of(
                            "export",
                            "--bootstrap-servers",
                            kafka.bootstrapServers(),
                            "--model-secret",
                            secret,
                            "--n-layer",
                            "2",
                            "--n-head",
                            "2",
                            "--n-embd",
                            "32",
                            "--block-size",
                            "16",
                            "--dropout",
                            "0",
                            "--format",
                            "safetensors",
                            "--out",
                            exported.toString());
            assertThat(export.exit()).as(export.err()).isEqualTo(0);
            assertThat(export.out()).contains("exported round 1 (generation 0, step 5");
        }
        assertThat(SafetensorsModel.lineage(exported))
                .containsEntry("generation", 0)
                .containsEntry("round", 1);

        JsonNode pytorch = reference(dir, "loss", exported.toString(), batchFile(dir, batch));
        double pytorchLoss = pytorch.path("loss").asDouble();
        System.out.printf(
                "safetensors: streamgpt loss %.6f, the reference's on the export %.6f (diff"
                        + " %.2e)%n",
                streamgptLoss, pytorchLoss, Math.abs(streamgptLoss - pytorchLoss));
        assertThat(pytorchLoss).isCloseTo(streamgptLoss, within(1e-4));

        // the reference writes its own state_dict back; streamgpt imports it
        Path resaved = dir.resolve("pytorch.safetensors");
        reference(dir, "resave", exported.toString(), resaved.toString());
        Path imported = dir.resolve("back.sgpt");
        CliRun result =
                CliRun.of("import", "--from", resaved.toString(), "--out", imported.toString());
        assertThat(result.exit()).as(result.err()).isEqualTo(0);
        assertThat(result.out()).contains("2 layers, 2 heads, n_embd 32, block 16, vocabulary 65");
        ModelFile.Contents back = ModelFile.load(imported);
        assertThat(back.config()).isEqualTo(SMALL);
        assertThat(back.parameters()).as("the very parameters").containsExactly(trained);
        try (Gpt model = Gpt.withParameters(back.config(), back.parameters(), Device.cpu())) {
            float roundTripLoss = model.evaluate(batch);
            System.out.printf(
                    "safetensors: streamgpt -> PyTorch -> streamgpt loss %.6f (diff %.2e)%n",
                    roundTripLoss, Math.abs(roundTripLoss - streamgptLoss));
            assertThat((double) roundTripLoss).isCloseTo(streamgptLoss, within(1e-4));
        }
    }

    @Test
    void aModelTrainedByTheReferenceGivesTheSameLogitsHere(@TempDir Path dir) throws Exception {
        TokenCorpus.Batch batch = fixedBatch();
        Path trained = dir.resolve("reference.safetensors");
        JsonNode pytorch = reference(dir, "train", trained.toString(), "20", batchFile(dir, batch));
        Path imported = dir.resolve("imported.sgpt");
        CliRun result =
                CliRun.of("import", "--from", trained.toString(), "--out", imported.toString());
        assertThat(result.exit()).as(result.err()).isEqualTo(0);
        ModelFile.Contents model = ModelFile.load(imported);
        assertThat(model.config()).isEqualTo(SMALL); // the shape read from the tensors
        assertThat(model.step()).isZero(); // a state_dict carries no step

        float[] logits;
        float loss;
        try (Gpt gpt = Gpt.withParameters(model.config(), model.parameters(), Device.cpu());
                NDScope scope = new NDScope()) {
            Shape shape = new Shape(batch.batchSize(), batch.blockSize());
            NDArray tokens = gpt.manager().create(batch.inputs(), shape);
            logits = gpt.logits(tokens, false).toFloatArray(); // (2, 16, 65)
            loss = gpt.evaluate(batch);
        }
        JsonNode expected = pytorch.path("logits");
        assertThat(logits).hasSize(expected.size()).hasSize(2 * 16 * 65);
        double maxDiff = 0;
        for (int i = 0; i < logits.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(logits[i] - expected.get(i).asDouble()));
        }
        double pytorchLoss = pytorch.path("loss").asDouble();
        System.out.printf(
                "safetensors: reference-trained model (20 steps, loss %.6f there, %.6f here):"
                        + " logits differ by at most %.2e%n",
                pytorchLoss, loss, maxDiff);
        assertThat(pytorchLoss).as("trained, not the initial ln 65 = 4.17").isLessThan(3.8);
        assertThat(maxDiff).isLessThan(1e-4);
        assertThat((double) loss).isCloseTo(pytorchLoss, within(1e-4));
    }

    // ---------------------------------------------------------------- helpers

    /** The parameters as global chunks of round 1 on a fresh model topic, 10,000 per chunk. */
    /** The chunks as the averager's sink writes them: signed with the job's key. */
    private static void publishModel(
            String bootstrapServers, ModelLoopAuthenticator key, float[] parameters)
            throws Exception {
        String topic = "streamgpt-model";
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        int chunkSize = 10_000;
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(
                        Map.of("bootstrap.servers", bootstrapServers),
                        new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            for (int i = 0; i < Slice.count(parameters.length, chunkSize); i++) {
                GlobalChunk chunk =
                        new GlobalChunk(
                                new RoundId(0, 1),
                                2,
                                new Progress(5, 1_000, 3f),
                                i == 0 ? new float[] {3f, 3f} : new float[0],
                                Slice.of(parameters, i, chunkSize));
                byte[] value = ModelChunkFormat.serialize(chunk);
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, value);
                record.headers().add(ModelLoopAuthenticator.HEADER, key.sign(topic, value));
                producer.send(record).get();
            }
        }
    }

    /** Rows at tokens 0 and 1000 of the text, 16 inputs each, targets one token on. */
    private static TokenCorpus.Batch fixedBatch() {
        int rows = 2;
        int t = 16;
        long[] inputs = new long[rows * t];
        long[] targets = new long[rows * t];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < t; i++) {
                inputs[r * t + i] = text[1000 * r + i];
                targets[r * t + i] = text[1000 * r + i + 1];
            }
        }
        return new TokenCorpus.Batch(inputs, targets, rows, t);
    }

    private static String batchFile(Path dir, TokenCorpus.Batch batch) throws IOException {
        ObjectNode json = JSON.createObjectNode();
        var inputs = json.putArray("inputs");
        var targets = json.putArray("targets");
        for (int r = 0; r < batch.batchSize(); r++) {
            var in = inputs.addArray();
            var out = targets.addArray();
            for (int i = 0; i < batch.blockSize(); i++) {
                in.add(batch.inputs()[r * batch.blockSize() + i]);
                out.add(batch.targets()[r * batch.blockSize() + i]);
            }
        }
        Path file = dir.resolve("batch.json");
        JSON.writeValue(file.toFile(), json);
        return file.toString();
    }

    /** Runs the script's command on the reference; its last output line as JSON (or null). */
    private static JsonNode reference(Path dir, String... command)
            throws IOException, InterruptedException {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                PYTHON,
                                SCRIPT.toString(),
                                REFERENCE.toString(),
                                Paths.shakespeare().toString()));
        args.addAll(List.of(command));
        args.addAll(REFERENCE_SHAPE);
        ProcessBuilder builder = new ProcessBuilder(args).redirectErrorStream(true);
        builder.environment().put("OMP_NUM_THREADS", "1");
        builder.environment().put("OPENBLAS_NUM_THREADS", "1");
        builder.environment().remove("GLIBC_TUNABLES");
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as(output).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        String[] lines = output.strip().split("\n");
        String last = lines[lines.length - 1];
        return last.startsWith("{") ? JSON.readTree(last) : null;
    }
}
