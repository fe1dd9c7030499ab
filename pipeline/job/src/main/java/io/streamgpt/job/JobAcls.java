package io.streamgpt.job;

import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.TopicsConfig;

import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ACLs a job's Kafka principal needs, and nothing more: what {@code streamgpt acls} prints and
 * applies.
 *
 * <ul>
 *   <li>text topics: READ (the source; READ implies DESCRIBE); a topic pattern is granted on the
 *       pattern's literal prefix (PREFIXED), the narrowest ACL that covers it;
 *   <li>the model topic: READ and WRITE (the sync loop reads back what the averager writes), and
 *       DESCRIBE_CONFIGS (the check of its {@code max.message.bytes} before start);
 *   <li>the metadata topic: READ and WRITE (the job reads the model's metadata there before it
 *       publishes its own, see {@link JobModelMetadata});
 *   <li>losses, samples, answers, dead letters: WRITE; prompts: READ;
 *   <li>the three consumer groups (text, model, prompts sources): READ, which implies the DESCRIBE
 *       of committed offsets;
 *   <li>with {@code create}: CREATE on each of these topics, for {@code submit}/{@code local},
 *       which create the missing ones as this principal. Without it an administrator creates them.
 * </ul>
 *
 * No transactional id: the sinks are at-least-once, and their idempotent producers need only WRITE
 * on a topic (Kafka 3.0+, KIP-679). No cluster-wide right.
 */
public final class JobAcls {

    private JobAcls() {}

    /** The ACLs of the job {@code config} for {@code principal} ({@code User:NAME}). */
    public static List<AclBinding> forJob(JobConfig config, String principal, boolean create) {
        if (!principal.matches("[A-Za-z]+:.+")) {
            throw new IllegalArgumentException(
                    "a principal is TYPE:NAME, e.g. User:streamgpt, got " + principal);
        }
        TopicsConfig topics = config.topics();
        Map<ResourcePattern, List<AclOperation>> grants = new LinkedHashMap<>();
        for (String text : topics.text()) {
            grant(grants, topic(text), AclOperation.READ);
        }
        if (topics.textPattern() != null && !topics.textPattern().isBlank()) {
            grant(
                    grants,
                    new ResourcePattern(
                            ResourceType.TOPIC,
                            literalPrefix(topics.textPattern()),
                            PatternType.PREFIXED),
                    AclOperation.READ);
        }
        grant(
                grants,
                topic(topics.model()),
                AclOperation.READ,
                AclOperation.WRITE,
                AclOperation.DESCRIBE_CONFIGS);
        grant(grants, topic(topics.metadata()), AclOperation.READ, AclOperation.WRITE);
        for (String written :
                List.of(
                        topics.losses(),
                        topics.samples(),
                        topics.answers(),
                        topics.deadLetters())) {
            grant(grants, topic(written), AclOperation.WRITE);
        }
        grant(grants, topic(topics.prompts()), AclOperation.READ);
        if (create) {
            for (ResourcePattern pattern : List.copyOf(grants.keySet())) {
                if (pattern.patternType() == PatternType.LITERAL) {
                    grant(grants, pattern, AclOperation.CREATE);
                }
            }
        }
        for (String group :
                List.of(topics.groupId(), topics.modelGroupId(), topics.promptsGroupId())) {
            grant(
                    grants,
                    new ResourcePattern(ResourceType.GROUP, group, PatternType.LITERAL),
                    AclOperation.READ);
        }
        List<AclBinding> acls = new ArrayList<>();
        grants.forEach(
                (pattern, operations) ->
                        operations.forEach(
                                operation ->
                                        acls.add(
                                                new AclBinding(
                                                        pattern,
                                                        new AccessControlEntry(
                                                                principal,
                                                                "*",
                                                                operation,
                                                                AclPermissionType.ALLOW)))));
        return acls;
    }

    /**
     * The ACLs as {@code kafka-acls.sh} commands, one per resource; {@code connection} is what goes
     * before {@code --add} (bootstrap server and command config).
     */
    public static List<String> kafkaAclsCommands(List<AclBinding> acls, String connection) {
        Map<ResourcePattern, List<AclBinding>> byResource = new LinkedHashMap<>();
        acls.forEach(a -> byResource.computeIfAbsent(a.pattern(), p -> new ArrayList<>()).add(a));
        List<String> commands = new ArrayList<>();
        byResource.forEach(
                (pattern, bindings) -> {
                    StringBuilder line =
                            new StringBuilder("kafka-acls.sh ")
                                    .append(connection)
                                    .append(" --add --allow-principal ")
                                    .append(bindings.get(0).entry().principal());
                    for (AclBinding binding : bindings) {
                        line.append(" --operation ").append(camel(binding.entry().operation()));
                    }
                    line.append(
                                    pattern.resourceType() == ResourceType.GROUP
                                            ? " --group "
                                            : " --topic ")
                            .append(pattern.name());
                    if (pattern.patternType() == PatternType.PREFIXED) {
                        line.append(" --resource-pattern-type prefixed");
                    }
                    commands.add(line.toString());
                });
        return commands;
    }

    /** Kafka-acls' spelling of an operation: Read, Write, DescribeConfigs. */
    private static String camel(AclOperation operation) {
        StringBuilder out = new StringBuilder();
        for (String word : operation.name().toLowerCase(Locale.ROOT).split("_")) {
            out.append(Character.toUpperCase(word.charAt(0))).append(word.substring(1));
        }
        return out.toString();
    }

    /**
     * The topic name every match of a regular expression starts with: its characters up to the
     * first metacharacter ({@code text-.*} and {@code ^logs\\.app.+} give {@code text-} and {@code
     * logs.app}), less a last character a quantifier makes optional. A pattern with none would need
     * READ on every topic, which this refuses.
     */
    static String literalPrefix(String regex) {
        StringBuilder prefix = new StringBuilder();
        int i = regex.startsWith("^") ? 1 : 0;
        while (i < regex.length()) {
            char c = regex.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '_' || c == '-') {
                prefix.append(c);
                i++;
            } else if (c == '\\' && i + 1 < regex.length() && regex.charAt(i + 1) == '.') {
                prefix.append('.');
                i += 2;
            } else {
                if ((c == '*' || c == '?' || c == '{') && prefix.length() > 0) {
                    prefix.setLength(prefix.length() - 1);
                }
                break;
            }
        }
        if (prefix.length() == 0) {
            throw new IllegalArgumentException(
                    "the text topic pattern "
                            + regex
                            + " starts with no literal prefix: grant READ on its topics by name");
        }
        return prefix.toString();
    }

    private static ResourcePattern topic(String name) {
        return new ResourcePattern(ResourceType.TOPIC, name, PatternType.LITERAL);
    }

    private static void grant(
            Map<ResourcePattern, List<AclOperation>> grants,
            ResourcePattern pattern,
            AclOperation... operations) {
        List<AclOperation> list = grants.computeIfAbsent(pattern, p -> new ArrayList<>());
        for (AclOperation operation : operations) {
            if (!list.contains(operation)) {
                list.add(operation);
            }
        }
    }
}
