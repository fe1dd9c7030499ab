package io.streamgpt.job.input;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Unknown characters: a rate over all records, one warning at start, sampled dead letters. */
class UnknownCharacterWatchTest {

    @Test
    void deadLettersAreOnePerIntervalAndCarryEverythingSinceTheLast() {
        UnknownCharacterWatch watch = new UnknownCharacterWatch(10_000);
        // the first record with unknown characters is dead-lettered at once
        assertThat(watch.sample(3, 1_000)).isEqualTo(new UnknownCharacterWatch.Sample(1, 3));
        // 4 more within 10 s: none
        assertThat(watch.sample(1, 2_000)).isNull();
        assertThat(watch.sample(2, 5_000)).isNull();
        assertThat(watch.sample(5, 9_000)).isNull();
        assertThat(watch.sample(1, 10_999)).isNull();
        // the first after 10 s carries the 4 and itself: 5 records, 1+2+5+1+7 = 16 characters
        assertThat(watch.sample(7, 11_000)).isEqualTo(new UnknownCharacterWatch.Sample(5, 16));
        assertThat(watch.sample(1, 12_000)).isNull();
    }

    @Test
    void theFirstRecordsAreJudgedOnceAgainstATenthOfAPercent() {
        UnknownCharacterWatch clean = new UnknownCharacterWatch(10_000);
        // 9,990 of 10,000 characters known: exactly 0.1%, not above it
        assertThat(clean.count(9_000, 9)).isNull();
        assertThat(clean.count(1_000, 1)).isNull();
        assertThat(clean.rate()).isEqualTo(0.001);

        UnknownCharacterWatch dirty = new UnknownCharacterWatch(10_000);
        assertThat(dirty.count(5_000, 30)).isNull(); // not yet 10,000 characters or 20 records
        assertThat(dirty.count(5_000, 20))
                .startsWith("0.50% of the first 10,000 characters (2 records) are outside");
        assertThat(dirty.count(5_000, 5_000)).isNull(); // judged once
        assertThat(dirty.rate()).isEqualTo(5_050 / 15_000.0);

        UnknownCharacterWatch shortRecords = new UnknownCharacterWatch(10_000);
        for (int i = 0; i < 19; i++) {
            assertThat(shortRecords.count(10, 1)).isNull();
        }
        assertThat(shortRecords.count(10, 1)).contains("(20 records)"); // 10% of 200
    }
}
