package dev.streamrag.llmsim.server;

/**
 * An error answered the way vLLM's OpenAI server answers it: an HTTP status and a JSON body {@code
 * {"object":"error","message":...,"type":...,"param":null,"code":status}}.
 */
final class ApiError extends Exception {
  private static final long serialVersionUID = 1L;
  private final int status;
  private final String type;

  ApiError(int status, String type, String message) {
    super(message);
    this.status = status;
    this.type = type;
  }

  static ApiError badRequest(String message) {
    return new ApiError(400, "BadRequestError", message);
  }

  int status() {
    return status;
  }

  String type() {
    return type;
  }
}
