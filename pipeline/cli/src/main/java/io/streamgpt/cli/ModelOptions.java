package io.streamgpt.cli;

import io.streamgpt.job.config.JobConfig;
import io.streamgpt.model.ModelPreset;

import picocli.CommandLine.Model.CommandSpec;

import java.util.List;

/**
 * The model's preset, shape and training settings as options (the job's Model and Training
 * sections), for the commands that make a model outside the job: {@code train}, {@code export}.
 */
public final class ModelOptions extends ParamOptions {

    public ModelOptions() {
        super(sections());
    }

    public static List<JobConfig.Section> sections() {
        return JobConfig.SECTIONS.stream()
                .filter(s -> s.heading().equals("Model") || s.heading().equals("Training"))
                .toList();
    }

    /** The preset the command line names, with the shape and training settings it gives. */
    public static ModelPreset.Choice choose(CommandSpec spec, int vocabularySize) {
        return ModelPreset.choose(
                arguments(spec, sections().stream().flatMap(s -> s.params().stream()).toList()),
                vocabularySize);
    }
}
