package io.streamgpt.job.input;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class TokenWindowerTest {

    @Test
    void windowsSpanRecordBoundariesAndAccountingIsExact() {
        Random random = new Random(1);
        for (int stride : new int[] {1, 5, 8, 9}) {
            TokenWindower windower = new TokenWindower("t-0", 9, stride, null);
            List<TokenWindow> windows = new ArrayList<>();
            List<Integer> stream = new ArrayList<>();
            long tokensIn = 0;
            for (int record = 0; record < 200; record++) {
                int[] tokens = random.ints(random.nextInt(30), 0, 65).toArray();
                for (int t : tokens) {
                    stream.add(t);
                }
                tokensIn += tokens.length;
                windower.add(tokens, windows::add);
                TokenWindower.State state = windower.state();
                assertThat(tokensIn).isEqualTo(state.windows() * stride + state.tail().length);
            }
            for (int w = 0; w < windows.size(); w++) {
                TokenWindow window = windows.get(w);
                assertThat(window.index()).isEqualTo(w);
                assertThat(window.position()).isEqualTo((long) w * stride);
                for (int i = 0; i < 9; i++) {
                    assertThat(window.tokens()[i])
                            .isEqualTo(stream.get((int) window.position() + i));
                }
            }
        }
    }

    @Test
    void restoredStateContinuesWhereItStopped() {
        int[] tokens = new Random(2).ints(100, 0, 10).toArray();
        List<TokenWindow> whole = new ArrayList<>();
        new TokenWindower("p", 5, 4, null).add(tokens, whole::add);

        List<TokenWindow> split = new ArrayList<>();
        TokenWindower first = new TokenWindower("p", 5, 4, null);
        first.add(java.util.Arrays.copyOf(tokens, 37), split::add);
        TokenWindower resumed = new TokenWindower("p", 5, 4, first.state());
        resumed.add(java.util.Arrays.copyOfRange(tokens, 37, 100), split::add);

        assertThat(split).usingRecursiveFieldByFieldElementComparator().isEqualTo(whole);
    }

    /**
     * Windows of 5 every 4 tokens: record 0 (offset 0, 7 tokens, at 1,000 ms) completes the window
     * at 0 and leaves 3 tokens; record 1 (offset 1, 6 tokens, at 2,000 ms) completes those at 4 and
     * 8 (the one at 4 holds record 0's tail): both name record 1, next offset 2.
     */
    @Test
    void aWindowNamesTheRecordThatCompletedIt() {
        TokenWindower windower = new TokenWindower("t-0", 5, 4, null);
        List<TokenWindow> windows = new ArrayList<>();
        windower.add(new int[7], 1, 1_000, windows::add);
        windower.add(new int[6], 2, 2_000, windows::add);
        assertThat(windows)
                .extracting(
                        TokenWindow::position, TokenWindow::nextOffset, TokenWindow::timestampMs)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(0L, 1L, 1_000L),
                        org.assertj.core.groups.Tuple.tuple(4L, 2L, 2_000L),
                        org.assertj.core.groups.Tuple.tuple(8L, 2L, 2_000L));
    }

    @Test
    void everyTenthWindowIsHeldOut() {
        assertThat(new TokenWindow("p", 0, 9, new int[2]).heldOut()).isTrue();
        assertThat(new TokenWindow("p", 0, 19, new int[2]).heldOut()).isTrue();
        assertThat(new TokenWindow("p", 0, 10, new int[2]).heldOut()).isFalse();
    }
}
