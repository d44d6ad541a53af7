package dev.streamrag.mcptools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ArithmeticTest {

  private static String value(String expression) {
    Arithmetic.Evaluation evaluation = Arithmetic.evaluate(expression);
    assertThat(evaluation.isOk()).as("%s: %s", expression, evaluation.error()).isTrue();
    return evaluation.text();
  }

  private static String error(String expression) {
    Arithmetic.Evaluation evaluation = Arithmetic.evaluate(expression);
    assertThat(evaluation.isOk())
        .as("%s evaluates to %s", expression, evaluation.value())
        .isFalse();
    return evaluation.error();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '=',
      value = {
        // What the corpus's multi-hop questions ask.
        "1234 + 567 = 1801",
        "90000 - 1234 = 88766",
        // Precedence and associativity.
        "2 + 3 * 4 = 14",
        "2 * 3 + 4 = 10",
        "10 - 4 - 3 = 3",
        "100 / 10 / 5 = 2",
        "8 - 2 * 3 + 1 = 3",
        // Parentheses.
        "(2 + 3) * 4 = 20",
        "((((1)))) = 1",
        "2 * (3 + (4 - 1)) / 3 = 4",
        // Unary minus and plus.
        "-5 + 2 = -3",
        "-(2 + 3) = -5",
        "3 * -2 = -6",
        "- - 4 = 4",
        "+7 = 7",
        "5 - -5 = 10",
        "-0 = 0",
        // Decimals: exact, no binary rounding, no trailing zeros.
        "0.1 + 0.2 = 0.3",
        "1.5 * 4 = 6",
        "7 / 2 = 3.5",
        "2.50 = 2.5",
        ".5 + .25 = 0.75",
        "1 / 3 = 0.3333333333333333",
        "2 / 3 = 0.6666666666666667",
        // Large integers stay whole, also through division.
        "123456789012345678 * 1000 = 123456789012345678000",
        "123456789012345678000 / 1000 = 123456789012345678",
        "1000000 * 1000000 = 1000000000000",
        // Spaces anywhere between tokens.
        "  12+  3 = 15",
      })
  void evaluates(String expression, String expected) {
    assertThat(value(expression)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"1 / 0", "5 / (3 - 3)", "1 / 0.0", "0 / 0"})
  void refusesDivisionByZero(String expression) {
    assertThat(error(expression)).contains("division by zero");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '"',
      value = {
        "1234 km + 567 km | unexpected 'k' at position 6",
        "1,234 + 5 | unexpected ',' at position 2",
        "2 ^ 3 | unexpected '^' at position 3",
        "abc | unexpected 'a' at position 1",
        "1 + | ends early",
        "1 2 | unexpected '2' at position 3",
        "(1 + 2 | missing ')' for the '(' at position 1",
        "(1 + 2 3) | unexpected '3' at position 8; expected ')'",
        "1 + 2) | unexpected ')' at position 6",
        "() | unexpected ')' at position 2",
        ". | unexpected '.' at position 1",
        "1.2.3 | unexpected '.' at position 4",
        "2 * * 3 | unexpected '*' at position 5",
        "Math.exit(1) | unexpected 'M' at position 1",
        "١ + 1 | digits 0-9",
        "1234 km | without units",
      })
  void refusesGarbageSayingWhere(String expression, String message) {
    assertThat(error(expression)).contains(message);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "   "})
  void refusesEmpty(String expression) {
    assertThat(error(expression)).isEqualTo("the expression is empty");
  }

  @Test
  void refusesNull() {
    assertThat(Arithmetic.evaluate(null).isOk()).isFalse();
  }

  @Test
  void acceptsUpToTheLengthLimitAndNoMore() {
    String longest = "1" + " + 1".repeat((Arithmetic.MAX_LENGTH - 1) / 4);
    longest += " ".repeat(Arithmetic.MAX_LENGTH - longest.length());
    assertThat(longest).hasSize(Arithmetic.MAX_LENGTH);
    assertThat(value(longest)).isEqualTo(String.valueOf(1 + (Arithmetic.MAX_LENGTH - 1) / 4));

    assertThat(error(longest + "1"))
        .isEqualTo("the expression is 201 characters long; at most 200 are accepted");
  }

  @Test
  void acceptsParenthesesUpToTheDepthLimitAndNoDeeper() {
    int limit = Arithmetic.MAX_DEPTH;
    assertThat(value("(".repeat(limit) + "7" + ")".repeat(limit))).isEqualTo("7");
    // Side by side is not deeper.
    assertThat(value("(1) + ".repeat(30) + "0")).isEqualTo("30");

    assertThat(error("(".repeat(limit + 1) + "7" + ")".repeat(limit + 1)))
        .contains("nested more than 20 deep")
        .contains("position 21");
  }

  @Test
  void manySignsCostNoStack() {
    assertThat(value("-".repeat(199) + "1")).isEqualTo("-1");
  }

  @Test
  void textOfAFailureIsAnError() {
    Arithmetic.Evaluation failed = Arithmetic.evaluate("1 / 0");
    assertThatIllegalStateException()
        .isThrownBy(failed::text)
        .withMessageContaining("division by zero");
  }
}
