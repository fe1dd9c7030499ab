package io.streamgpt.cli.cluster;

import io.streamgpt.cli.JobOptions;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.job.JobAcls;
import io.streamgpt.job.config.JobConfig;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AclBinding;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Prints the ACLs a job's Kafka principal needs (see {@link JobAcls}) as {@code kafka-acls.sh}
 * commands, or creates them with {@code --apply} through the Admin client, as the principal of
 * {@code --kafka-config} (one allowed to alter ACLs).
 */
@Command(
        name = "acls",
        mixinStandardHelpOptions = true,
        modelTransformer = JobOptions.class,
        description =
                "Print the Kafka ACLs the job's principal needs (its text topics, its own topics"
                        + " and consumer groups, nothing else), or create them with --apply.")
public final class AclsCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
            names = "--principal",
            required = true,
            description = "The job's Kafka principal, e.g. User:streamgpt.")
    String principal;

    @Option(
            names = "--apply",
            description =
                    "Create the ACLs through the Admin client, as the principal of --kafka-config,"
                            + " instead of printing them.")
    boolean apply;

    @Option(
            names = "--create",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description =
                    "Include CREATE on the job's topics, for submit/local to create the missing"
                            + " ones as this principal (--no-create: an administrator creates"
                            + " them). Default: ${DEFAULT-VALUE}.")
    boolean create;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        JobConfig config = JobOptions.config(spec);
        List<AclBinding> acls = JobAcls.forJob(config, principal, create);
        KafkaClientSettings kafka = config.kafka().clientSettings();
        if (!apply) {
            String connection =
                    "--bootstrap-server "
                            + kafka.bootstrapServers()
                            + " --command-config "
                            + (kafka.configFile() == null
                                    ? "ADMIN.properties"
                                    : kafka.configFile());
            JobAcls.kafkaAclsCommands(acls, connection).forEach(out::println);
            out.flush();
            return 0;
        }
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalArgumentException(
                    "Kafka at "
                            + kafka.bootstrapServers()
                            + " refused the ACLs: "
                            + e.getCause().getMessage(),
                    e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalArgumentException(
                    "Kafka at " + kafka.bootstrapServers() + " did not answer within 30 s", e);
        }
        out.printf(
                "created %d ACLs for %s at %s%n", acls.size(), principal, kafka.bootstrapServers());
        out.flush();
        return 0;
    }
}
