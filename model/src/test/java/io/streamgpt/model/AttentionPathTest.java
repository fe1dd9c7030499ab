package io.streamgpt.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The batched attention of {@link Gpt} against the reference's formulation, written out head by
 * head as gpt_reference.py does (q @ k^T * hs^-0.5, masked_fill of the upper triangle, softmax, @
 * v, heads concatenated), and the statistics of its dropout.
 */
class AttentionPathTest {

    /** 11 tokens, block 12, 2 layers of 3 heads, 24 wide (head size 8), no dropout. */
    private static final GptConfig CONFIG = new GptConfig(11, 12, 2, 3, 24, 0.0);

    @BeforeAll
    static void engine() {
        TorchRuntime.configure(1);
    }

    @Test
    void logitsEqualThePerHeadReferenceFormulation() {
        try (Gpt model = Gpt.create(CONFIG, 3, Device.cpu());
                NDScope scope = new NDScope();
                GradMode off = GradMode.disabled()) {
            NDManager m = model.manager();
            long[] tokens = new Random(4).longs(2 * 12, 0, 11).toArray();
            NDArray idx = m.create(tokens, new Shape(2, 12));
            float[] actual = model.logits(idx, false).toFloatArray();
            float[] expected = perHeadLogits(model, idx).toFloatArray();
            assertThat(actual).hasSameSizeAs(expected);
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).isCloseTo(expected[i], within(1e-4f));
            }
        }
    }

    @Test
    void dropoutZeroesAFractionPAndScalesTheRestByOneOverOneMinusP() {
        GptConfig config = CONFIG.with(GptConfig.DROPOUT, 0.2);
        try (Gpt model = Gpt.create(config, 3, Device.cpu());
                NDScope scope = new NDScope()) {
            int n = 200_000;
            float[] out = model.dropout(model.manager().ones(new Shape(n)), true).toFloatArray();
            int zeros = 0;
            for (float v : out) {
                if (v == 0) {
                    zeros++;
                } else {
                    assertThat(v).isCloseTo(1.25f, within(1e-6f));
                }
            }
            // binomial standard deviation at n = 200k, p = 0.2: 0.0009
            assertThat(zeros / (double) n).isCloseTo(0.2, within(0.005));
            float[] eval = model.dropout(model.manager().ones(new Shape(n)), false).toFloatArray();
            assertThat(eval).containsOnly(1f);
        }
    }

    /** gpt_reference.py's forward, head by head, on the model's own weights. */
    private static NDArray perHeadLogits(Gpt model, NDArray idx) {
        GptConfig c = model.config();
        int t = (int) idx.getShape().get(1);
        int hs = c.headSize();
        int width = c.nEmbd();
        Gpt.Weights w = model.weights();
        NDArray x = idx.oneHot(c.vocabSize()).matMul(w.wte).add(w.wpe.get("0:" + t));
        boolean[] above = new boolean[t * t]; // tril == 0
        for (int row = 0; row < t; row++) {
            for (int col = row + 1; col < t; col++) {
                above[row * t + col] = true;
            }
        }
        NDArray mask = model.manager().create(above, new Shape(t, t));
        for (Gpt.Block b : w.blocks) {
            NDArray h = layerNorm(x, b.ln1Weight(), b.ln1Bias());
            NDArray[] heads = new NDArray[c.nHead()];
            for (int head = 0; head < c.nHead(); head++) {
                NDArray q = h.matMul(rows(b.attnWeight(), head * hs, hs).transpose());
                NDArray k = h.matMul(rows(b.attnWeight(), width + head * hs, hs).transpose());
                NDArray v = h.matMul(rows(b.attnWeight(), 2 * width + head * hs, hs).transpose());
                NDArray wei = q.matMul(k.transpose(0, 2, 1)).mul(Math.pow(hs, -0.5));
                wei =
                        NDArrays.where(
                                mask.broadcast(wei.getShape()),
                                wei.zerosLike().add(Float.NEGATIVE_INFINITY),
                                wei);
                heads[head] = wei.softmax(-1).matMul(v);
            }
            NDArray attention =
                    NDArrays.concat(new NDList(heads), -1)
                            .matMul(b.projWeight().transpose())
                            .add(b.projBias());
            x = x.add(attention);
            NDArray hidden =
                    layerNorm(x, b.ln2Weight(), b.ln2Bias())
                            .matMul(b.fcWeight().transpose())
                            .add(b.fcBias())
                            .maximum(0f);
            x = x.add(hidden.matMul(b.mlpProjWeight().transpose()).add(b.mlpProjBias()));
        }
        return layerNorm(x, w.lnFWeight, w.lnFBias)
                .matMul(w.headWeight.transpose())
                .add(w.headBias);
    }

    private static NDArray rows(NDArray weight, int from, int count) {
        return weight.get(new NDIndex().addSliceDim(from, from + count));
    }

    private static NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta) {
        NDArray mean = x.mean(new int[] {-1}, true);
        NDArray centred = x.sub(mean);
        NDArray variance = centred.square().mean(new int[] {-1}, true);
        return centred.div(variance.add(1e-5f).sqrt()).mul(gamma).add(beta);
    }
}
