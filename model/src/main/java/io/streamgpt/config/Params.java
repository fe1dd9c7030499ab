package io.streamgpt.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a configuration record needs from its {@link Param}s: the record's components are its
 * settings, in the order of its {@code PARAMS} list, so that defaults, withers, parsing and
 * validation are written once here rather than once per record.
 *
 * <pre>{@code
 * public record SyncConfig(int every, SyncMode mode) {
 *     public static final Param<Integer> EVERY = Param.ofInt("sync-every", "...", 10).atLeast(1);
 *     public static final Param<SyncMode> MODE = Param.ofEnum("sync-mode", "...", SyncMode.class, SYNC);
 *     public static final List<Param<?>> PARAMS = List.of(EVERY, MODE);
 *
 *     public SyncConfig {
 *         Params.require("sync config", Params.errors(PARAMS, every, mode));
 *     }
 *
 *     public static SyncConfig defaults() { return Params.defaults(SyncConfig.class, PARAMS); }
 *
 *     public <T> SyncConfig with(Param<T> param, T value) { return Params.with(this, PARAMS, param, value); }
 * }
 * }</pre>
 */
public final class Params {

    private Params() {}

    /**
     * The errors of {@code values} (one per component, in {@code params} order) against their
     * rules.
     */
    public static List<String> errors(List<Param<?>> params, Object... values) {
        if (values.length != params.size()) {
            throw new IllegalStateException(
                    values.length + " values for " + params.size() + " settings " + params);
        }
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            params.get(i).check(values[i], errors);
        }
        return errors;
    }

    /**
     * Throws one {@link IllegalArgumentException} with every error, or returns if there is none.
     */
    public static void require(String what, List<String> errors) {
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(
                    "invalid " + what + ": " + String.join("; ", errors));
        }
    }

    /** The record with every setting at its default. */
    public static <R extends Record> R defaults(Class<R> type, List<Param<?>> params) {
        return create(type, params, Map.of());
    }

    /** The record with the given values, the others at their defaults. */
    public static <R extends Record> R create(
            Class<R> type, List<Param<?>> params, Map<Param<?>, ?> values) {
        Object[] arguments = new Object[params.size()];
        for (int i = 0; i < arguments.length; i++) {
            Param<?> param = params.get(i);
            arguments[i] = values.containsKey(param) ? values.get(param) : param.defaultValue();
        }
        return construct(type, params, arguments);
    }

    /** The record's values by setting. */
    public static Map<Param<?>, Object> values(Record record, List<Param<?>> params) {
        RecordComponent[] components = components(record.getClass(), params);
        Map<Param<?>, Object> values = new LinkedHashMap<>();
        for (int i = 0; i < components.length; i++) {
            try {
                values.put(params.get(i), components[i].getAccessor().invoke(record));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return values;
    }

    /** A copy of {@code record} with one setting changed (validated as any new record is). */
    @SuppressWarnings("unchecked")
    public static <R extends Record, T> R with(
            R record, List<Param<?>> params, Param<T> param, T value) {
        if (!params.contains(param)) {
            throw new IllegalArgumentException(
                    param + " is not a setting of " + record.getClass().getSimpleName());
        }
        Map<Param<?>, Object> values = values(record, params);
        values.put(param, value);
        return create((Class<R>) record.getClass(), params, values);
    }

    /**
     * A copy of a record of records with the component {@code name} replaced (its withers use it).
     */
    @SuppressWarnings("unchecked")
    public static <R extends Record> R withComponent(R record, String name, Object value) {
        RecordComponent[] components = record.getClass().getRecordComponents();
        Object[] arguments = new Object[components.length];
        boolean found = false;
        for (int i = 0; i < components.length; i++) {
            try {
                boolean replaced = components[i].getName().equals(name);
                found |= replaced;
                arguments[i] = replaced ? value : components[i].getAccessor().invoke(record);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        if (!found) {
            throw new IllegalArgumentException(
                    record.getClass().getSimpleName() + " has no " + name);
        }
        Class<?>[] types =
                Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new);
        try {
            Constructor<R> constructor =
                    (Constructor<R>) record.getClass().getDeclaredConstructor(types);
            constructor.setAccessible(true);
            return constructor.newInstance(arguments);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads the {@code --NAME=VALUE} settings among {@code arguments} (the names of {@code
     * params}), collecting what cannot be read in {@code errors}.
     */
    public static Map<Param<?>, Object> parse(
            List<Param<?>> params, Map<String, String> arguments, List<String> errors) {
        Map<Param<?>, Object> values = new LinkedHashMap<>();
        for (Param<?> param : params) {
            String text = arguments.get(param.name());
            if (text == null) {
                continue;
            }
            try {
                values.put(param, param.parse(text));
            } catch (IllegalArgumentException e) {
                errors.add(e.getMessage());
            }
        }
        return values;
    }

    private static <R> R construct(Class<R> type, List<Param<?>> params, Object[] arguments) {
        RecordComponent[] components = components(type, params);
        Class<?>[] types =
                Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new);
        try {
            Constructor<R> constructor = type.getDeclaredConstructor(types);
            constructor.setAccessible(true);
            for (int i = 0; i < arguments.length; i++) {
                if (arguments[i] == null && types[i].isPrimitive()) {
                    throw new IllegalArgumentException(
                            "invalid "
                                    + type.getSimpleName()
                                    + ": "
                                    + params.get(i).name()
                                    + " is required");
                }
            }
            return constructor.newInstance(arguments);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(type + " cannot be built from " + params, e);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("invalid ")) {
                throw e;
            }
            // a value of the wrong type reached the constructor: say which
            List<String> errors = new ArrayList<>();
            for (int i = 0; i < arguments.length; i++) {
                params.get(i).check(arguments[i], errors);
            }
            throw new IllegalArgumentException(
                    "invalid " + type.getSimpleName() + ": " + String.join("; ", errors), e);
        }
    }

    private static RecordComponent[] components(Class<?> type, List<Param<?>> params) {
        RecordComponent[] components = type.getRecordComponents();
        if (components == null || components.length != params.size()) {
            throw new IllegalStateException(
                    type.getSimpleName()
                            + " has "
                            + (components == null ? 0 : components.length)
                            + " components but "
                            + params.size()
                            + " settings");
        }
        return components;
    }
}
