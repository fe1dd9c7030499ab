package io.streamgpt.connectors.kafka;

import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KafkaClientSettingsTest {

    private static final String JAAS =
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"job\""
                    + " password=\"s3cret\";";

    @Test
    void theFilesSecretsReachClientsAsPlaceholdersThatKafkaResolvesFromTheFile(@TempDir Path dir)
            throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(
                file,
                "security.protocol=SASL_SSL\n"
                        + "sasl.mechanism=SCRAM-SHA-512\n"
                        + "sasl.jaas.config="
                        + JAAS.replace("\"", "\\\"")
                        + "\n");
        KafkaClientSettings settings =
                new KafkaClientSettings("127.0.0.1:1", file.toString(), Map.of("linger.ms", "7"));

        Properties props = settings.clientProperties();
        assertThat(props)
                .containsEntry("bootstrap.servers", "127.0.0.1:1")
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("linger.ms", "7")
                .containsEntry("sasl.jaas.config", "${streamgptfile:" + file + ":sasl.jaas.config}")
                .containsEntry("config.providers", "streamgptfile");
        assertThat(props.toString()).doesNotContain("s3cret");
        // Kafka's own config resolution (what every client constructor runs) reads the secret
        AdminClientConfig resolved = new AdminClientConfig(props);
        assertThat(resolved.getPassword("sasl.jaas.config").value()).isEqualTo(JAAS);
        assertThat(settings.toString()).doesNotContain("s3cret").contains(file.toString());
    }

    @Test
    void secretLookingValuesAreHiddenUnlessTheyArePlaceholders() {
        Map<String, String> properties =
                Map.of(
                        "sasl.jaas.config", JAAS,
                        "ssl.keystore.password", "${env::KEYSTORE_PASSWORD}",
                        "ssl.key.password", "k",
                        "security.protocol", "SSL");
        assertThat(KafkaClientSettings.shown(properties))
                .isEqualTo(
                        "sasl.jaas.config=[hidden]\n"
                                + "security.protocol=SSL\n"
                                + "ssl.key.password=[hidden]\n"
                                + "ssl.keystore.password=${env::KEYSTORE_PASSWORD}")
                .doesNotContain("s3cret");
        assertThat(KafkaClientSettings.inlineSecrets(properties))
                .containsExactly("sasl.jaas.config", "ssl.key.password");
    }

    @Test
    void anUnreadableFileIsOneLineNamingIt(@TempDir Path dir) {
        Path missing = dir.resolve("missing.properties");
        assertThatThrownBy(
                        () ->
                                new KafkaClientSettings("127.0.0.1:1", missing.toString(), Map.of())
                                        .clientProperties())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(
                        "cannot read the Kafka client config (--kafka-config) " + missing);
    }
}
