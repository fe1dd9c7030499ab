package io.streamgpt.cli;

import io.streamgpt.config.Param;
import io.streamgpt.job.config.JobConfig;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgGroupSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Command-line options made from {@link Param}s, so that an option's name, help and default are the
 * setting's own: nothing is declared twice. A command names the sections it takes with
 * {@code @Command(modelTransformer = ...)}; each section becomes a headed group of {@code --help}.
 * The values stay text until the configuration reads them: an option the user did not give is not
 * passed on at all, and the setting's default applies (or its environment variable, where it has
 * one).
 */
public abstract class ParamOptions implements CommandLine.IModelTransformer {

    private final List<JobConfig.Section> sections;

    protected ParamOptions(List<JobConfig.Section> sections) {
        this.sections = sections;
    }

    protected ParamOptions(String heading, Param<?>... params) {
        this(List.of(new JobConfig.Section(heading, List.of(params))));
    }

    @Override
    public CommandSpec transform(CommandSpec spec) {
        for (JobConfig.Section section : sections) {
            ArgGroupSpec.Builder group =
                    ArgGroupSpec.builder()
                            .heading("%n" + section.heading() + ":%n")
                            .exclusive(false)
                            .validate(false)
                            .multiplicity("0..1");
            section.params().stream()
                    .filter(p -> !p.isDerived())
                    .forEach(p -> group.addArg(option(p)));
            spec.addArgGroup(group.build());
        }
        return spec;
    }

    static OptionSpec option(Param<?> param) {
        String[] names =
                Stream.concat(Stream.of("--" + param.name()), param.aliases().stream())
                        .toArray(String[]::new);
        return OptionSpec.builder(names)
                .type(param.isRepeatable() ? String[].class : String.class) // repeatable: each
                .arity("1") // occurrence one value
                .paramLabel("<" + param.name() + ">")
                .description(help(param))
                .build();
    }

    /**
     * The option's help: the setting's doc and its default, as the configuration reference has
     * them.
     */
    public static String help(Param<?> param) {
        String text = param.doc();
        String byDefault = param.defaultText();
        if (param.environmentVariable() != null) {
            byDefault =
                    "$"
                            + param.environmentVariable()
                            + (byDefault.isEmpty() ? "" : ", else " + byDefault);
        }
        if (!byDefault.isEmpty()) {
            text += " Default: " + byDefault + ".";
        }
        return text.replace("%", "%%"); // picocli formats descriptions
    }

    /**
     * The settings among {@code params} that the command line (or an environment variable) gave, as
     * text by name: what {@link JobConfig#parse} and the settings' {@code parse} read.
     */
    public static Map<String, String> arguments(CommandSpec spec, List<Param<?>> params) {
        ParseResult parsed = spec.commandLine().getParseResult();
        Map<String, String> arguments = new LinkedHashMap<>();
        for (Param<?> param : params) {
            String name = "--" + param.name();
            if (parsed != null && spec.findOption(name) != null && parsed.hasMatchedOption(name)) {
                arguments.put(
                        param.name(),
                        param.isRepeatable()
                                ? String.join("\n", parsed.matchedOption(name).stringValues())
                                : parsed.matchedOptionValue(name, ""));
            } else if (param.environmentVariable() != null
                    && System.getenv(param.environmentVariable()) != null) {
                arguments.put(param.name(), System.getenv(param.environmentVariable()));
            }
        }
        return arguments;
    }

    /** One setting's value: the command line's, the environment's, or its default. */
    public static <T> T value(CommandSpec spec, Param<T> param) {
        String text = arguments(spec, List.of(param)).get(param.name());
        return text == null ? param.defaultValue() : param.parse(text);
    }

    /** Every setting of every section of the job, in order. */
    public static List<Param<?>> jobParams() {
        return JobConfig.SECTIONS.stream().flatMap(s -> s.params().stream()).toList();
    }
}
