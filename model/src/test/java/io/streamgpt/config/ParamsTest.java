package io.streamgpt.config;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParamsTest {

    enum Mode {
        FAST,
        SLOW
    }

    /** A config record as the project writes them: components in the order of its settings. */
    record Example(int every, Mode mode, List<String> topics) {
        static final Param<Integer> EVERY =
                Param.ofInt("every", "Steps between rounds.", 10).atLeast(1);
        static final Param<Mode> MODE = Param.ofEnum("mode", "How.", Mode.class, Mode.FAST);
        static final Param<List<String>> TOPICS = Param.ofList("topics", "Where.", List.of("text"));
        static final List<Param<?>> PARAMS = List.of(EVERY, MODE, TOPICS);

        Example {
            Params.require("example", Params.errors(PARAMS, every, mode, topics));
        }
    }

    @Test
    void defaultsComeFromTheSettings() {
        assertThat(Params.defaults(Example.class, Example.PARAMS))
                .isEqualTo(new Example(10, Mode.FAST, List.of("text")));
    }

    @Test
    void aWitherChangesOneSettingAndValidatesTheCopy() {
        Example example = Params.defaults(Example.class, Example.PARAMS);
        assertThat(Params.with(example, Example.PARAMS, Example.EVERY, 3).every()).isEqualTo(3);
        assertThatThrownBy(() -> Params.with(example, Example.PARAMS, Example.EVERY, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("invalid example: every must be >= 1, got 0");
    }

    @Test
    void argumentsAreParsedByNameAndEveryProblemIsReported() {
        List<String> errors = new ArrayList<>();
        Map<Param<?>, Object> values =
                Params.parse(
                        Example.PARAMS,
                        Map.of("every", "x", "mode", "slow", "topics", "a, b", "other", "1"),
                        errors);
        assertThat(values).containsEntry(Example.MODE, Mode.SLOW);
        assertThat(values).containsEntry(Example.TOPICS, List.of("a", "b"));
        assertThat(errors).containsExactly("every must be an integer, got 'x'");
        errors.clear();
        Params.parse(Example.PARAMS, Map.of("mode", "medium"), errors);
        assertThat(errors).containsExactly("mode must be one of FAST, SLOW, got 'medium'");
    }

    @Test
    void valuesRoundTripThroughTheirTextForm() {
        Example example = new Example(7, Mode.SLOW, List.of("a", "b"));
        Map<String, String> text = new java.util.HashMap<>();
        Params.values(example, Example.PARAMS).forEach((p, v) -> text.put(p.name(), p.format(v)));
        assertThat(text).containsEntry("topics", "a,b").containsEntry("mode", "SLOW");
        List<String> errors = new ArrayList<>();
        assertThat(
                        Params.create(
                                Example.class,
                                Example.PARAMS,
                                Params.parse(Example.PARAMS, text, errors)))
                .isEqualTo(example);
        assertThat(errors).isEmpty();
    }
}
