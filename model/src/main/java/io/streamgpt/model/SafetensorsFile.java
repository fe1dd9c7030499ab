package io.streamgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The <a href="https://github.com/huggingface/safetensors">safetensors</a> format, float32 tensors
 * only: what PyTorch users load with {@code safetensors.torch.load_file}.
 *
 * <pre>
 * offset  size   content
 * 0       8      header length N, uint64 little-endian
 * 8       N      header, UTF-8 JSON: {"__metadata__": {string: string}, NAME: {"dtype": "F32",
 *                "shape": [..], "data_offsets": [begin, end]}, ...}, padded with spaces to a
 *                multiple of 8 bytes
 * 8+N     ...    the tensors' bytes, little-endian, row-major; offsets relative to 8+N, each tensor
 *                right after the one before, nothing left over
 * </pre>
 */
public final class SafetensorsFile {

    /** The format's limit on the header (safetensors refuses larger ones). */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One named tensor, row-major. */
    public record Tensor(String name, long[] shape, float[] values) {
        public Tensor {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            if (n != values.length) {
                throw new IllegalArgumentException(
                        name
                                + ": shape "
                                + Arrays.toString(shape)
                                + " holds "
                                + n
                                + " values, not "
                                + values.length);
            }
        }
    }

    /** A file's metadata and tensors, in the order of their data. */
    public record Contents(Map<String, String> metadata, Map<String, Tensor> tensors) {}

    private SafetensorsFile() {}

    /** Writes the tensors in the given order, atomically (a temporary file renamed over it). */
    public static void write(Path file, Map<String, String> metadata, List<Tensor> tensors)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            ObjectNode node = header.putObject(t.name());
            node.put("dtype", "F32");
            var shape = node.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long end = offset + 4L * t.values().length;
            node.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // the tensors start 8-byte aligned
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');

        Path target = file.toAbsolutePath();
        Files.createDirectories(target.getParent());
        Path temp = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".tmp");
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                length.putLong(padded).flip();
                writeFully(out, length);
                writeFully(out, ByteBuffer.wrap(headerBytes));
                for (Tensor t : tensors) {
                    writeFully(
                            out,
                            ByteBuffer.wrap(
                                    FloatArrays.toBytes(t.values(), ByteOrder.LITTLE_ENDIAN)));
                }
                out.force(true);
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

    /** Reads a file of float32 tensors; anything else is an {@link IOException} naming why. */
    public static Contents read(Path file) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            if (size < 8) {
                throw new IOException(file + " is not a safetensors file: " + size + " bytes");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(in, lengthBytes, 0);
            long headerLength = lengthBytes.flip().getLong();
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
                throw new IOException(
                        file
                                + " is not a safetensors file: header length "
                                + headerLength
                                + " in a file of "
                                + size
                                + " bytes");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(in, headerBytes, 8);
            JsonNode header;
            try {
                header =
                        JSON.readTree(
                                new String(headerBytes.array(), StandardCharsets.UTF_8).trim());
            } catch (IOException e) {
                throw new IOException(file + " has a header that is not JSON: " + e.getMessage());
            }
            if (header == null || !header.isObject()) {
                throw new IOException(file + " has a header that is not a JSON object");
            }
            long dataStart = 8 + headerLength;
            long dataLength = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue()
                            .fields()
                            .forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                } else {
                    entries.add(e);
                }
            }
            entries.sort(
                    (a, b) ->
                            Long.compare(
                                    a.getValue().path("data_offsets").path(0).asLong(),
                                    b.getValue().path("data_offsets").path(0).asLong()));
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            long expectedBegin = 0;
            for (Map.Entry<String, JsonNode> e : entries) {
                String name = e.getKey();
                JsonNode node = e.getValue();
                String dtype = node.path("dtype").asText();
                if (!dtype.equals("F32")) {
                    throw new IOException(
                            file + ": tensor " + name + " is " + dtype + ", only F32 is read");
                }
                long[] shape = new long[node.path("shape").size()];
                long count = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = node.path("shape").get(i).asLong();
                    count *= shape[i];
                }
                long begin = node.path("data_offsets").path(0).asLong(-1);
                long end = node.path("data_offsets").path(1).asLong(-1);
                if (begin != expectedBegin || end - begin != 4 * count || end > dataLength) {
                    throw new IOException(
                            String.format(
                                    "%s: tensor %s has data_offsets [%d, %d], expected [%d, %d]"
                                            + " within %d data bytes",
                                    file,
                                    name,
                                    begin,
                                    end,
                                    expectedBegin,
                                    expectedBegin + 4 * count,
                                    dataLength));
                }
                if (count > Integer.MAX_VALUE) {
                    throw new IOException(file + ": tensor " + name + " is too large");
                }
                ByteBuffer data = ByteBuffer.allocate((int) (4 * count));
                readFully(in, data, dataStart + begin);
                data.flip().order(ByteOrder.LITTLE_ENDIAN);
                tensors.put(name, new Tensor(name, shape, FloatArrays.get(data, (int) count)));
                expectedBegin = end;
            }
            if (expectedBegin != dataLength) {
                throw new IOException(
                        file
                                + " has "
                                + (dataLength - expectedBegin)
                                + " bytes after its last tensor");
            }
            return new Contents(metadata, tensors);
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    private static void readFully(FileChannel in, ByteBuffer buffer, long position)
            throws IOException {
        while (buffer.hasRemaining()) {
            int n = in.read(buffer, position + buffer.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }
}
