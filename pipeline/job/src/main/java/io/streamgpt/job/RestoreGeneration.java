package io.streamgpt.job;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.FunctionInitializationContext;

/**
 * The restore generation of the job as an operator counts it: 0 for a new job, and after every
 * restore one more than the newest that any subtask saved. It is union state, so every subtask sees
 * every saved value and all agree on the next one. Chunks carry it, so rounds written before a
 * restore are told from the restored job's.
 */
public final class RestoreGeneration {

    private final ListState<Integer> state;
    private final int current;

    private RestoreGeneration(ListState<Integer> state, int current) {
        this.state = state;
        this.current = current;
    }

    /** The generation of this attempt, from the union state {@code name} of the operator. */
    public static RestoreGeneration of(FunctionInitializationContext context, String name)
            throws Exception {
        ListState<Integer> state =
                context.getOperatorStateStore()
                        .getUnionListState(new ListStateDescriptor<>(name, Types.INT));
        int newest = -1;
        for (Integer g : state.get()) {
            newest = Math.max(newest, g);
        }
        return new RestoreGeneration(state, context.isRestored() ? newest + 1 : 0);
    }

    public int current() {
        return current;
    }

    /** Saves this attempt's generation with the checkpoint. */
    public void snapshot() throws Exception {
        state.update(java.util.List.of(current));
    }
}
