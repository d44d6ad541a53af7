package dev.streamrag.gateway.exchange;

/**
 * An HTTP response to one chat completion: either one status and body, or an event stream that is
 * begun once and written to through {@link ClientChannel}. Called on the exchange's event loop
 * only.
 */
public interface ClientResponse extends ClientChannel {
  /** Sends {@code status} with a JSON body and ends the response. */
  void sendJson(int status, String json);

  /** Sends status 200 and the headers of a server-sent event stream; the body follows. */
  void beginEventStream();
}
