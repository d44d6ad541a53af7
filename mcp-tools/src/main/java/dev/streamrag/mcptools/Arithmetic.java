package dev.streamrag.mcptools;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Objects;

/**
 * Evaluates arithmetic a model hands the {@code compute} tool: integers and decimals with {@code +
 * - * /}, parentheses and unary minus, by a small recursive-descent parser. Nothing is ever
 * executed as code, and the input is bounded ({@link #MAX_LENGTH} characters, parentheses nested at
 * most {@link #MAX_DEPTH} deep), so a hostile expression costs microseconds and a clear message.
 *
 * <p>Numbers are {@link BigDecimal}: sums, differences and products are exact, so {@code 0.1 + 0.2}
 * is {@code 0.3}; so are quotients that terminate, and one that does not is rounded to 16
 * significant digits ({@code 1 / 3} is {@code 0.3333333333333333}).
 */
public final class Arithmetic {
  /** Longest expression accepted, in characters. */
  public static final int MAX_LENGTH = 200;

  /** Deepest nesting of parentheses accepted. */
  public static final int MAX_DEPTH = 20;

  private static final MathContext DIVISION = MathContext.DECIMAL64;

  private final String text;
  private int position;
  private int depth;

  private Arithmetic(String text) {
    this.text = text;
  }

  /** Evaluates {@code expression}; never throws for bad input, the result says what is wrong. */
  public static Evaluation evaluate(String expression) {
    if (expression == null || expression.isBlank()) {
      return Evaluation.failed("the expression is empty");
    }
    if (expression.length() > MAX_LENGTH) {
      return Evaluation.failed(
          "the expression is "
              + expression.length()
              + " characters long; at most "
              + MAX_LENGTH
              + " are accepted");
    }
    Arithmetic parser = new Arithmetic(expression);
    try {
      BigDecimal value = parser.sum();
      parser.skipSpaces();
      if (parser.position < expression.length()) {
        throw parser.unexpected("an operator (+ - * /) or the end");
      }
      return Evaluation.ok(value);
    } catch (InvalidExpression e) {
      return Evaluation.failed(e.getMessage());
    }
  }

  // sum := product (('+' | '-') product)*
  private BigDecimal sum() {
    BigDecimal value = product();
    while (true) {
      char operator = peek();
      if (operator == '+') {
        position++;
        value = value.add(product());
      } else if (operator == '-') {
        position++;
        value = value.subtract(product());
      } else {
        return value;
      }
    }
  }

  // product := signed (('*' | '/') signed)*
  private BigDecimal product() {
    BigDecimal value = signed();
    while (true) {
      char operator = peek();
      if (operator == '*') {
        position++;
        value = value.multiply(signed());
      } else if (operator == '/') {
        int at = position;
        position++;
        BigDecimal divisor = signed();
        if (divisor.signum() == 0) {
          throw new InvalidExpression("division by zero (the '/' at position " + (at + 1) + ")");
        }
        value = quotient(value, divisor);
      } else {
        return value;
      }
    }
  }

  /** Exact when the quotient terminates (so large integers stay whole), else 16 digits. */
  private static BigDecimal quotient(BigDecimal dividend, BigDecimal divisor) {
    try {
      return dividend.divide(divisor);
    } catch (ArithmeticException nonTerminating) {
      return dividend.divide(divisor, DIVISION);
    }
  }

  // signed := ('-' | '+')* primary; a loop, not recursion, so "- - - 1" costs no stack.
  private BigDecimal signed() {
    boolean negative = false;
    while (true) {
      char sign = peek();
      if (sign == '-') {
        negative = !negative;
      } else if (sign != '+') {
        break;
      }
      position++;
    }
    BigDecimal value = primary();
    return negative ? value.negate() : value;
  }

  // primary := number | '(' sum ')'
  private BigDecimal primary() {
    char next = peek();
    if (next == '(') {
      int open = position;
      if (++depth > MAX_DEPTH) {
        throw new InvalidExpression(
            "parentheses are nested more than "
                + MAX_DEPTH
                + " deep (at position "
                + (open + 1)
                + ")");
      }
      position++;
      BigDecimal value = sum();
      if (peek() != ')') {
        throw position < text.length()
            ? unexpected("')' to close the '(' at position " + (open + 1))
            : new InvalidExpression("missing ')' for the '(' at position " + (open + 1));
      }
      position++;
      depth--;
      return value;
    }
    if (Character.isDigit(next) || next == '.') {
      return number();
    }
    throw unexpected("a number or '('");
  }

  private BigDecimal number() {
    int start = position;
    while (position < text.length() && Character.isDigit(text.charAt(position))) {
      position++;
    }
    if (position < text.length() && text.charAt(position) == '.') {
      position++;
      while (position < text.length() && Character.isDigit(text.charAt(position))) {
        position++;
      }
    }
    String digits = text.substring(start, position);
    if (digits.equals(".")) {
      position = start;
      throw unexpected("a number or '('");
    }
    // Only ASCII digits: Character.isDigit also accepts other scripts' digits.
    if (!digits.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'))) {
      position = start;
      throw unexpected("a number written with the digits 0-9");
    }
    return new BigDecimal(digits);
  }

  /** The next character that is not a space, or {@code 0} at the end. */
  private char peek() {
    skipSpaces();
    return position < text.length() ? text.charAt(position) : 0;
  }

  private void skipSpaces() {
    while (position < text.length() && Character.isWhitespace(text.charAt(position))) {
      position++;
    }
  }

  private InvalidExpression unexpected(String expected) {
    if (position >= text.length()) {
      return new InvalidExpression("the expression ends early; expected " + expected);
    }
    char found = text.charAt(position);
    // Most likely a unit copied along with a fact's value ("1234 km"): say what to do instead.
    String hint = Character.isLetter(found) ? " (write bare numbers, without units or words)" : "";
    return new InvalidExpression(
        "unexpected '"
            + found
            + "' at position "
            + (position + 1)
            + "; expected "
            + expected
            + hint);
  }

  /** Unwinds the parser to {@link #evaluate}, which turns it into a failed evaluation. */
  private static final class InvalidExpression extends RuntimeException {
    InvalidExpression(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * A value, or the reason there is none.
   *
   * @param value the result, or null when the expression was not valid
   * @param error why the expression was not valid, or null
   */
  public record Evaluation(BigDecimal value, String error) {
    static Evaluation ok(BigDecimal value) {
      return new Evaluation(Objects.requireNonNull(value), null);
    }

    static Evaluation failed(String error) {
      return new Evaluation(null, Objects.requireNonNull(error));
    }

    public boolean isOk() {
      return error == null;
    }

    /**
     * The value as a model should read it: no exponent, no trailing zeros, integers without {@code
     * .0} ({@code 1801}, {@code -2.5}, {@code 0.3333333333333333}).
     */
    public String text() {
      if (!isOk()) {
        throw new IllegalStateException("no value: " + error);
      }
      BigDecimal stripped = value.stripTrailingZeros();
      return stripped.signum() == 0 ? "0" : stripped.toPlainString();
    }
  }
}
