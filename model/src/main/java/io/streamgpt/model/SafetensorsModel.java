package io.streamgpt.model;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A model as a safetensors file under the PyTorch reference's names ({@code gpt_reference.py}'s
 * {@code state_dict()}: {@code tok.weight}, {@code pos.weight}, {@code
 * blocks.N.sa.heads.H.key|query|value.weight}, {@code blocks.N.sa.proj}, {@code blocks.N.ffwd.0|2},
 * {@code blocks.N.ln1|ln2}, {@code ln_f}, {@code lm_head}, and each head's causal-mask buffer
 * {@code tril}), so that {@code model.load_state_dict(load_file(path))} loads it there; streamgpt's
 * config, vocabulary, step and lineage go in {@code __metadata__}.
 *
 * <p>The layouts differ only in attention: the reference keeps one (head_size, C) query, key and
 * value matrix per head, streamgpt one (3C, C) matrix {@code c_attn} whose rows are all heads'
 * queries, then keys, then values: head h's query rows are {@code [h*hs, (h+1)*hs)}, its key rows
 * {@code C + h*hs ...}, its value rows {@code 2C + h*hs ...}. Everything else is the same tensor
 * under another name (both use torch's (out, in) weights).
 *
 * <p>Reading also accepts Karpathy's original {@code gpt.py} names ({@code token_embedding_table},
 * {@code position_embedding_table}, {@code ffwd.net.0|2}) and the {@code module.} prefix of a
 * DistributedDataParallel model.
 */
public final class SafetensorsModel {

    /** Metadata keys. */
    public static final String CONFIG = "config";

    public static final String VOCABULARY = "vocabulary";
    public static final String STEP = "step";
    public static final String LINEAGE = "lineage";

    private static final ObjectMapper JSON =
            new ObjectMapper()
                    .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** Parts of Karpathy's gpt.py names -> gpt_reference.py's (no name holds two of them). */
    private static final Map<String, String> ALIASES =
            Map.of(
                    "token_embedding_table.weight", "tok.weight",
                    "position_embedding_table.weight", "pos.weight",
                    ".ffwd.net.", ".ffwd.");

    private SafetensorsModel() {}

    /**
     * Writes {@code contents} under the reference's names; {@code lineage} (e.g. generation and
     * round of the model topic), when not empty, goes in the metadata as JSON.
     */
    public static void save(Path file, ModelFile.Contents contents, Map<String, Object> lineage)
            throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt"); // what transformers' loaders look for
        metadata.put(CONFIG, JSON.writeValueAsString(contents.config()));
        ObjectNode vocab = JSON.createObjectNode();
        vocab.put("kind", contents.vocabulary().kind().name().toLowerCase(Locale.ROOT));
        vocab.put("characters", contents.vocabulary().characters());
        metadata.put(VOCABULARY, JSON.writeValueAsString(vocab));
        metadata.put(STEP, Long.toString(contents.step()));
        if (!lineage.isEmpty()) {
            metadata.put(LINEAGE, JSON.writeValueAsString(lineage));
        }
        SafetensorsFile.write(file, metadata, stateDict(contents.config(), contents.parameters()));
    }

    /**
     * Reads a model: its config from the metadata or else from the tensors' shapes (with {@code
     * dropout}), its vocabulary from the metadata or else {@code vocabulary} (which must then be
     * given and match the embedding's rows), its step from the metadata or 0.
     */
    public static ModelFile.Contents load(Path file, Vocabulary vocabulary, double dropout)
            throws IOException {
        SafetensorsFile.Contents read = SafetensorsFile.read(file);
        Map<String, SafetensorsFile.Tensor> tensors = canonicalNames(read.tensors());
        Map<String, String> metadata = read.metadata();
        GptConfig config =
                metadata.containsKey(CONFIG)
                        ? JSON.readValue(metadata.get(CONFIG), GptConfig.class)
                        : shapeOf(tensors, dropout);
        Vocabulary vocab = vocabulary;
        if (metadata.containsKey(VOCABULARY)) {
            JsonNode v = JSON.readTree(metadata.get(VOCABULARY));
            vocab =
                    "bytes".equals(v.path("kind").asText())
                            ? Vocabulary.bytes()
                            : Vocabulary.ofCharacters(v.path("characters").asText());
        }
        if (vocab == null) {
            throw new IllegalArgumentException(
                    file + " names no vocabulary in its metadata: give one (--vocab)");
        }
        if (vocab.size() != config.vocabSize()) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s has an embedding of %d tokens, the vocabulary has %d",
                            file,
                            config.vocabSize(),
                            vocab.size()));
        }
        long step = Long.parseLong(metadata.getOrDefault(STEP, "0"));
        return new ModelFile.Contents(config, vocab, parameters(config, tensors), step);
    }

    /**
     * The lineage in a file's metadata, or an empty map, as {@link ModelFile#lineage} gives a model
     * file's (numbers as numbers, objects as maps): {@code import} carries it over unchanged.
     */
    public static Map<String, Object> lineage(Path file) throws IOException {
        String lineage = SafetensorsFile.read(file).metadata().get(LINEAGE);
        if (lineage == null) {
            return Map.of();
        }
        JsonNode node = JSON.readTree(lineage);
        return node.isObject() ? ModelFile.asMap(node) : Map.of();
    }

    // ---------------------------------------------------------------- the two layouts

    /** The flat vector as the reference's state_dict, in its order. */
    static List<SafetensorsFile.Tensor> stateDict(GptConfig config, float[] flat) {
        Map<String, ParameterLayout.Tensor> ours = byName(config);
        int c = config.nEmbd();
        int hs = config.headSize();
        int t = config.blockSize();
        List<SafetensorsFile.Tensor> out = new ArrayList<>();
        out.add(copy("tok.weight", ours.get("wte"), flat));
        out.add(copy("pos.weight", ours.get("wpe"), flat));
        float[] tril = tril(t);
        for (int l = 0; l < config.nLayer(); l++) {
            String ref = "blocks." + l + ".";
            String our = "h." + l + ".";
            ParameterLayout.Tensor attn = ours.get(our + "attn.c_attn.weight"); // (3C, C)
            for (int h = 0; h < config.nHead(); h++) {
                String head = ref + "sa.heads." + h + ".";
                // reference order: key, query, value, then the tril buffer
                out.add(rows(head + "key.weight", attn, flat, c + h * hs, hs, c));
                out.add(rows(head + "query.weight", attn, flat, h * hs, hs, c));
                out.add(rows(head + "value.weight", attn, flat, 2 * c + h * hs, hs, c));
                out.add(new SafetensorsFile.Tensor(head + "tril", new long[] {t, t}, tril.clone()));
            }
            out.add(copy(ref + "sa.proj.weight", ours.get(our + "attn.c_proj.weight"), flat));
            out.add(copy(ref + "sa.proj.bias", ours.get(our + "attn.c_proj.bias"), flat));
            out.add(copy(ref + "ffwd.0.weight", ours.get(our + "mlp.c_fc.weight"), flat));
            out.add(copy(ref + "ffwd.0.bias", ours.get(our + "mlp.c_fc.bias"), flat));
            out.add(copy(ref + "ffwd.2.weight", ours.get(our + "mlp.c_proj.weight"), flat));
            out.add(copy(ref + "ffwd.2.bias", ours.get(our + "mlp.c_proj.bias"), flat));
            out.add(copy(ref + "ln1.weight", ours.get(our + "ln_1.weight"), flat));
            out.add(copy(ref + "ln1.bias", ours.get(our + "ln_1.bias"), flat));
            out.add(copy(ref + "ln2.weight", ours.get(our + "ln_2.weight"), flat));
            out.add(copy(ref + "ln2.bias", ours.get(our + "ln_2.bias"), flat));
        }
        out.add(copy("ln_f.weight", ours.get("ln_f.weight"), flat));
        out.add(copy("ln_f.bias", ours.get("ln_f.bias"), flat));
        out.add(copy("lm_head.weight", ours.get("lm_head.weight"), flat));
        out.add(copy("lm_head.bias", ours.get("lm_head.bias"), flat));
        return out;
    }

    /**
     * The reference's state_dict (canonical names) as the flat vector of {@code config}; a missing,
     * unexpected or mis-shaped tensor is refused with every such name.
     */
    static float[] parameters(GptConfig config, Map<String, SafetensorsFile.Tensor> stateDict) {
        float[] flat = new float[Math.toIntExact(ParameterLayout.of(config).size())];
        Map<String, ParameterLayout.Tensor> ours = byName(config);
        Map<String, SafetensorsFile.Tensor> expected = new LinkedHashMap<>();
        for (SafetensorsFile.Tensor t : stateDict(config, flat)) {
            expected.put(t.name(), t);
        }
        List<String> errors = new ArrayList<>();
        Set<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(stateDict.keySet());
        missing.removeIf(n -> n.endsWith(".tril")); // a buffer, not a parameter
        if (!missing.isEmpty()) {
            errors.add("missing " + missing);
        }
        Set<String> unexpected = new TreeSet<>(stateDict.keySet());
        unexpected.removeAll(expected.keySet());
        if (!unexpected.isEmpty()) {
            errors.add("unexpected " + unexpected);
        }
        for (SafetensorsFile.Tensor t : stateDict.values()) {
            SafetensorsFile.Tensor e = expected.get(t.name());
            if (e != null && !Arrays.equals(e.shape(), t.shape())) {
                errors.add(
                        t.name()
                                + " has shape "
                                + Arrays.toString(t.shape())
                                + ", the config needs "
                                + Arrays.toString(e.shape()));
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(
                    "not a state_dict of " + config + ": " + String.join("; ", errors));
        }
        int c = config.nEmbd();
        int hs = config.headSize();
        for (Map.Entry<String, SafetensorsFile.Tensor> e : expected.entrySet()) {
            String name = e.getKey();
            if (name.endsWith(".tril")) {
                continue;
            }
            float[] values = stateDict.get(name).values();
            String[] parts = name.split("\\.");
            if (name.contains(".sa.heads.")) { // blocks.L.sa.heads.H.key.weight
                int l = Integer.parseInt(parts[1]);
                int h = Integer.parseInt(parts[4]);
                int row =
                        switch (parts[5]) {
                            case "query" -> h * hs;
                            case "key" -> c + h * hs;
                            default -> 2 * c + h * hs;
                        };
                ParameterLayout.Tensor attn = ours.get("h." + l + ".attn.c_attn.weight");
                System.arraycopy(values, 0, flat, (int) attn.offset() + row * c, values.length);
            } else {
                ParameterLayout.Tensor target = ours.get(ourName(name));
                System.arraycopy(values, 0, flat, (int) target.offset(), values.length);
            }
        }
        return flat;
    }

    /** The shape of the model a state_dict holds (dropout is not in it). */
    static GptConfig shapeOf(Map<String, SafetensorsFile.Tensor> stateDict, double dropout) {
        SafetensorsFile.Tensor tok = stateDict.get("tok.weight");
        SafetensorsFile.Tensor pos = stateDict.get("pos.weight");
        if (tok == null || pos == null || tok.shape().length != 2 || pos.shape().length != 2) {
            throw new IllegalArgumentException(
                    "not a GPT state_dict: no tok.weight (or token_embedding_table.weight) and"
                            + " pos.weight (or position_embedding_table.weight) matrices");
        }
        int layers = 0;
        while (stateDict.containsKey("blocks." + layers + ".ln1.weight")) {
            layers++;
        }
        int heads = 0;
        while (stateDict.containsKey("blocks.0.sa.heads." + heads + ".query.weight")) {
            heads++;
        }
        return new GptConfig(
                (int) tok.shape()[0],
                (int) pos.shape()[0],
                layers,
                heads,
                (int) tok.shape()[1],
                dropout);
    }

    private static Map<String, SafetensorsFile.Tensor> canonicalNames(
            Map<String, SafetensorsFile.Tensor> tensors) {
        Map<String, SafetensorsFile.Tensor> out = new LinkedHashMap<>();
        for (SafetensorsFile.Tensor t : tensors.values()) {
            String name = t.name();
            if (name.startsWith("module.")) {
                name = name.substring("module.".length());
            }
            for (Map.Entry<String, String> a : ALIASES.entrySet()) {
                name = name.replace(a.getKey(), a.getValue());
            }
            out.put(name, new SafetensorsFile.Tensor(name, t.shape(), t.values()));
        }
        return out;
    }

    /** streamgpt's name of a reference tensor other than the per-head ones. */
    private static String ourName(String ref) {
        return switch (ref) {
            case "tok.weight" -> "wte";
            case "pos.weight" -> "wpe";
            default -> {
                if (!ref.startsWith("blocks.")) {
                    yield ref; // ln_f.*, lm_head.*
                }
                String[] p = ref.split("\\.", 3); // blocks, L, rest
                String rest =
                        p[2].replace("sa.proj.", "attn.c_proj.")
                                .replace("ffwd.0.", "mlp.c_fc.")
                                .replace("ffwd.2.", "mlp.c_proj.")
                                .replace("ln1.", "ln_1.")
                                .replace("ln2.", "ln_2.");
                yield "h." + p[1] + "." + rest;
            }
        };
    }

    private static Map<String, ParameterLayout.Tensor> byName(GptConfig config) {
        Map<String, ParameterLayout.Tensor> byName = new HashMap<>();
        for (ParameterLayout.Tensor t : ParameterLayout.of(config).tensors()) {
            byName.put(t.name(), t);
        }
        return byName;
    }

    private static SafetensorsFile.Tensor copy(
            String name, ParameterLayout.Tensor t, float[] flat) {
        int from = (int) t.offset();
        return new SafetensorsFile.Tensor(
                name, t.shape(), Arrays.copyOfRange(flat, from, from + (int) t.size()));
    }

    /** Rows {@code [row, row+count)} of the (?, width) matrix {@code t}. */
    private static SafetensorsFile.Tensor rows(
            String name, ParameterLayout.Tensor t, float[] flat, int row, int count, int width) {
        int from = (int) t.offset() + row * width;
        return new SafetensorsFile.Tensor(
                name,
                new long[] {count, width},
                Arrays.copyOfRange(flat, from, from + count * width));
    }

    /** torch.tril(torch.ones(t, t)), row-major. */
    private static float[] tril(int t) {
        float[] m = new float[t * t];
        for (int r = 0; r < t; r++) {
            Arrays.fill(m, r * t, r * t + r + 1, 1f);
        }
        return m;
    }
}
