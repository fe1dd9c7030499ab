package io.streamgpt.cli.stack;

import io.streamgpt.cli.CommandFailure;
import io.streamgpt.cli.cluster.FlinkRest;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.embedded.BrokerSecurity;
import io.streamgpt.embedded.EmbeddedKafka;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The stack users run streamgpt on, as separate processes on 127.0.0.1: a Kafka broker (KRaft, from
 * the Maven jars, storage formatted on first start), a standalone Flink session cluster (one
 * JobManager, N TaskManagers, assembled from {@code deploy/flink-lib} since no Flink distribution
 * can be downloaded here), and Prometheus scraping the Flink reporters. {@code up} starts what is
 * not running yet, {@code down} stops what {@code up} started, by pid file.
 */
public final class ClusterStack {

    /**
     * Where the stack lives and listens.
     *
     * @param home the streamgpt checkout (built: the classpath files below exist)
     * @param runDir pid files, logs, configs, Kafka data, checkpoints and savepoints
     * @param slots task slots per TaskManager: one per replica
     * @param taskManagerHeapMb task heap of each TaskManager
     * @param taskManagerNativeMb task off-heap memory of each TaskManager: libtorch's tensors live
     *     there
     * @param reporterPorts port range of the Flink Prometheus reporters, one port per process
     * @param secure the broker takes SASL_SSL (SCRAM-SHA-512) with ACLs only; its admin's client
     *     config is {@link #kafkaClientConfig}
     */
    public record Settings(
            Path home,
            Path runDir,
            int kafkaPort,
            int kafkaControllerPort,
            int flinkRestPort,
            int flinkRpcPort,
            int prometheusPort,
            String reporterPorts,
            int taskManagers,
            int slots,
            int taskManagerHeapMb,
            int taskManagerNativeMb,
            boolean prometheus,
            boolean secure) {

        public Settings {
            runDir = runDir.toAbsolutePath().normalize();
            if (taskManagers < 1
                    || slots < 1
                    || taskManagerHeapMb < 64
                    || taskManagerNativeMb < 64) {
                throw new IllegalArgumentException(
                        "need >= 1 TaskManager with >= 1 slot, >= 64 MB heap and native memory");
            }
            if (!reporterPorts.matches("\\d+(-\\d+)?")) {
                throw new IllegalArgumentException(
                        "reporter ports must be a port or a range FROM-TO, got " + reporterPorts);
            }
        }

        /** These settings for the streamgpt checkout {@code home}. */
        public Settings withHome(Path home) {
            return new Settings(
                    home,
                    runDir,
                    kafkaPort,
                    kafkaControllerPort,
                    flinkRestPort,
                    flinkRpcPort,
                    prometheusPort,
                    reporterPorts,
                    taskManagers,
                    slots,
                    taskManagerHeapMb,
                    taskManagerNativeMb,
                    prometheus,
                    secure);
        }

        public String bootstrapServers() {
            return "127.0.0.1:" + kafkaPort;
        }

        /** Where a secured broker's certificate, passwords and client configs live. */
        public Path kafkaSecurityDir() {
            return runDir.resolve("kafka").resolve("security");
        }

        /** The client config of the secured broker's admin: what --kafka-config takes. */
        public Path kafkaClientConfig() {
            return kafkaSecurityDir().resolve("client.properties");
        }

        /**
         * What the stack's Kafka clients are made from: plaintext, or the admin's client config.
         */
        public KafkaClientSettings kafkaClientSettings() {
            return secure
                    ? new KafkaClientSettings(
                            bootstrapServers(), kafkaClientConfig().toString(), Map.of())
                    : KafkaClientSettings.plaintext(bootstrapServers());
        }

        public String flinkUrl() {
            return "http://127.0.0.1:" + flinkRestPort;
        }

        public String prometheusUrl() {
            return "http://127.0.0.1:" + prometheusPort;
        }

        List<Integer> reporterPortList() {
            String[] range = reporterPorts.split("-");
            int from = Integer.parseInt(range[0]);
            int to = Integer.parseInt(range[range.length - 1]);
            return IntStream.rangeClosed(from, to).boxed().toList();
        }
    }

    /** One line of {@code status}. */
    public record ServiceStatus(String name, Optional<Long> pid, String address, String log) {}

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    private static final String STOP_HINT = " (`streamgpt stack down` stops what did start)";
    private static final List<String> JVM_OPENS =
            List.of(
                    "--add-opens=java.base/java.lang=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
                    "--add-opens=java.base/java.net=ALL-UNNAMED",
                    "--add-opens=java.base/java.io=ALL-UNNAMED",
                    "--add-opens=java.base/java.nio=ALL-UNNAMED",
                    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens=java.base/java.text=ALL-UNNAMED",
                    "--add-opens=java.base/java.time=ALL-UNNAMED",
                    "--add-opens=java.base/java.util=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED",
                    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
                    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
                    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED");

    private final Settings settings;
    private Path flinkConf;
    private final String javaCommand = ProcessHandle.current().info().command().orElse("java");

    public ClusterStack(Settings settings) {
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    /**
     * The settings the stack in {@code runDir} was started with, if it was; an unreadable settings
     * file is one line.
     */
    public static Optional<Settings> startedIn(Path runDir) throws IOException {
        Path file = settingsFile(runDir.toAbsolutePath().normalize());
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(file.toFile(), Settings.class));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            Throwable reason = e.getCause() != null ? e.getCause() : e;
            String message =
                    reason instanceof com.fasterxml.jackson.core.JacksonException jackson
                            ? jackson.getOriginalMessage()
                            : reason.getMessage();
            throw new CommandFailure(
                    "cannot read the stack settings "
                            + file
                            + " ("
                            + String.valueOf(message).lines().findFirst().orElse("")
                            + "): if nothing of this stack runs (see `ps`), delete it",
                    e);
        }
    }

    /** The settings of this stack that differ from {@code other}'s, as "name: this vs other". */
    static List<String> differences(Settings mine, Settings other) {
        List<String> differences = new ArrayList<>();
        for (var component : Settings.class.getRecordComponents()) {
            try {
                Object a = component.getAccessor().invoke(mine);
                Object b = component.getAccessor().invoke(other);
                if (!a.equals(b)) {
                    differences.add(component.getName() + " " + b + " (given " + a + ")");
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return differences;
    }

    private static Path settingsFile(Path runDir) {
        return runDir.resolve("stack.json");
    }

    // ---------------------------------------------------------------- up, down, status

    /** Starts every service that does not run yet and waits until each answers. */
    public void up(PrintWriter out) throws IOException, InterruptedException {
        Files.createDirectories(settings.runDir().resolve("logs"));
        Optional<Settings> recorded = startedIn(settings.runDir());
        if (recorded.isPresent() && !recorded.get().equals(settings)) {
            List<String> running =
                    new ClusterStack(recorded.get())
                            .services().stream()
                                    .filter(ManagedProcess::running)
                                    .map(ManagedProcess::name)
                                    .toList();
            if (!running.isEmpty()) {
                throw new CommandFailure(
                        "the stack in "
                                + settings.runDir()
                                + " runs ("
                                + String.join(", ", running)
                                + ") with other settings: "
                                + String.join(", ", differences(settings, recorded.get()))
                                + "; run `stack up` with the options it was started with (or"
                                + " none: "
                                + settingsFile(settings.runDir())
                                + " keeps them), or `stack down` first");
            }
        }
        JSON.writerWithDefaultPrettyPrinter()
                .writeValue(settingsFile(settings.runDir()).toFile(), settings);
        if (settings.prometheus() && !onPath("prometheus")) {
            throw new IllegalArgumentException(
                    "Prometheus is not installed: `sudo apt-get install prometheus` (Debian's "
                            + "package), or run the stack without it: --no-prometheus");
        }
        startIfStopped(kafka(), settings.kafkaPort(), this::startKafka, out);
        waitForKafka();
        startIfStopped(jobManager(), settings.flinkRestPort(), this::startJobManager, out);
        for (int i = 0; i < settings.taskManagers(); i++) {
            int index = i;
            startIfStopped(taskManager(i), -1, () -> startTaskManager(index), out);
        }
        waitForTaskManagers(settings.taskManagers(), true);
        if (settings.prometheus()) {
            startIfStopped(prometheus(), settings.prometheusPort(), this::startPrometheus, out);
            waitForHttp(settings.prometheusUrl() + "/-/ready");
        }
        out.printf(
                "stack up: Kafka %s%s, Flink %s (%d TaskManager(s) x %d slot(s))%s%n",
                settings.bootstrapServers(),
                settings.secure()
                        ? " (SASL_SSL + ACLs; clients: --kafka-config "
                                + settings.kafkaClientConfig()
                                + ")"
                        : "",
                settings.flinkUrl(),
                settings.taskManagers(),
                settings.slots(),
                settings.prometheus() ? ", Prometheus " + settings.prometheusUrl() : "");
        if (settings.secure()) {
            out.printf(
                    "every command and the submitted job connect with: export"
                            + " STREAMGPT_KAFKA_CONFIG=%s%n",
                    settings.kafkaClientConfig());
        }
        out.flush();
    }

    /**
     * Stops, in reverse order, every service this run directory's pid files name; returns how many
     * ran.
     */
    public int down(PrintWriter out) throws IOException {
        // the session cluster keeps no job across a restart (no HA): name what ran, and where
        // its retained checkpoints are
        List<String> runningJobs = new ArrayList<>();
        if (jobManager().running()) {
            try {
                for (FlinkRest.Job job : new FlinkRest(settings.flinkUrl()).jobs()) {
                    if (!List.of("FINISHED", "CANCELED", "FAILED").contains(job.state())) {
                        runningJobs.add(job.id());
                    }
                }
            } catch (IOException unreachable) {
                // a JobManager that does not answer has no job to name
            }
        }
        int stopped = 0;
        List<ManagedProcess> services = services();
        Collections.reverse(services);
        for (ManagedProcess service : services) {
            if (service.stop(Duration.ofSeconds(30))) {
                out.println("stopped " + service.name());
                stopped++;
            }
        }
        for (String job : runningJobs) {
            out.println(
                    "job "
                            + job
                            + " was running and is gone with the cluster: "
                            + latestCheckpoint(job)
                                    .map(
                                            checkpoint ->
                                                    "resume it after `stack up` with `streamgpt"
                                                            + " submit --from-savepoint "
                                                            + checkpoint
                                                            + "` and its options")
                                    .orElse("it had no completed checkpoint"));
        }
        out.println(stopped == 0 ? "nothing was running" : "stack down");
        out.flush();
        return stopped;
    }

    /**
     * The newest completed checkpoint (one with its {@code _metadata}) that job {@code jobId} left
     * in the stack's checkpoint directory: the job retains them on cancellation and shutdown.
     */
    Optional<Path> latestCheckpoint(String jobId) throws IOException {
        Path dir = settings.runDir().resolve("flink").resolve("checkpoints").resolve(jobId);
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (var checkpoints = Files.list(dir)) {
            return checkpoints
                    .filter(c -> c.getFileName().toString().matches("chk-\\d+"))
                    .filter(c -> Files.exists(c.resolve("_metadata")))
                    .max(
                            java.util.Comparator.comparingLong(
                                    c -> Long.parseLong(c.getFileName().toString().substring(4))));
        }
    }

    public List<ServiceStatus> status() {
        List<ServiceStatus> rows = new ArrayList<>();
        for (ManagedProcess service : services()) {
            String address =
                    switch (service.name()) {
                        case "kafka" -> settings.bootstrapServers();
                        case "jobmanager" -> settings.flinkUrl();
                        case "prometheus" -> settings.prometheusUrl();
                        default -> "reporter on 127.0.0.1:" + settings.reporterPorts();
                    };
            rows.add(
                    new ServiceStatus(
                            service.name(),
                            service.handle().map(ProcessHandle::pid),
                            address,
                            settings.runDir().relativize(service.log()).toString()));
        }
        return rows;
    }

    /**
     * Every service of the stack, TaskManagers found by pid file included (tests start extra ones).
     */
    List<ManagedProcess> services() {
        List<ManagedProcess> services = new ArrayList<>(List.of(kafka(), jobManager()));
        int taskManagers = settings.taskManagers();
        while (Files.exists(
                settings.runDir().resolve("taskmanager-" + (taskManagers + 1) + ".pid"))) {
            taskManagers++;
        }
        for (int i = 0; i < taskManagers; i++) {
            services.add(taskManager(i));
        }
        services.add(prometheus());
        return services;
    }

    ManagedProcess kafka() {
        return new ManagedProcess("kafka", settings.runDir());
    }

    ManagedProcess jobManager() {
        return new ManagedProcess("jobmanager", settings.runDir());
    }

    /** TaskManager {@code index}, counting from 0 (its process is named taskmanager-(index+1)). */
    public ManagedProcess taskManager(int index) {
        return new ManagedProcess("taskmanager-" + (index + 1), settings.runDir());
    }

    ManagedProcess prometheus() {
        return new ManagedProcess("prometheus", settings.runDir());
    }

    private interface Starter {
        void start() throws IOException;
    }

    private void startIfStopped(ManagedProcess service, int port, Starter starter, PrintWriter out)
            throws IOException {
        Optional<ProcessHandle> running = service.handle();
        if (running.isPresent()) {
            out.println(service.name() + " already running (pid " + running.get().pid() + ")");
            return;
        }
        if (port > 0 && portInUse(port)) { // a state of the machine, not of the options: exit 1
            throw new CommandFailure(
                    "port "
                            + port
                            + " of "
                            + service.name()
                            + " is in use by another process: "
                            + "stop it or choose another port (see `streamgpt stack up --help`)");
        }
        try {
            starter.start();
        } catch (IOException e) {
            throw new CommandFailure(
                    "could not start "
                            + service.name()
                            + " ("
                            + e.getMessage()
                            + "): see "
                            + service.log()
                            + STOP_HINT,
                    e);
        }
        out.println(
                "started "
                        + service.name()
                        + " (pid "
                        + service.handle().map(ProcessHandle::pid).orElse(-1L)
                        + ", log "
                        + settings.runDir().relativize(service.log())
                        + ")");
        out.flush();
    }

    // ---------------------------------------------------------------- Kafka

    private void startKafka() throws IOException {
        Path dir = settings.runDir().resolve("kafka");
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        Properties properties =
                EmbeddedKafka.brokerProperties(
                        settings.kafkaPort(), settings.kafkaControllerPort(), data);
        List<String> scram = List.of();
        if (settings.secure()) {
            if (!Files.exists(settings.kafkaClientConfig())
                    && EmbeddedKafka.clusterIdOf(data).isPresent()) {
                // the admin's SCRAM credentials go into the metadata when the directory is
                // formatted: a directory formatted plaintext has none, and no one could log in
                throw new CommandFailure(
                        "kafka: "
                                + data
                                + " was formatted without --secure, so it has no admin"
                                + " credentials: use another --run-dir for a secured stack");
            }
            BrokerSecurity security = BrokerSecurity.in(settings.kafkaSecurityDir());
            properties =
                    security.brokerProperties(
                            properties, settings.kafkaPort(), settings.kafkaControllerPort());
            scram = security.scramArguments();
        }
        Path config = dir.resolve("server.properties");
        Files.deleteIfExists(config);
        Files.createFile(config);
        try {
            // a secured broker's file holds its keystore and admin passwords
            Files.setPosixFilePermissions(
                    config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException notPosix) {
            // nothing to restrict
        }
        try (var writer = Files.newBufferedWriter(config)) {
            properties.store(writer, "streamgpt stack: a single-node KRaft broker on 127.0.0.1");
        }
        formatKafka(dir, data, scram);
        List<String> command = new ArrayList<>(List.of(javaCommand, "-Xms256m", "-Xmx512m"));
        command.addAll(kafka().log4jOptions(logConfig())); // the broker's log rolls too
        command.addAll(List.of("-cp", launcherClasspath(), "kafka.Kafka", config.toString()));
        kafka().start(command, Map.of());
    }

    /**
     * Formats the broker's directory on the first start and records its cluster id in {@code
     * kafka/cluster.id}; on every later start the directory keeps its cluster id and topics, and
     * one of another cluster (or another node) is refused in one line.
     */
    static String formatKafka(Path kafkaDir, Path data) throws IOException {
        return formatKafka(kafkaDir, data, List.of());
    }

    /** As {@link #formatKafka(Path, Path)}, with SCRAM credentials for a new directory. */
    static String formatKafka(Path kafkaDir, Path data, List<String> scramArguments)
            throws IOException {
        Path idFile = kafkaDir.resolve("cluster.id");
        Optional<String> recorded =
                Files.exists(idFile)
                        ? Optional.of(Files.readString(idFile).trim()).filter(id -> !id.isEmpty())
                        : Optional.empty();
        String clusterId;
        try {
            clusterId = EmbeddedKafka.format(data, recorded, scramArguments);
        } catch (IOException e) { // another cluster's directory, or the formatter failed
            throw new CommandFailure("kafka: " + e.getMessage(), e);
        }
        if (recorded.isEmpty()) {
            Files.writeString(idFile, clusterId + "\n");
        }
        return clusterId;
    }

    private void waitForKafka() throws IOException, InterruptedException {
        Properties admin = settings.kafkaClientSettings().clientProperties();
        admin.put("request.timeout.ms", "5000");
        admin.put("default.api.timeout.ms", "5000");
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        // the listener first: an Admin client logs a warning for every refused connection
        while (!portInUse(settings.kafkaPort())) {
            ensureAlive(kafka());
            if (System.nanoTime() > deadline) {
                throw new CommandFailure(
                        "kafka did not listen on "
                                + settings.bootstrapServers()
                                + " within "
                                + READY_TIMEOUT.toSeconds()
                                + " s: see "
                                + kafka().log()
                                + STOP_HINT);
            }
            Thread.sleep(300);
        }
        try (var client = org.apache.kafka.clients.admin.Admin.create(admin)) {
            while (true) {
                ensureAlive(kafka());
                try {
                    client.describeCluster().nodes().get(5, java.util.concurrent.TimeUnit.SECONDS);
                    return;
                } catch (java.util.concurrent.ExecutionException
                        | java.util.concurrent.TimeoutException notYet) {
                    if (System.nanoTime() > deadline) {
                        throw new CommandFailure(
                                "kafka did not answer on "
                                        + settings.bootstrapServers()
                                        + " within "
                                        + READY_TIMEOUT.toSeconds()
                                        + " s: see "
                                        + kafka().log()
                                        + STOP_HINT);
                    }
                    Thread.sleep(500);
                }
            }
        }
    }

    // ---------------------------------------------------------------- Flink

    private void startJobManager() throws IOException {
        List<String> command = new ArrayList<>(List.of(javaCommand, "-Xms512m", "-Xmx512m"));
        command.addAll(flinkJvmOptions(jobManager()));
        command.addAll(
                List.of(
                        "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                        "--configDir",
                        flinkConf().toString(),
                        "-D",
                        "io.tmp.dirs=" + freshTmpDir(jobManager())));
        jobManager().start(command, Map.of());
    }

    /** Starts TaskManager {@code index}; the fault tests start replacements with it. */
    public void startTaskManager(int index) throws IOException {
        int heapMb =
                128 + settings.taskManagerHeapMb(); // framework + task heap, as config.yaml says
        int directMb =
                128 + settings.taskManagerNativeMb() + 64; // framework + task off-heap + network
        List<String> command =
                new ArrayList<>(
                        List.of(
                                javaCommand,
                                "-Xms" + heapMb + "m",
                                "-Xmx" + heapMb + "m",
                                "-XX:MaxDirectMemorySize=" + directMb + "m",
                                "-XX:MaxMetaspaceSize=256m",
                                "-Dai.djl.offline=true"));
        command.addAll(flinkJvmOptions(taskManager(index)));
        command.addAll(
                List.of(
                        "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                        "--configDir",
                        flinkConf().toString(),
                        "-D",
                        "io.tmp.dirs=" + freshTmpDir(taskManager(index))));
        Path djl = settings.home().resolve(".djl");
        // Idle OpenMP threads must sleep, not spin: spinning threads steal the cores of the other
        // replicas.
        taskManager(index)
                .start(
                        command,
                        Map.of(
                                "DJL_CACHE_DIR",
                                djl.toString(),
                                "ENGINE_CACHE_DIR",
                                djl.toString(),
                                "OMP_WAIT_POLICY",
                                "PASSIVE"));
    }

    /**
     * The temporary directory of one Flink process ({@code flink/tmp/<name>}), emptied before it
     * starts: what a process killed with {@code kill -9} left there (its working directory, the RPC
     * jar it unpacked, blob and shuffle files) is garbage, and would pile up with every crash.
     */
    Path freshTmpDir(ManagedProcess service) throws IOException {
        Path dir = settings.runDir().resolve("flink").resolve("tmp").resolve(service.name());
        if (Files.exists(dir)) {
            try (var files = Files.walk(dir)) {
                for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    if (!file.equals(dir)) {
                        Files.delete(file);
                    }
                }
            }
        }
        return Files.createDirectories(dir);
    }

    private List<String> flinkJvmOptions(ManagedProcess service) {
        List<String> options = new ArrayList<>(JVM_OPENS);
        options.addAll(service.log4jOptions(logConfig()));
        options.add("-Dstreamgpt.stack=" + settings.runDir());
        options.add("-cp");
        options.add(clusterClasspath());
        return options;
    }

    /** The rolling log4j configuration of the stack's Java services. */
    private Path logConfig() {
        return settings.home().resolve("deploy/flink/log4j-stack.properties");
    }

    /** The Flink config directory of this stack, written once per ClusterStack. */
    private Path flinkConf() throws IOException {
        if (flinkConf == null) {
            flinkConf = writeFlinkConfig();
        }
        return flinkConf;
    }

    /** deploy/flink/config.yaml, then this stack's addresses, ports, sizes and directories. */
    private Path writeFlinkConfig() throws IOException {
        Path conf = settings.runDir().resolve("flink").resolve("conf");
        Files.createDirectories(conf);
        Path flinkDir = settings.runDir().resolve("flink");
        String base = Files.readString(settings.home().resolve("deploy/flink/config.yaml"));
        String stack =
                String.join(
                        "\n",
                        "",
                        "# ---- written by `streamgpt stack up` for " + settings.runDir(),
                        "jobmanager.rpc.address: 127.0.0.1",
                        "jobmanager.rpc.port: " + settings.flinkRpcPort(),
                        "rest.port: " + settings.flinkRestPort(),
                        "taskmanager.numberOfTaskSlots: " + settings.slots(),
                        "taskmanager.cpu.cores: " + settings.slots(),
                        "taskmanager.memory.task.heap.size: " + settings.taskManagerHeapMb() + "m",
                        "taskmanager.memory.task.off-heap.size: "
                                + settings.taskManagerNativeMb()
                                + "m",
                        "metrics.reporter.prom.port: " + settings.reporterPorts(),
                        "execution.checkpointing.dir: " + flinkDir.resolve("checkpoints").toUri(),
                        "execution.checkpointing.savepoint-dir: "
                                + flinkDir.resolve("savepoints").toUri(),
                        "web.upload.dir: " + flinkDir.resolve("uploads"),
                        "io.tmp.dirs: " + flinkDir.resolve("tmp"),
                        "");
        Files.createDirectories(flinkDir.resolve("uploads"));
        Files.createDirectories(flinkDir.resolve("tmp"));
        Path file = conf.resolve("config.yaml");
        Files.writeString(file, base + stack);
        return conf;
    }

    private void waitForTaskManagers(int count, boolean startedByUp)
            throws IOException, InterruptedException {
        FlinkRest rest = new FlinkRest(settings.flinkUrl());
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            ensureAlive(jobManager());
            for (int i = 0; startedByUp && i < count; i++) {
                ensureAlive(taskManager(i));
            }
            try {
                if (rest.taskManagers() >= count) {
                    return;
                }
            } catch (IOException notYet) {
                // the REST endpoint comes up a few seconds after the process
            }
            if (System.nanoTime() > deadline) {
                throw new CommandFailure(
                        "flink did not get "
                                + count
                                + " TaskManager(s) at "
                                + settings.flinkUrl()
                                + " within "
                                + READY_TIMEOUT.toSeconds()
                                + " s: see "
                                + jobManager().log()
                                + " and "
                                + settings.runDir().resolve("logs").resolve("taskmanager-*.log")
                                + STOP_HINT);
            }
            Thread.sleep(500);
        }
    }

    /**
     * Waits until {@code count} TaskManagers are registered (after a test started or killed one).
     */
    public void awaitTaskManagers(int count) throws IOException, InterruptedException {
        waitForTaskManagers(count, false);
    }

    // ---------------------------------------------------------------- Prometheus

    private void startPrometheus() throws IOException {
        Path dir = settings.runDir().resolve("prometheus");
        Files.createDirectories(dir.resolve("data"));
        String targets =
                settings.reporterPortList().stream()
                        .map(p -> "'127.0.0.1:" + p + "'")
                        .collect(Collectors.joining(", ", "[", "]"));
        String config =
                Files.readString(settings.home().resolve("deploy/prometheus/prometheus.yml"))
                        .replaceAll("(?m)^(\\s*- targets: ).*$", "$1" + targets);
        Path file = dir.resolve("prometheus.yml");
        Files.writeString(file, config);
        // the config names its rule file relative to itself
        Files.copy(
                settings.home().resolve("deploy/prometheus/rules.yml"),
                dir.resolve("rules.yml"),
                StandardCopyOption.REPLACE_EXISTING);
        prometheus()
                .start(
                        List.of(
                                "prometheus",
                                "--config.file=" + file,
                                "--storage.tsdb.path=" + dir.resolve("data"),
                                "--web.listen-address=127.0.0.1:" + settings.prometheusPort()),
                        Map.of());
    }

    // ---------------------------------------------------------------- helpers

    /**
     * The streamgpt command line's classpath, as the launcher builds it: the broker runs from it.
     */
    private String launcherClasspath() {
        return settings.home().resolve("pipeline/cli/target/classes")
                + ":"
                + readClasspath("pipeline/cli/target/runtime-classpath.txt");
    }

    /** Flink, the reporter factory, RocksDB and DJL: {@code deploy/flink-lib}. */
    private String clusterClasspath() {
        return settings.home().resolve("deploy/flink-lib/target/classes")
                + ":"
                + readClasspath("deploy/flink-lib/target/cluster-classpath.txt");
    }

    private String readClasspath(String file) {
        Path path = settings.home().resolve(file);
        try {
            return Files.readString(path).trim();
        } catch (IOException e) {
            throw new CommandFailure(
                    "missing "
                            + path
                            + ": build first (`mvn -DskipTests package`, which the "
                            + "./streamgpt launcher runs)",
                    e);
        }
    }

    /** Fails in one line, naming the service and its log, when it exited while starting. */
    private static void ensureAlive(ManagedProcess service) {
        if (!service.running()) {
            throw new CommandFailure(
                    service.name()
                            + " exited during start"
                            + service.lastError().map(line -> " (" + line + ")").orElse("")
                            + ": see "
                            + service.log()
                            + STOP_HINT);
        }
    }

    private void waitForHttp(String url) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            ensureAlive(prometheus());
            try {
                if (http.send(
                                        HttpRequest.newBuilder(URI.create(url)).build(),
                                        HttpResponse.BodyHandlers.discarding())
                                .statusCode()
                        == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new CommandFailure(
                        "prometheus did not answer on "
                                + url
                                + " within "
                                + READY_TIMEOUT.toSeconds()
                                + " s: see "
                                + prometheus().log()
                                + STOP_HINT);
            }
            Thread.sleep(300);
        }
    }

    static boolean portInUse(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 300);
            return true;
        } catch (IOException free) {
            return false;
        }
    }

    private static boolean onPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
