package io.streamgpt.embedded;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * What makes streamgpt's single-node broker a secured one: a TLS key pair made at first start (JDK
 * {@code keytool}, a self-signed certificate for 127.0.0.1), SCRAM-SHA-512 credentials of the super
 * user {@code admin}, and the broker settings for a SASL_SSL client listener with KRaft's {@code
 * StandardAuthorizer} (no ACL, no access: {@code allow.everyone.if.no.acl.found=false}).
 *
 * <p>The controller listener is TLS with client certificates required: only a holder of the
 * broker's own key (the broker itself, principal {@code User:CN=streamgpt-broker}, a super user)
 * gets through it, since KRaft cannot authenticate its controller listener with SCRAM: the SCRAM
 * credentials live in the metadata the controller serves. The admin's credentials are bootstrapped
 * into the metadata by the storage formatter ({@link #scramArguments}), as {@code kafka-storage
 * format --add-scram} does.
 *
 * <p>Everything lives in one directory, reused on every later start (same certificate, same
 * passwords): {@code broker.p12} (key pair), {@code truststore.p12} (the certificate, for the
 * broker's own controller connection), {@code ca.pem} (the certificate, for clients), {@code
 * secrets.properties} (keystore and admin passwords), and {@code client.properties}, the admin's
 * client config for {@code --kafka-config}. Files with secrets are readable by their owner only.
 */
public final class BrokerSecurity {

    public static final String ADMIN = "admin";
    public static final String MECHANISM = "SCRAM-SHA-512";

    /** The broker's certificate subject and so its principal on the controller listener. */
    public static final String BROKER_PRINCIPAL = "User:CN=streamgpt-broker";

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final String storePassword;
    private final String adminPassword;

    private BrokerSecurity(Path dir, String storePassword, String adminPassword) {
        this.dir = dir;
        this.storePassword = storePassword;
        this.adminPassword = adminPassword;
    }

    /**
     * The security of {@code dir}: made there on the first call (key pair, passwords, client
     * config), read back on every later one.
     */
    public static BrokerSecurity in(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path secrets = dir.resolve("secrets.properties");
        Properties values = new Properties();
        if (Files.exists(secrets)) {
            try (Reader in = Files.newBufferedReader(secrets, StandardCharsets.UTF_8)) {
                values.load(in);
            }
        } else {
            values.setProperty("store.password", randomSecret());
            values.setProperty("admin.password", randomSecret());
            writePrivate(secrets, values, "streamgpt broker secrets");
        }
        BrokerSecurity security =
                new BrokerSecurity(
                        dir,
                        values.getProperty("store.password"),
                        values.getProperty("admin.password"));
        if (!Files.exists(security.keystore())) {
            security.makeCertificate();
        }
        if (!Files.exists(security.adminConfig())) {
            security.writeClientConfig(security.adminConfig(), ADMIN, security.adminPassword);
        }
        return security;
    }

    /** A random password of 32 hex digits. */
    public static String randomSecret() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    public Path directory() {
        return dir;
    }

    /** The admin's (a super user's) client config file: what {@code --kafka-config} takes. */
    public Path adminConfig() {
        return dir.resolve("client.properties");
    }

    /** The broker's certificate in PEM, what clients trust ({@code ssl.truststore.type=PEM}). */
    public Path certificate() {
        return dir.resolve("ca.pem");
    }

    private Path keystore() {
        return dir.resolve("broker.p12");
    }

    private Path truststore() {
        return dir.resolve("truststore.p12");
    }

    /** The storage formatter's SCRAM arguments: the admin's credentials, in the first metadata. */
    public List<String> scramArguments() {
        return List.of(MECHANISM + "=[name=" + ADMIN + ",password=" + adminPassword + "]");
    }

    /**
     * {@code plain} (the broker properties of {@link EmbeddedKafka#brokerProperties}) turned into a
     * secured broker's: SASL_SSL on the broker port, TLS with client certificates on the controller
     * port, the authorizer and its super users.
     */
    public Properties brokerProperties(Properties plain, int brokerPort, int controllerPort) {
        Properties p = new Properties();
        p.putAll(plain);
        p.put(
                "listeners",
                "SASL_SSL://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "SASL_SSL://127.0.0.1:" + brokerPort);
        p.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,CONTROLLER:SSL");
        p.put("inter.broker.listener.name", "SASL_SSL");
        p.put("sasl.enabled.mechanisms", MECHANISM);
        p.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
        p.put(
                "listener.name.sasl_ssl." + MECHANISM.toLowerCase() + ".sasl.jaas.config",
                jaas(ADMIN, adminPassword));
        p.put("ssl.keystore.type", "PKCS12");
        p.put("ssl.keystore.location", keystore().toString());
        p.put("ssl.keystore.password", storePassword);
        p.put("ssl.key.password", storePassword);
        p.put("ssl.truststore.type", "PKCS12");
        p.put("ssl.truststore.location", truststore().toString());
        p.put("ssl.truststore.password", storePassword);
        p.put("listener.name.controller.ssl.client.auth", "required");
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("super.users", "User:" + ADMIN + ";" + BROKER_PRINCIPAL);
        p.put("allow.everyone.if.no.acl.found", "false");
        return p;
    }

    /**
     * Writes the client config of SCRAM user {@code user} to {@code file} (owner-only) and returns
     * the file.
     */
    public Path writeClientConfig(Path file, String user, String password) throws IOException {
        Properties p = new Properties();
        p.setProperty("security.protocol", "SASL_SSL");
        p.setProperty("sasl.mechanism", MECHANISM);
        p.setProperty("sasl.jaas.config", jaas(user, password));
        p.setProperty("ssl.truststore.type", "PEM");
        p.setProperty("ssl.truststore.location", certificate().toString());
        writePrivate(file, p, "streamgpt: Kafka client config of " + user + " (--kafka-config)");
        return file;
    }

    static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + user
                + "\" password=\""
                + password
                + "\";";
    }

    private void makeCertificate() throws IOException {
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        String pass = storePassword;
        keytool(
                keytool,
                "-genkeypair",
                "-alias",
                "broker",
                "-keyalg",
                "RSA",
                "-keysize",
                "2048",
                "-validity",
                "3650",
                "-dname",
                "CN=streamgpt-broker",
                "-ext",
                "SAN=IP:127.0.0.1,DNS:localhost",
                "-storetype",
                "PKCS12",
                "-keystore",
                keystore().toString(),
                "-storepass",
                pass,
                "-keypass",
                pass);
        // the certificate out of the key store, in Java rather than two more keytool JVMs
        try {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(keystore())) {
                keys.load(in, pass.toCharArray());
            }
            Certificate certificate = keys.getCertificate("broker");
            Files.writeString(
                    certificate(),
                    "-----BEGIN CERTIFICATE-----\n"
                            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                                    .encodeToString(certificate.getEncoded())
                            + "\n-----END CERTIFICATE-----\n",
                    StandardCharsets.US_ASCII);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("broker", certificate);
            try (var out = Files.newOutputStream(truststore())) {
                trust.store(out, pass.toCharArray());
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("could not export the broker's certificate: " + e, e);
        }
        restrict(keystore());
        restrict(truststore());
    }

    private static void keytool(String... command) throws IOException {
        List<String> args = new ArrayList<>(List.of(command));
        Process process = new ProcessBuilder(args).redirectErrorStream(true).start();
        String output;
        try {
            output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException(
                        "keytool " + command[1] + " failed: " + output.replaceAll("\\s+", " "));
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while making the broker's certificate", e);
        }
    }

    private static void writePrivate(Path file, Properties values, String comment)
            throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file);
        restrict(file);
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            values.store(out, comment);
        }
    }

    private static void restrict(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException notPosix) {
            // a file system without POSIX permissions: nothing to restrict
        }
    }
}
