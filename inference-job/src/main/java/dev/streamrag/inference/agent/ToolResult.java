package dev.streamrag.inference.agent;

/**
 * What the model is told a tool answered.
 *
 * @param text the tool's answer, or why it failed
 * @param errorCode null when the tool answered; else tool.unknown, tool.invalid_arguments,
 *     tool.timeout, tool.unavailable, tool.error or tool.result_too_large
 */
public record ToolResult(String text, String errorCode) {
  public static final String UNKNOWN = "tool.unknown";
  public static final String INVALID_ARGUMENTS = "tool.invalid_arguments";
  public static final String TIMEOUT = "tool.timeout";
  public static final String UNAVAILABLE = "tool.unavailable";
  public static final String ERROR = "tool.error";
  public static final String TOO_LARGE = "tool.result_too_large";

  public static ToolResult ok(String text) {
    return new ToolResult(text, null);
  }

  public static ToolResult failed(String code, String message) {
    return new ToolResult(message, code);
  }

  public boolean ok() {
    return errorCode == null;
  }

  /** The tool message's content: the answer, or the failure said so that a model can tell. */
  public String forModel() {
    return ok() ? text : "error (" + errorCode + "): " + text;
  }
}
