package io.streamgpt.connectors.chunks;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * How Flink ships model chunks between operators (replicas to the averager, the averager to the
 * model topic's writer, the model source to replicas, evaluator and responder): as their model
 * topic form ({@link ModelChunkFormat}), one length-prefixed block.
 *
 * <p>Why not Flink's POJO serializer for these records: it writes a {@code float[]} one value at a
 * time ({@code FloatPrimitiveArraySerializer} through {@code DataOutputSerializer.writeFloat}), and
 * a JFR profile of {@code bench sync} (reference preset, 2 replicas, SYNC) found that loop in 18%
 * of all samples: 86% of the model source's, 22% of the averager's. The block form is two bulk
 * copies each way.
 */
public abstract sealed class ModelChunkSerializer<T extends ModelChunk>
        extends TypeSerializerSingleton<T> {

    private static final long serialVersionUID = 1L;

    private final Class<T> type;

    private ModelChunkSerializer(Class<T> type) {
        this.type = type;
    }

    @Override
    public boolean isImmutableType() {
        return false; // records, but their float[] and byte[] are not
    }

    /**
     * A deep copy: Flink copies each record handed between chained operators (object reuse is off),
     * so this clones the arrays rather than round-tripping the bytes.
     */
    @Override
    public abstract T copy(T from);

    @Override
    public T copy(T from, T reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(T chunk, DataOutputView target) throws IOException {
        byte[] bytes = ModelChunkFormat.serialize(chunk);
        target.writeInt(bytes.length);
        target.write(bytes);
    }

    @Override
    public T deserialize(DataInputView source) throws IOException {
        byte[] bytes = new byte[source.readInt()];
        source.readFully(bytes);
        return type.cast(ModelChunkFormat.deserialize(bytes));
    }

    @Override
    public T deserialize(T reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        int length = source.readInt();
        target.writeInt(length);
        target.write(source, length);
    }

    private static Slice copyOf(Slice slice) {
        return new Slice(slice.index(), slice.count(), slice.values().clone());
    }

    /** Contributions, replicas to the parameter averager. */
    public static final class OfContribution extends ModelChunkSerializer<Contribution> {

        private static final long serialVersionUID = 1L;

        public static final OfContribution INSTANCE = new OfContribution();

        private OfContribution() {
            super(Contribution.class);
        }

        @Override
        public Contribution createInstance() {
            return new Contribution(
                    new RoundId(0, 0), 0, new Progress(0, 0, 0), 0, new Slice(0, 1, new float[0]));
        }

        @Override
        public Contribution copy(Contribution from) {
            EncodedDelta delta = from.delta();
            return new Contribution(
                    from.version(),
                    from.replica(),
                    from.progress(),
                    from.baseChecksum(),
                    copyOf(from.slice()),
                    delta == null
                            ? null
                            : new EncodedDelta(
                                    delta.base(),
                                    delta.encoding(),
                                    delta.count(),
                                    delta.bytes().clone()));
        }

        @Override
        public TypeSerializerSnapshot<Contribution> snapshotConfiguration() {
            return new ContributionSnapshot();
        }
    }

    /** Global chunks, from the averager and the model topic. */
    public static final class OfGlobalChunk extends ModelChunkSerializer<GlobalChunk> {

        private static final long serialVersionUID = 1L;

        public static final OfGlobalChunk INSTANCE = new OfGlobalChunk();

        private OfGlobalChunk() {
            super(GlobalChunk.class);
        }

        @Override
        public GlobalChunk createInstance() {
            return new GlobalChunk(
                    new RoundId(0, 0),
                    0,
                    new Progress(0, 0, 0),
                    new float[0],
                    new Slice(0, 1, new float[0]));
        }

        @Override
        public GlobalChunk copy(GlobalChunk from) {
            return new GlobalChunk(
                    from.version(),
                    from.contributors(),
                    from.progress(),
                    from.replicaLosses().clone(),
                    copyOf(from.slice()));
        }

        @Override
        public TypeSerializerSnapshot<GlobalChunk> snapshotConfiguration() {
            return new GlobalChunkSnapshot();
        }
    }

    /** What a checkpoint records of {@link OfContribution}: nothing but its class. */
    public static final class ContributionSnapshot
            extends SimpleTypeSerializerSnapshot<Contribution> {
        public ContributionSnapshot() {
            super(() -> OfContribution.INSTANCE);
        }
    }

    /** What a checkpoint records of {@link OfGlobalChunk}: nothing but its class. */
    public static final class GlobalChunkSnapshot
            extends SimpleTypeSerializerSnapshot<GlobalChunk> {
        public GlobalChunkSnapshot() {
            super(() -> OfGlobalChunk.INSTANCE);
        }
    }
}
