package dev.streamrag.gateway.exchange;

import dev.streamrag.gateway.openai.ApiError;

/**
 * An HTTP response to one chat completion: either one status and body, or an event stream that is
 * begun once and written to through {@link ClientChannel}. Called on the exchange's event loop
 * only. Once the event stream is begun, the status is sent: neither {@link #sendJson} nor {@link
 * #sendError} may be called any more.
 */
public interface ClientResponse extends ClientChannel {
  /** Sends status 200 with a JSON body and ends the response. */
  void sendJson(String json);

  /** Sends {@code error}'s status, retry headers and body, and ends the response. */
  void sendError(ApiError error);

  /** Sends status 200 and the headers of a server-sent event stream; the body follows. */
  void beginEventStream();
}
