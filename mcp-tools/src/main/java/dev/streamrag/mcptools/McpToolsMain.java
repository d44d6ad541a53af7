package dev.streamrag.mcptools;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code McpToolsMain --port N}: serves the demo MCP tools until stopped (Ctrl-C, SIGTERM). Prints
 * {@code mcp-tools serving N entities at http://127.0.0.1:PORT/mcp} once it serves, which a fixture
 * can read when it asks for port 0. With {@code --drill-tools} it also serves the failure drills'
 * tools ({@code drill_sleep}, sleeping {@code --drill-sleep}; {@code drill_garbage}; {@code
 * drill_strict}) and says so on a second line.
 */
@Command(
    name = "mcp-tools",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description =
        "A demo MCP server (Streamable HTTP) whose tools look up the demo corpus's entities and"
            + " do arithmetic.")
public final class McpToolsMain implements Callable<Integer> {
  /** Log4j's configuration inside this jar, unless the user names another. */
  private static final String LOG_CONFIG = "streamrag/mcp-tools-log4j2.properties";

  // Held so that the level set below survives: JUL keeps loggers only weakly.
  private static final Logger TOMCAT_LOG = Logger.getLogger("org.apache");

  @Option(
      names = "--port",
      defaultValue = "8765",
      description = "Port on 127.0.0.1 (default: ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  @Option(
      names = "--corpus-seed",
      defaultValue = "42",
      description = "Seed of the demo corpus (default: ${DEFAULT-VALUE}).")
  long corpusSeed;

  @Option(
      names = "--corpus-documents",
      defaultValue = "200",
      description = "Articles, so entities, in the demo corpus (default: ${DEFAULT-VALUE}).")
  int corpusDocuments;

  @Option(
      names = "--tenants",
      defaultValue = "acme,globex",
      split = ",",
      description = "Tenants the documents are dealt to (default: ${DEFAULT-VALUE}).")
  List<String> tenants;

  @Option(
      names = "--drill-tools",
      description =
          "Also serve the failure drills' tools: drill_sleep, drill_garbage, drill_strict"
              + " (default: off).")
  boolean drillTools;

  @Option(
      names = "--drill-sleep",
      defaultValue = "30s",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "How long drill_sleep sleeps: 500ms, 30s, 5m or PT30S (default: ${DEFAULT-VALUE}).")
  Duration drillSleep;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    if (System.getProperty("log4j2.configurationFile") == null
        && System.getProperty("log4j.configurationFile") == null) {
      System.setProperty("log4j2.configurationFile", LOG_CONFIG);
    }
    // Tomcat announces every start step at INFO; the line printed below is what matters.
    TOMCAT_LOG.setLevel(Level.WARNING);
    System.exit(new CommandLine(new McpToolsMain()).execute(args));
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    McpToolsServer server;
    try {
      server =
          McpToolsServer.builder()
              .port(port)
              .corpusSeed(corpusSeed)
              .corpusDocuments(corpusDocuments)
              .tenants(tenants)
              .drillTools(drillTools)
              .drillSleep(drillSleep)
              .start();
    } catch (IllegalArgumentException e) {
      err.println("mcp-tools: " + e.getMessage());
      return 2;
    } catch (IllegalStateException e) {
      err.println("mcp-tools: " + e.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "mcp-tools-shutdown"));
    PrintWriter out = spec.commandLine().getOut();
    out.printf(
        "mcp-tools serving %d entities of tenants %s at %s%n",
        corpusDocuments, String.join(",", tenants), server.endpoint());
    if (drillTools) {
      out.printf(
          "mcp-tools drill tools on: %s (sleeps %s), %s, %s%n",
          DrillTools.SLEEP,
          DurationConverter.format(drillSleep),
          DrillTools.GARBAGE,
          DrillTools.STRICT);
    }
    out.flush();
    stopped.await();
    return 0;
  }
}
