package io.streamgpt.job.replica;

import io.streamgpt.job.eval.ReplicaLineage;
import io.streamgpt.model.FloatArrays;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Everything a training replica needs to continue after a restore: step counters, parameters, AdamW
 * state, its random source, its replay buffer and its lineage (what it received and contributed,
 * {@link ReplicaLineage}). Written as one versioned binary blob into operator state; a snapshot of
 * version 1 (builds before 2026-12-02) has no lineage and restores with an empty one.
 */
public record ReplicaSnapshot(
        int replica,
        long globalStep,
        long adoptedRound,
        long awaitingRound,
        long tokensConsumed,
        float lastLoss,
        float[] parameters,
        long optimizerSteps,
        float[] firstMoment,
        float[] secondMoment,
        Random batches,
        List<ReplayBuffer.Run> buffer,
        ReplicaLineage lineage) {

    private static final int VERSION = 2;

    /** Version 1 had no lineage. */
    private static final int VERSION_WITHOUT_LINEAGE = 1;

    private static final int GLOBAL_VERSION = 1;

    /**
     * One replica's state from the snapshots of several, when a job restores with fewer replicas:
     * the model, optimizer, counters and random source of the one that adopted the newest round
     * (the first such), the replay-buffer runs and the lineage of all of them ({@link
     * ReplicaLineage#merge}), and the tokens all of them trained on, so that the job's token count
     * never goes back.
     */
    static ReplicaSnapshot merge(List<ReplicaSnapshot> snapshots) {
        ReplicaSnapshot primary = snapshots.get(0);
        for (ReplicaSnapshot s : snapshots) {
            if (s.adoptedRound() > primary.adoptedRound()) {
                primary = s;
            }
        }
        if (snapshots.size() == 1) {
            return primary;
        }
        List<ReplayBuffer.Run> runs = new ArrayList<>();
        List<ReplicaLineage> lineages = new ArrayList<>();
        long tokens = 0;
        for (ReplicaSnapshot s : snapshots) {
            runs.addAll(s.buffer());
            lineages.add(s.lineage());
            tokens += s.tokensConsumed();
        }
        return new ReplicaSnapshot(
                primary.replica(),
                primary.globalStep(),
                primary.adoptedRound(),
                primary.awaitingRound(),
                tokens,
                primary.lastLoss(),
                primary.parameters(),
                primary.optimizerSteps(),
                primary.firstMoment(),
                primary.secondMoment(),
                primary.batches(),
                runs,
                ReplicaLineage.merge(lineages));
    }

    /** A global model version: what a replica added by a rescale starts from. */
    record Global(long round, float[] parameters) {

        byte[] toBytes() throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(4 * parameters.length + 16);
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeInt(GLOBAL_VERSION);
                out.writeLong(round);
                FloatArrays.write(out, parameters);
            }
            return bytes.toByteArray();
        }

        static Global fromBytes(byte[] data) throws IOException {
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
                int version = in.readInt();
                if (version != GLOBAL_VERSION) {
                    throw new IOException(
                            "global model snapshot version "
                                    + version
                                    + ", expected "
                                    + GLOBAL_VERSION);
                }
                return new Global(in.readLong(), FloatArrays.read(in));
            }
        }
    }

    byte[] toBytes() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 * parameters.length + 4 * 1024);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(VERSION);
            out.writeInt(replica);
            out.writeLong(globalStep);
            out.writeLong(adoptedRound);
            out.writeLong(awaitingRound);
            out.writeLong(tokensConsumed);
            out.writeFloat(lastLoss);
            FloatArrays.write(out, parameters);
            out.writeLong(optimizerSteps);
            FloatArrays.write(out, firstMoment);
            FloatArrays.write(out, secondMoment);
            ByteArrayOutputStream rng = new ByteArrayOutputStream();
            try (ObjectOutputStream o = new ObjectOutputStream(rng)) {
                o.writeObject(batches);
            }
            out.writeInt(rng.size());
            rng.writeTo(out);
            ReplayBuffer.writeRuns(out, buffer);
            lineage.write(out);
        }
        return bytes.toByteArray();
    }

    static ReplicaSnapshot fromBytes(byte[] data) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int version = in.readInt();
            if (version != VERSION && version != VERSION_WITHOUT_LINEAGE) {
                throw new IOException(
                        "replica snapshot version "
                                + version
                                + ", expected "
                                + VERSION_WITHOUT_LINEAGE
                                + " or "
                                + VERSION);
            }
            int replica = in.readInt();
            long globalStep = in.readLong();
            long adoptedRound = in.readLong();
            long awaitingRound = in.readLong();
            long tokensConsumed = in.readLong();
            float lastLoss = in.readFloat();
            float[] parameters = FloatArrays.read(in);
            long optimizerSteps = in.readLong();
            float[] first = FloatArrays.read(in);
            float[] second = FloatArrays.read(in);
            byte[] rng = in.readNBytes(in.readInt());
            Random batches;
            try (ObjectInputStream o = new ObjectInputStream(new ByteArrayInputStream(rng))) {
                batches = (Random) o.readObject();
            } catch (ClassNotFoundException e) {
                throw new IOException(e);
            }
            List<ReplayBuffer.Run> buffer = ReplayBuffer.readRuns(in);
            ReplicaLineage lineage =
                    version == VERSION_WITHOUT_LINEAGE
                            ? new ReplicaLineage()
                            : ReplicaLineage.read(in);
            return new ReplicaSnapshot(
                    replica,
                    globalStep,
                    adoptedRound,
                    awaitingRound,
                    tokensConsumed,
                    lastLoss,
                    parameters,
                    optimizerSteps,
                    first,
                    second,
                    batches,
                    buffer,
                    lineage);
        }
    }
}
