package io.streamgpt.model;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.CheckedOutputStream;

/**
 * A trained model on disk: config, vocabulary and the flat parameter vector, read back exactly.
 *
 * <pre>
 * offset  size   content
 * 0       4      magic "SGPT"
 * 4       4      format version, int32 big-endian (1)
 * 8       4      header length H, int32 big-endian
 * 12      H      header, UTF-8 JSON: {"config": {vocab_size, block_size, n_layer, ...},
 *                "vocabulary": {"kind": "chars"|"bytes", "characters": "..."}, "step": N,
 *                "parameter_count": P, "tensors": [{"name", "shape"}, ...],
 *                optional "lineage": {...} (what the model trained on, as {@code export} writes it)}
 * 12+H    4P     parameters, float32 little-endian, in {@link ParameterLayout} order
 * end-8   8      CRC32 of every byte before it, int64 big-endian
 * </pre>
 *
 * The lineage is optional and read only by {@link #lineage}: a file without it loads the same, and
 * a reader that does not know it ignores it (the format version stays 1).
 *
 * <p>Files are written to a temporary file beside the target and renamed over it, so a reader never
 * sees half a model; the checksum catches a file damaged later.
 */
public final class ModelFile {

    private static final byte[] MAGIC = "SGPT".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final String LINEAGE = "lineage";
    private static final ObjectMapper JSON =
            new ObjectMapper()
                    .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** What a model file holds. */
    public record Contents(
            GptConfig config, Vocabulary vocabulary, float[] parameters, long step) {}

    private ModelFile() {}

    public static void save(Path file, Gpt model, Vocabulary vocabulary, long step)
            throws IOException {
        save(file, new Contents(model.config(), vocabulary, model.parameterValues(), step));
    }

    public static void save(Path file, Contents contents) throws IOException {
        save(file, contents, Map.of());
    }

    /**
     * Writes {@code contents} with {@code lineage} (left out when empty) in the header as a JSON
     * object.
     */
    public static void save(Path file, Contents contents, Map<String, Object> lineage)
            throws IOException {
        ParameterLayout layout = ParameterLayout.of(contents.config());
        if (contents.parameters().length != layout.size()) {
            throw new IllegalArgumentException(
                    "parameter vector has "
                            + contents.parameters().length
                            + " values, the config needs "
                            + layout.size());
        }
        if (contents.vocabulary().size() != contents.config().vocabSize()) {
            throw new IllegalArgumentException(
                    "vocabulary has "
                            + contents.vocabulary().size()
                            + " tokens, the config says "
                            + contents.config().vocabSize());
        }
        Path target = file.toAbsolutePath();
        Files.createDirectories(target.getParent());
        Path temp = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".tmp");
        try {
            CRC32 crc = new CRC32();
            try (OutputStream raw = Files.newOutputStream(temp);
                    DataOutputStream out =
                            new DataOutputStream(
                                    new CheckedOutputStream(
                                            new BufferedOutputStream(raw, 1 << 20), crc))) {
                ObjectNode headerNode = header(contents, layout);
                if (!lineage.isEmpty()) {
                    headerNode.set(LINEAGE, JSON.valueToTree(lineage));
                }
                byte[] header = JSON.writeValueAsBytes(headerNode);
                out.write(MAGIC);
                out.writeInt(VERSION);
                out.writeInt(header.length);
                out.write(header);
                out.write(FloatArrays.toBytes(contents.parameters(), ByteOrder.LITTLE_ENDIAN));
                out.flush();
                new DataOutputStream(raw).writeLong(crc.getValue());
            }
            try (FileChannel written = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                written.force(
                        true); // on disk before the rename makes it the model: a crash leaves the
                // old file or the new one
            }
            Files.move(
                    temp,
                    target,
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    public static Contents load(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 20
                || !java.util.Arrays.equals(java.util.Arrays.copyOf(bytes, 4), MAGIC)) {
            throw new IOException(file + " is not a streamgpt model file (no SGPT magic)");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 8);
        if (crc.getValue() != in.getLong(bytes.length - 8)) {
            throw new IOException(file + " is damaged: checksum mismatch");
        }
        in.position(4);
        int version = in.getInt();
        if (version != VERSION) {
            throw new IOException(
                    file + " has format version " + version + ", this build reads " + VERSION);
        }
        int headerLength = in.getInt();
        JsonNode header =
                JSON.readTree(new String(bytes, 12, headerLength, StandardCharsets.UTF_8));
        GptConfig config = JSON.treeToValue(header.get("config"), GptConfig.class);
        JsonNode vocab = header.get("vocabulary");
        Vocabulary vocabulary =
                "bytes".equals(vocab.get("kind").asText())
                        ? Vocabulary.bytes()
                        : Vocabulary.ofCharacters(vocab.get("characters").asText());
        int count = Math.toIntExact(ParameterLayout.of(config).size());
        int parameterBytes = bytes.length - 8 - 12 - headerLength;
        if (parameterBytes != 4L * count || header.get("parameter_count").asLong() != count) {
            throw new IOException(
                    file
                            + " holds "
                            + parameterBytes / 4
                            + " parameters, its config needs "
                            + count);
        }
        float[] parameters =
                FloatArrays.get(
                        ByteBuffer.wrap(bytes, 12 + headerLength, 4 * count)
                                .order(ByteOrder.LITTLE_ENDIAN),
                        count);
        return new Contents(config, vocabulary, parameters, header.get("step").asLong());
    }

    /**
     * The lineage in a model file's header (numbers as numbers, objects as maps), or an empty map
     * for a file without one.
     */
    public static Map<String, Object> lineage(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 20
                || !java.util.Arrays.equals(java.util.Arrays.copyOf(bytes, 4), MAGIC)) {
            throw new IOException(file + " is not a streamgpt model file (no SGPT magic)");
        }
        int headerLength = ByteBuffer.wrap(bytes).getInt(8);
        JsonNode lineage =
                JSON.readTree(new String(bytes, 12, headerLength, StandardCharsets.UTF_8))
                        .get(LINEAGE);
        return lineage == null || !lineage.isObject() ? Map.of() : asMap(lineage);
    }

    /** A JSON object as a map of numbers, strings, booleans and maps. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(JsonNode object) {
        return JSON.convertValue(object, java.util.LinkedHashMap.class);
    }

    private static ObjectNode header(Contents contents, ParameterLayout layout) {
        ObjectNode header = JSON.createObjectNode();
        header.set("config", JSON.valueToTree(contents.config()));
        ObjectNode vocab = header.putObject("vocabulary");
        vocab.put("kind", contents.vocabulary().kind().name().toLowerCase(java.util.Locale.ROOT));
        vocab.put("characters", contents.vocabulary().characters());
        header.put("step", contents.step());
        header.put("parameter_count", layout.size());
        var tensors = header.putArray("tensors");
        for (ParameterLayout.Tensor t : layout.tensors()) {
            ObjectNode node = tensors.addObject();
            node.put("name", t.name());
            var shape = node.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
        }
        return header;
    }
}
