package io.streamgpt.config;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * One setting, defined once: its name (the command-line option {@code --NAME} and the key of {@code
 * --NAME=VALUE} job arguments), what it means, its default and the rule its values keep, in the
 * style of flink-ml's {@code Param}. Configuration records declare their settings as constants of
 * this type, and everything else is derived from them: the command line's options and their help,
 * the job's arguments on a cluster, the configuration reference in docs/ and the one-line errors of
 * an invalid value.
 *
 * <pre>{@code
 * static final Param<Integer> EVERY =
 *         Param.ofInt("sync-every", "Local steps between parameter averaging rounds (K).", 10)
 *                 .atLeast(1);
 * }</pre>
 *
 * @param <T> the value's type: Integer, Long, Double, Boolean, String, an enum, a list of strings
 *     or a map of properties ({@link #ofProperties}, a repeatable option)
 */
public final class Param<T> implements Serializable {

    private static final long serialVersionUID = 1L;

    /** How a value reads from its text form. */
    @FunctionalInterface
    interface Parser<T> extends Serializable {
        T parse(String text);
    }

    /** A rule a value keeps, with its wording for an error ("must be >= 1"). */
    private record Rule<T>(SerializablePredicate<T> test, String wording) implements Serializable {}

    @FunctionalInterface
    private interface SerializablePredicate<T> extends Predicate<T>, Serializable {}

    private final String name;
    private final String doc;
    private final Class<?> type;
    private final T defaultValue;
    private String defaultText;
    private final Parser<T> parser;
    private List<Rule<T>> rules;
    private List<String> aliases;
    private String environmentVariable;
    private boolean derived;
    private Redactor<T> redactor; // null: values are printed as they are

    private Param(
            String name,
            String doc,
            Class<?> type,
            T defaultValue,
            String defaultText,
            Parser<T> parser,
            List<Rule<T>> rules,
            List<String> aliases,
            String environmentVariable,
            boolean derived) {
        if (!name.matches("[a-z][a-z0-9-]*")) {
            throw new IllegalArgumentException("a setting's name is kebab-case, got " + name);
        }
        this.name = name;
        this.doc = doc;
        this.type = type;
        this.defaultValue = defaultValue;
        this.defaultText = defaultText;
        this.parser = parser;
        this.rules = List.copyOf(rules);
        this.aliases = List.copyOf(aliases);
        this.environmentVariable = environmentVariable;
        this.derived = derived;
    }

    /**
     * A copy to refine: only the refinements below change the copy's fields, before it is returned.
     */
    private Param(Param<T> other) {
        this(
                other.name,
                other.doc,
                other.type,
                other.defaultValue,
                other.defaultText,
                other.parser,
                other.rules,
                other.aliases,
                other.environmentVariable,
                other.derived);
    }

    private Param<T> refined(Consumer<Param<T>> change) {
        Param<T> copy = new Param<>(this);
        copy.redactor = redactor;
        change.accept(copy);
        return copy;
    }

    private static <T> Param<T> of(
            String name, String doc, Class<?> type, T defaultValue, Parser<T> parser) {
        return new Param<>(
                name, doc, type, defaultValue, null, parser, List.of(), List.of(), null, false);
    }

    public static Param<Integer> ofInt(String name, String doc, Integer defaultValue) {
        return of(name, doc, Integer.class, defaultValue, text -> Integer.valueOf(text.strip()));
    }

    public static Param<Long> ofLong(String name, String doc, Long defaultValue) {
        return of(name, doc, Long.class, defaultValue, text -> Long.valueOf(text.strip()));
    }

    public static Param<Double> ofDouble(String name, String doc, Double defaultValue) {
        return of(name, doc, Double.class, defaultValue, text -> Double.valueOf(text.strip()));
    }

    public static Param<String> ofString(String name, String doc, String defaultValue) {
        return of(name, doc, String.class, defaultValue, text -> text);
    }

    /** An enum, read case-insensitively by constant name. */
    public static <E extends Enum<E>> Param<E> ofEnum(
            String name, String doc, Class<E> type, E defaultValue) {
        return of(
                        name,
                        doc,
                        type,
                        defaultValue,
                        text -> Enum.valueOf(type, text.strip().toUpperCase(Locale.ROOT)))
                .mustBe(
                        value -> true,
                        "one of "
                                + Arrays.toString(type.getEnumConstants())
                                        .replace("[", "")
                                        .replace("]", ""));
    }

    /** A comma-separated list of strings; blanks around the commas are dropped. */
    public static Param<List<String>> ofList(String name, String doc, List<String> defaultValue) {
        return of(
                name,
                doc,
                List.class,
                defaultValue == null ? null : List.copyOf(defaultValue),
                text ->
                        text.isBlank()
                                ? List.of()
                                : Arrays.stream(text.split(",")).map(String::strip).toList());
    }

    /**
     * {@code key=value} properties, e.g. Kafka client settings: a repeatable option ({@code --NAME
     * k=v --NAME k2=v2}), one job argument per property; the text form is one {@code key=value} per
     * line, read at the first '='. Its values are kept in key order.
     */
    public static Param<java.util.Map<String, String>> ofProperties(String name, String doc) {
        return of(name, doc, java.util.Map.class, java.util.Map.of(), Param::parseProperties);
    }

    private static java.util.Map<String, String> parseProperties(String text) {
        java.util.Map<String, String> properties = new java.util.TreeMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            int equals = line.indexOf('=');
            if (equals <= 0 || line.substring(0, equals).isBlank()) {
                throw new IllegalArgumentException("not key=value: " + line);
            }
            properties.put(line.substring(0, equals).strip(), line.substring(equals + 1));
        }
        return java.util.Collections.unmodifiableMap(properties);
    }

    // ---------------------------------------------------------------- refinements

    private Param<T> withRule(Rule<T> rule) {
        List<Rule<T>> more = new ArrayList<>(rules);
        more.add(rule);
        return refined(p -> p.rules = List.copyOf(more));
    }

    /** Values must pass {@code test}; {@code wording} completes "NAME must be ...". */
    public Param<T> mustBe(Predicate<T> test, String wording) {
        return withRule(new Rule<>(test::test, wording));
    }

    /** Numbers must be at least {@code min}. */
    public Param<T> atLeast(Number min) {
        return mustBe(v -> ((Number) v).doubleValue() >= min.doubleValue(), ">= " + min);
    }

    /** Numbers must lie in [{@code min}, {@code max}]. */
    public Param<T> between(Number min, Number max) {
        return mustBe(
                v ->
                        ((Number) v).doubleValue() >= min.doubleValue()
                                && ((Number) v).doubleValue() <= max.doubleValue(),
                "in [" + min + ", " + max + "]");
    }

    /** Strings must be one of {@code allowed}. */
    public Param<T> oneOf(String... allowed) {
        List<String> values = List.of(allowed);
        return mustBe(values::contains, "one of " + String.join(", ", allowed));
    }

    /** What the help says instead of a default value, for a default that depends on others. */
    public Param<T> defaultDescribedAs(String text) {
        return refined(p -> p.defaultText = text);
    }

    /** Other option names the command line accepts for it, e.g. Kafka's own spelling. */
    public Param<T> alias(String... names) {
        return refined(p -> p.aliases = List.of(names));
    }

    /** The command line's default comes from this environment variable when it is set. */
    public Param<T> environmentVariable(String variable) {
        return refined(p -> p.environmentVariable = variable);
    }

    /** A value the job derives (e.g. the vocabulary size): never an option of its own. */
    public Param<T> derived() {
        return refined(p -> p.derived = true);
    }

    /** How a value is printed where people read it (logs, the job's printed config). */
    @FunctionalInterface
    public interface Redactor<T> extends Serializable {
        String describe(T value);
    }

    /**
     * Values are printed by {@code redactor} (e.g. with secrets hidden) wherever they are shown,
     * never by their text form.
     */
    public Param<T> describedBy(Redactor<T> redactor) {
        return refined(p -> p.redactor = redactor);
    }

    // ---------------------------------------------------------------- use

    public String name() {
        return name;
    }

    public String doc() {
        return doc;
    }

    public Class<?> type() {
        return type;
    }

    public T defaultValue() {
        return defaultValue;
    }

    /** The default as the help and the configuration reference print it; "" for none. */
    public String defaultText() {
        if (defaultText != null) {
            return defaultText;
        }
        return defaultValue == null ? "" : format(defaultValue);
    }

    public List<String> aliases() {
        return aliases;
    }

    /** The environment variable of the command line's default, or null. */
    public String environmentVariable() {
        return environmentVariable;
    }

    public boolean isDerived() {
        return derived;
    }

    /**
     * Whether the option may be given more than once (properties): each occurrence is one line of
     * the text form, and one job argument.
     */
    public boolean isRepeatable() {
        return type == java.util.Map.class;
    }

    /** The value as people may read it: its redacted form where the setting has one. */
    @SuppressWarnings("unchecked")
    public String describe(Object value) {
        return redactor == null ? format(value) : redactor.describe((T) value);
    }

    /**
     * Reads a value; an unreadable one is an {@link IllegalArgumentException} naming the setting.
     */
    public T parse(String text) {
        Objects.requireNonNull(text, name);
        try {
            return parser.parse(text);
        } catch (IllegalArgumentException e) {
            if (isRepeatable()) { // the text may hold secrets: name the key only
                throw new IllegalArgumentException(
                        name + " must be key=value, got " + e.getMessage().replaceAll("=.*", ""),
                        e);
            }
            String expected = type.isEnum() ? rules.get(0).wording() : typeWord();
            throw new IllegalArgumentException(
                    name + " must be " + expected + ", got '" + text + "'", e);
        }
    }

    private String typeWord() {
        if (type == Integer.class || type == Long.class) {
            return "an integer";
        }
        return type == Double.class
                ? "a number"
                : "a " + type.getSimpleName().toLowerCase(Locale.ROOT);
    }

    /** The text form of a value, as {@link #parse} reads it back. */
    public String format(Object value) {
        if (value instanceof List<?> list) {
            return String.join(",", list.stream().map(String::valueOf).toList());
        }
        if (value instanceof java.util.Map<?, ?> map) {
            return String.join(
                    "\n",
                    map.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
        }
        return String.valueOf(value);
    }

    /** Adds "NAME must be RULE, got VALUE" to {@code errors} for each rule the value breaks. */
    @SuppressWarnings("unchecked")
    void check(Object value, List<String> errors) {
        if (value == null) {
            if (defaultValue != null) {
                errors.add(name + " is required");
            }
            return;
        }
        if (!type.isInstance(value)) {
            errors.add(name + " must be of type " + type.getSimpleName() + ", got " + value);
            return;
        }
        for (Rule<T> rule : rules) {
            if (!rule.test().test((T) value)) {
                errors.add(name + " must be " + rule.wording() + ", got " + format(value));
            }
        }
    }

    @Override
    public String toString() {
        return "--" + name;
    }
}
