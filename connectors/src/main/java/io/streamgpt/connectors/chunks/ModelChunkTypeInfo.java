package io.streamgpt.connectors.chunks;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

import java.lang.reflect.Type;
import java.util.Map;

/**
 * Flink's type of {@link Contribution} and {@link GlobalChunk}, found through their
 * {@code @TypeInfo} annotations wherever a job carries them: serialized by {@link
 * ModelChunkSerializer}, not as POJOs.
 */
public final class ModelChunkTypeInfo<T extends ModelChunk> extends TypeInformation<T> {

    private static final long serialVersionUID = 1L;

    public static final ModelChunkTypeInfo<Contribution> CONTRIBUTION =
            new ModelChunkTypeInfo<>(Contribution.class);

    public static final ModelChunkTypeInfo<GlobalChunk> GLOBAL_CHUNK =
            new ModelChunkTypeInfo<>(GlobalChunk.class);

    private final Class<T> type;

    private ModelChunkTypeInfo(Class<T> type) {
        this.type = type;
    }

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<T> getTypeClass() {
        return type;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    @SuppressWarnings("unchecked")
    public TypeSerializer<T> createSerializer(SerializerConfig config) {
        return (TypeSerializer<T>)
                (type == Contribution.class
                        ? ModelChunkSerializer.OfContribution.INSTANCE
                        : ModelChunkSerializer.OfGlobalChunk.INSTANCE);
    }

    @Override
    public String toString() {
        return "ModelChunk<" + type.getSimpleName() + ">";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelChunkTypeInfo<?> t && t.type == type;
    }

    @Override
    public int hashCode() {
        return type.hashCode();
    }

    @Override
    public boolean canEqual(Object o) {
        return o instanceof ModelChunkTypeInfo;
    }

    /** The {@code @TypeInfo} of {@link Contribution}. */
    public static final class ContributionFactory extends TypeInfoFactory<Contribution> {
        @Override
        public TypeInformation<Contribution> createTypeInfo(
                Type t, Map<String, TypeInformation<?>> genericParameters) {
            return CONTRIBUTION;
        }
    }

    /** The {@code @TypeInfo} of {@link GlobalChunk}. */
    public static final class GlobalChunkFactory extends TypeInfoFactory<GlobalChunk> {
        @Override
        public TypeInformation<GlobalChunk> createTypeInfo(
                Type t, Map<String, TypeInformation<?>> genericParameters) {
            return GLOBAL_CHUNK;
        }
    }
}
