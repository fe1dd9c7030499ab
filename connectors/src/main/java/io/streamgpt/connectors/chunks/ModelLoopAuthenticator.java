package io.streamgpt.connectors.chunks;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;

/**
 * Signs and verifies model chunks with the job's secret: the tag is
 *
 * <pre>
 *   HMAC-SHA256(key, utf8(topic) || 0x00 || value)       value: the whole serialized chunk
 * </pre>
 *
 * so it covers the chunk's header (generation, round, chunk index and count, progress) and its
 * payload, and binds it to the topic it was written to. It travels in the record header {@value
 * #HEADER}, which leaves {@link ModelChunkFormat} as it is. Not thread-safe (one {@link Mac}): one
 * instance per operator or reader.
 */
public final class ModelLoopAuthenticator {

    /** The Kafka record header that carries the tag. */
    public static final String HEADER = "streamgpt-hmac";

    /** Bytes of a tag. */
    public static final int TAG_BYTES = 32;

    private static final String ALGORITHM = "HmacSHA256";

    private final Mac mac;

    public ModelLoopAuthenticator(byte[] key) {
        try {
            mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(key, ALGORITHM));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM has no " + ALGORITHM, e);
        }
    }

    /** The authenticator of the key at {@code location} (see {@link ModelSecret}). */
    public static ModelLoopAuthenticator fromSecret(String location) {
        return new ModelLoopAuthenticator(ModelSecret.read(location));
    }

    /** The tag of {@code value} written to {@code topic}. */
    public byte[] sign(String topic, byte[] value) {
        mac.update(topic.getBytes(StandardCharsets.UTF_8));
        mac.update((byte) 0);
        return mac.doFinal(value);
    }

    /** Whether {@code tag} is {@code value}'s on {@code topic}; compared in constant time. */
    public boolean verifies(String topic, byte[] value, byte[] tag) {
        return tag != null
                && tag.length == TAG_BYTES
                && value != null
                && MessageDigest.isEqual(sign(topic, value), tag);
    }
}
