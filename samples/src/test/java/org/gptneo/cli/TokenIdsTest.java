package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import org.junit.jupiter.api.Test;

/** The one --ids parser: rows by ';', ids by ',', spaces, brackets and negative ids. */
class TokenIdsTest {
    @Test
    void rowsAreSeparatedBySemicolonsAndIdsByCommasWithSpacesAllowed() {
        assertThat(TokenIds.rows("--ids", "1,2,3")).isDeepEqualTo(new int[][] {{1, 2, 3}});
        assertThat(TokenIds.rows("--ids", " 1, 2 ; 3 ,4,5 ")).isDeepEqualTo(new int[][] {{1, 2}, {3, 4, 5}});
        assertThat(TokenIds.rows("--ids", "[15496,995];[1]")).isDeepEqualTo(new int[][] {{15496, 995}, {1}});
    }

    @Test
    void negativeIdsParseForLabels() {
        assertThat(TokenIds.rows("--ids", "-100,5;7,-100")).isDeepEqualTo(new int[][] {{-100, 5}, {7, -100}});
        assertThat(TokenIds.row("--ids", "-1")).containsExactly(-1);
    }

    @Test
    void aSingleRowMayBeEmptyOnlyWhereOneRowIsAsked() {
        assertThat(TokenIds.row("--ids", "")).isEmpty();
        assertThat(TokenIds.row("--ids", " [ ] ")).isEmpty();
        assertThatThrownBy(() -> TokenIds.rows("--ids", " ")).hasMessage("--ids is empty: give at least one token id");
        assertThatThrownBy(() -> TokenIds.row("--ids", "1;2"))
                .hasMessage("--ids: expected one row of ids, got 2 rows (ids are separated by ',', rows by ';')");
    }

    @Test
    void badInputIsNamedByRowAndPosition() {
        assertThatThrownBy(() -> TokenIds.rows("--ids", "1,x"))
                .hasMessage("--ids: 'x' (position 2) is not an integer token id (ids are separated by ',', rows by ';')");
        assertThatThrownBy(() -> TokenIds.rows("--ids", "1,2;3,,4")).hasMessageStartingWith("--ids: '' (row 2, position 2)");
        assertThatThrownBy(() -> TokenIds.rows("--ids", "1 2")).hasMessageStartingWith("--ids: '1 2' (position 1)");
        assertThatThrownBy(() -> TokenIds.rows("--ids", "1;;2")).hasMessageStartingWith("--ids: row 2 is empty");
        assertThatThrownBy(() -> TokenIds.rows("--ids", "99999999999")).hasMessageContaining("'99999999999' (position 1)");
        assertThatThrownBy(() -> TokenIds.requireEqualLengths("--ids", new int[][] {{1, 2}, {3}}))
                .hasMessage("--ids: row 2 has 1 ids but row 1 has 2 (rows must have equal length)");
    }

    @Test
    void onTheCommandLineABadIdIsOneLineAndANegativeIdReachesTheModelsCheck() {
        assertOneLineError(Cli.run("detokenize", "--ids", "1;2"), "--ids: expected one row of ids, got 2 rows");
        assertOneLineError(Cli.run("generate", "--preset", "125M", "--ids", "1,2;3,z", "--max-new-tokens", "1"),
                "--ids: 'z' (row 2, position 2) is not an integer token id");
        assertOneLineError(Cli.run("generate", "--preset", "125M", "--ids", "-100,5", "--max-new-tokens", "1"),
                "--ids: token id -100 (position 1) is outside the model's vocabulary [0, 50257)");
    }
}
