package io.streamgpt.connectors.kafka;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.provider.FileConfigProvider;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * How every Kafka client of streamgpt connects: the bootstrap servers, extra client properties
 * ({@code --kafka-property key=value}) and a client properties file ({@code --kafka-config FILE},
 * Kafka's properties format, as the {@code --command-config} of Kafka's tools). Every client is
 * built from {@link #clientProperties()}, so that no client can miss the security settings.
 *
 * <p>Secrets stay in the file. This value holds its path only, and {@link #clientProperties()}
 * reads the file where a client is made (on the cluster, for the job's sources and sinks); even
 * then a secret-looking value of the file ({@link #looksSecret}) is not copied but referred to by a
 * placeholder of Kafka's {@link FileConfigProvider}, {@code ${streamgptfile:/abs/path:key}}, which
 * the Kafka client itself resolves when it is constructed. So the job graph, the job's arguments,
 * its printed config and its logs carry the path and the placeholder, never the password. A value
 * that already is a config-provider placeholder ({@code ${env::KAFKA_PASSWORD}} with Kafka's {@code
 * EnvVarConfigProvider}, say) is left for the client to resolve in the same way.
 *
 * <p>Precedence: the file, then the properties, then the bootstrap servers (as Kafka's tools, where
 * {@code --bootstrap-server} wins over {@code --command-config}).
 *
 * @param bootstrapServers host:port[,host:port...]
 * @param configFile a client properties file, read where each client is made; null for none
 * @param properties extra client properties, in key order
 */
public record KafkaClientSettings(
        String bootstrapServers, String configFile, Map<String, String> properties)
        implements Serializable {

    /** The name under which the file's secrets are referred to (Kafka's FileConfigProvider). */
    public static final String FILE_PROVIDER = "streamgptfile";

    /** What a shown secret reads as. */
    public static final String HIDDEN = "[hidden]";

    private static final Pattern SECRET_KEY =
            Pattern.compile(
                    "(?i).*(password|passwd|jaas|secret|credential|token|user\\.info|private"
                            + "|(^|\\.)key($|\\.)|keystore\\.key|keystore\\.certificate).*");

    public KafkaClientSettings {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("Kafka bootstrap servers must be non-empty");
        }
        properties =
                Collections.unmodifiableMap(
                        new TreeMap<>(properties == null ? Map.of() : properties));
        if (configFile != null && configFile.isBlank()) {
            configFile = null;
        }
    }

    /** A plaintext client of {@code bootstrapServers}, nothing else set. */
    public static KafkaClientSettings plaintext(String bootstrapServers) {
        return new KafkaClientSettings(bootstrapServers, null, Map.of());
    }

    /** These settings with one more (or another) property. */
    public KafkaClientSettings withProperty(String key, String value) {
        Map<String, String> more = new TreeMap<>(properties);
        more.put(key, value);
        return new KafkaClientSettings(bootstrapServers, configFile, more);
    }

    /** These settings with another client properties file. */
    public KafkaClientSettings withConfigFile(Path file) {
        return new KafkaClientSettings(
                bootstrapServers, file == null ? null : file.toString(), properties);
    }

    /**
     * The properties every client starts from: the file's (secrets as FileConfigProvider
     * placeholders), the extra properties, the bootstrap servers. The file is read now: an
     * unreadable one is an {@link IllegalArgumentException} naming it.
     */
    public Properties clientProperties() {
        Properties props = new Properties();
        Set<String> providers = new LinkedHashSet<>();
        if (configFile != null) {
            Path file = Path.of(configFile).toAbsolutePath().normalize();
            Properties fromFile = load(file);
            boolean placeheld = false;
            for (String key : fromFile.stringPropertyNames()) {
                String value = fromFile.getProperty(key);
                if (looksSecret(key) && !isPlaceholder(value)) {
                    if (file.toString().contains(":") || file.toString().contains("}")) {
                        throw new IllegalArgumentException(
                                "the Kafka client config "
                                        + file
                                        + " holds secrets but its path has ':' or '}', which"
                                        + " Kafka's config providers cannot name: move it");
                    }
                    props.put(key, "${" + FILE_PROVIDER + ":" + file + ":" + key + "}");
                    placeheld = true;
                } else {
                    props.put(key, value);
                }
            }
            providers.addAll(providerNames(fromFile.getProperty(CONFIG_PROVIDERS)));
            if (placeheld) {
                providers.add(FILE_PROVIDER);
                props.put(
                        CONFIG_PROVIDERS + "." + FILE_PROVIDER + ".class",
                        FileConfigProvider.class.getName());
            }
        }
        props.putAll(properties);
        providers.addAll(providerNames(properties.get(CONFIG_PROVIDERS)));
        if (!providers.isEmpty()) {
            props.put(CONFIG_PROVIDERS, String.join(",", providers));
        }
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return props;
    }

    private static final String CONFIG_PROVIDERS = AbstractConfig.CONFIG_PROVIDERS_CONFIG;

    private static Set<String> providerNames(String list) {
        Set<String> names = new LinkedHashSet<>();
        if (list != null) {
            for (String name : list.split(",")) {
                if (!name.isBlank()) {
                    names.add(name.strip());
                }
            }
        }
        return names;
    }

    private static Properties load(Path file) {
        Properties props = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(in);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot read the Kafka client config (--kafka-config) "
                            + file
                            + ": "
                            + (e.getMessage() == null
                                    ? e.getClass().getSimpleName()
                                    : e.getMessage()),
                    e);
        }
        return props;
    }

    /** Whether a property's name says its value is a secret (password, JAAS config, key, ...). */
    public static boolean looksSecret(String key) {
        return SECRET_KEY.matcher(key).matches();
    }

    /** Whether a value is (or holds) a config-provider placeholder {@code ${provider:path:key}}. */
    public static boolean isPlaceholder(String value) {
        return value != null && value.contains("${");
    }

    /**
     * A property as it may be shown: a secret-looking one as {@link #HIDDEN}, unless a placeholder.
     */
    public static String shown(String key, String value) {
        return looksSecret(key) && !isPlaceholder(value) ? HIDDEN : value;
    }

    /** Properties as they may be shown, {@code key=value} per line with secrets hidden. */
    public static String shown(Map<String, String> properties) {
        return new TreeMap<>(properties)
                .entrySet().stream()
                        .map(e -> e.getKey() + "=" + shown(e.getKey(), e.getValue()))
                        .collect(Collectors.joining("\n"));
    }

    /**
     * The keys of {@code properties} whose values are secrets given inline (not placeholders): what
     * must not travel as job arguments.
     */
    public static Set<String> inlineSecrets(Map<String, String> properties) {
        return new TreeMap<>(properties)
                .entrySet().stream()
                        .filter(e -> looksSecret(e.getKey()) && !isPlaceholder(e.getValue()))
                        .map(Map.Entry::getKey)
                        .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    /** The servers, the file's path and the properties with secrets hidden: safe to log. */
    @Override
    public String toString() {
        StringBuilder out = new StringBuilder(bootstrapServers);
        if (configFile != null) {
            out.append(" (client config ").append(configFile).append(')');
        }
        if (!properties.isEmpty()) {
            out.append(" [").append(shown(properties).replace("\n", ", ")).append(']');
        }
        return out.toString();
    }
}
