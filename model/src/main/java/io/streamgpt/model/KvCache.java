package io.streamgpt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

/**
 * Keys and values of the positions already seen, per layer, so that generating a token computes
 * attention for that token alone instead of re-running the whole context.
 *
 * <p>The cached tensors outlive the per-token {@link NDScope}: they are unregistered from it and
 * closed here when replaced or when the cache is closed.
 */
public final class KvCache implements AutoCloseable {

    private final NDArray[] keys;
    private final NDArray[] values;
    private int length;

    KvCache(int layers) {
        keys = new NDArray[layers];
        values = new NDArray[layers];
    }

    /** Positions held. */
    int length() {
        return length;
    }

    NDArray appendKeys(int layer, NDArray k) {
        return keys[layer] = append(keys[layer], k);
    }

    NDArray appendValues(int layer, NDArray v) {
        return values[layer] = append(values[layer], v);
    }

    void advance(long positions) {
        length += (int) positions;
    }

    private static NDArray append(NDArray cached, NDArray fresh) {
        // A first entry may be a view of this step's q/k/v tensor: torch keeps its storage alive.
        NDArray all = cached == null ? fresh : cached.concat(fresh, 2);
        NDScope.unregister(all);
        if (cached != null) {
            cached.close();
        }
        return all;
    }

    @Override
    public void close() {
        for (int l = 0; l < keys.length; l++) {
            if (keys[l] != null) {
                keys[l].close();
                values[l].close();
                keys[l] = null;
                values[l] = null;
            }
        }
        length = 0;
    }
}
