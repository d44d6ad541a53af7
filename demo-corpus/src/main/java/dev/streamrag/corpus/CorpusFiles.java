package dev.streamrag.corpus;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.codec.RecordCodec;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The corpus on disk as JSON Lines: {@code documents.jsonl} holds one {@link Document} per line in
 * the plain JSON every producer can write (the ingest job's file source reads it), {@code
 * questions.jsonl} one {@link QaPair} per line.
 */
public final class CorpusFiles {
  public static final String DOCUMENTS = "documents.jsonl";
  public static final String QUESTIONS = "questions.jsonl";
  private static final ObjectMapper JSON = new ObjectMapper();

  private CorpusFiles() {}

  public static void write(DemoCorpus corpus, Path directory) throws IOException {
    Files.createDirectories(directory);
    RecordCodec<Document> codec = RecordCodec.of(Document.class);
    try (BufferedWriter out =
        Files.newBufferedWriter(directory.resolve(DOCUMENTS), StandardCharsets.UTF_8)) {
      for (Document document : corpus.documents()) {
        out.write(new String(codec.encodeJson(document), StandardCharsets.UTF_8));
        out.write('\n');
      }
    }
    try (BufferedWriter out =
        Files.newBufferedWriter(directory.resolve(QUESTIONS), StandardCharsets.UTF_8)) {
      for (QaPair qa : corpus.questions()) {
        out.write(JSON.writeValueAsString(qa));
        out.write('\n');
      }
    }
  }

  public static List<QaPair> readQuestions(Path file) throws IOException {
    List<QaPair> questions = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (!line.isBlank()) {
        questions.add(JSON.readValue(line, QaPair.class));
      }
    }
    return questions;
  }
}
