package dev.streamrag.corpus;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Writes the demo corpus and its questions as JSON Lines. */
@Command(
    name = "demo-corpus",
    mixinStandardHelpOptions = true,
    description =
        "Generates a reproducible corpus of invented facts with question/answer ground truth.")
public final class DemoCorpusMain implements Callable<Integer> {
  @Option(
      names = "--documents",
      defaultValue = "10000",
      description = "Articles (default: ${DEFAULT-VALUE}).")
  int documents;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--tenants",
      defaultValue = "demo",
      split = ",",
      description = "Tenants the documents are dealt to (default: ${DEFAULT-VALUE}).")
  List<String> tenants;

  @Option(
      names = "--out",
      required = true,
      description = "Directory for documents.jsonl and questions.jsonl.")
  Path out;

  public static void main(String[] args) {
    System.exit(new CommandLine(new DemoCorpusMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    DemoCorpus corpus = DemoCorpus.generate(seed, documents, tenants);
    CorpusFiles.write(corpus, out);
    System.out.printf(
        "wrote %d documents and %d questions to %s%n",
        corpus.documents().size(), corpus.questions().size(), out.toAbsolutePath());
    return 0;
  }
}
