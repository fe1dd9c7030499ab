package io.streamgpt.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VocabularyTest {

    @Test
    void corpusVocabularyIsTheSortedSetOfItsCharacters() throws IOException {
        Vocabulary v = Vocabulary.ofCorpus(Path.of("../data/tinyshakespeare.txt"));
        assertThat(v.size()).isEqualTo(65);
        assertThat(v).isEqualTo(Vocabulary.named("shakespeare"));
        assertThat(v.encode("\n !")).containsExactly(0, 1, 2);
        assertThat(v.decode(v.encode("ROMEO: Good morrow."))).isEqualTo("ROMEO: Good morrow.");
    }

    @Test
    void unknownCharactersAreSkippedAndCounted() {
        Vocabulary v = Vocabulary.ofText("abc");
        assertThat(v.encode("a?b€c😀")).containsExactly(0, 1, 2);
        assertThat(v.unknownCharacters()).isEqualTo(3);
        assertThat(v.encode("zzz")).isEmpty();
        assertThat(v.unknownCharacters()).isEqualTo(6);
    }

    @Test
    void emptyTextEncodesToNothing() {
        assertThat(Vocabulary.ofText("ab").encode("")).isEmpty();
        assertThat(Vocabulary.bytes().encode("")).isEmpty();
        assertThat(Vocabulary.ofText("ab").decode(new int[0])).isEmpty();
        assertThatThrownBy(() -> Vocabulary.ofText("")).hasMessageContaining("empty");
    }

    @Test
    void supplementaryCharactersAreSingleTokens() {
        Vocabulary v = Vocabulary.ofText("a😀b");
        assertThat(v.size()).isEqualTo(3);
        assertThat(v.decode(v.encode("😀a"))).isEqualTo("😀a");
    }

    @Test
    void bytesVocabularyAcceptsAnyTextAsUtf8() {
        Vocabulary v = Vocabulary.bytes();
        int[] ids = v.encode("é€😀");
        assertThat(ids).hasSize(2 + 3 + 4);
        assertThat(java.util.Arrays.stream(ids)).allMatch(id -> id >= 0 && id < 256);
        assertThat(v.decode(ids)).isEqualTo("é€😀");
        assertThat(v.unknownCharacters()).isZero();
        // a cut sequence decodes to the replacement character instead of failing
        assertThat(v.decode(new int[] {0xE2, 0x82})).isEqualTo("\uFFFD");
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() {
        assertThatThrownBy(() -> Vocabulary.ofText("ab").decode(new int[] {2}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside vocabulary");
    }

    @Test
    void namedVocabularyRejectsUnknownNames(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> Vocabulary.named("klingon"))
                .hasMessageContaining("'shakespeare', 'bytes'");
        Path corpus = Files.writeString(dir.resolve("c.txt"), "hello");
        assertThat(Vocabulary.named(corpus.toString()).characters()).isEqualTo("ehlo");
    }

    @Test
    void lineEndsAreNormalisedAndAVocabularyTravelsByContent(@TempDir Path dir) throws IOException {
        assertThat(Vocabulary.normalizeNewlines("a\r\nb\rc\n")).isEqualTo("a\nb\nc\n");
        // a Windows file: CR is not a character of its vocabulary, LF is
        Path corpus = Files.writeString(dir.resolve("w.txt"), "h\u00e9\r\n\uD83D\uDE00\r");
        Vocabulary own = Vocabulary.ofCorpus(corpus);
        assertThat(own.characters()).isEqualTo("\nh\u00e9\uD83D\uDE00");
        // by content: the same vocabulary without the file
        assertThat(own.spec()).startsWith(Vocabulary.CONTENT_PREFIX);
        Files.delete(corpus);
        assertThat(Vocabulary.named(own.spec())).isEqualTo(own);
        assertThat(Vocabulary.named("shakespeare").spec()).isEqualTo("shakespeare");
        assertThat(Vocabulary.bytes().spec()).isEqualTo("bytes");
    }
}
