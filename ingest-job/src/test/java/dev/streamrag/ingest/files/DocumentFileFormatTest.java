package dev.streamrag.ingest.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.RecordAndPosition;
import org.apache.flink.types.Either;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile files: every line or file ends as a document or a dead letter naming file and line. */
class DocumentFileFormatTest {

  private static List<Either<DeadLetter, Document>> read(Path root, Path file, int maxRecordBytes)
      throws Exception {
    DocumentFileFormat format =
        new DocumentFileFormat(root.toString(), "docs", 10_000, maxRecordBytes, "ingest-test");
    long size = Files.size(file);
    FileSourceSplit split =
        new FileSourceSplit("0", new org.apache.flink.core.fs.Path(file.toUri()), 0, size, 0, size);
    List<Either<DeadLetter, Document>> records = new ArrayList<>();
    try (BulkFormat.Reader<Either<DeadLetter, Document>> reader =
        format.createReader(new Configuration(), split)) {
      BulkFormat.RecordIterator<Either<DeadLetter, Document>> batch;
      while ((batch = reader.readBatch()) != null) {
        RecordAndPosition<Either<DeadLetter, Document>> next;
        while ((next = batch.next()) != null) {
          records.add(next.getRecord());
        }
        batch.releaseBatch();
      }
    }
    return records;
  }

  @Test
  void oversizedGarbageAndInvalidLinesAreDeadLetteredWithFileAndLine(@TempDir Path dir)
      throws Exception {
    ByteArrayOutputStream jsonl = new ByteArrayOutputStream();
    String valid = "{\"docId\":\"d%d\",\"tenantId\":\"acme\",\"text\":\"hello\"}\n";
    jsonl.write(String.format(valid, 1).getBytes(StandardCharsets.UTF_8));
    jsonl.write(("{\"docId\":\"big\",\"text\":\"" + "x".repeat(5_000) + "\"}\n").getBytes());
    jsonl.write("\n".getBytes()); // blank: skipped
    jsonl.write(
        new byte[] {'{', '"', 'd', 'o', 'c', 'I', 'd', '"', ':', '"', (byte) 0xff, '"', '}', '\n'});
    jsonl.write("{\"docId\": 7, \"tenantId\": \"acme\"}\n".getBytes());
    jsonl.write("\u0000\u0001 binary\n".getBytes());
    jsonl.write(String.format(valid, 2).getBytes(StandardCharsets.UTF_8));
    Path file = dir.resolve("in.jsonl");
    Files.write(file, jsonl.toByteArray());

    List<Either<DeadLetter, Document>> records = read(dir, file, 1_024);
    assertThat(records).hasSize(6);
    assertThat(records.stream().filter(Either::isRight).map(r -> r.right().getDocId()))
        .containsExactly("d1", "d2");
    List<String> reasons =
        records.stream()
            .filter(Either::isLeft)
            .map(r -> r.left().getReasonCode() + " " + r.left().getReason())
            .toList();
    assertThat(reasons).hasSize(4);
    assertThat(reasons.get(0))
        .startsWith("file.line_too_large in.jsonl line 2: 5025 bytes")
        .contains("ingest.max-record-bytes");
    assertThat(reasons.get(1)).startsWith("decode.malformed_json in.jsonl line 4");
    assertThat(reasons.get(2)).startsWith("decode.invalid_field in.jsonl line 5");
    assertThat(reasons.get(3)).startsWith("decode.unknown_encoding in.jsonl line 6");
  }

  @Test
  void aTextFileThatIsNotUtf8IsDeadLettered(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("notes.txt");
    Files.write(file, new byte[] {'o', 'k', ' ', (byte) 0xc3, (byte) 0x28});
    List<Either<DeadLetter, Document>> records = read(dir, file, 1_024);
    assertThat(records).singleElement().matches(Either::isLeft);
    assertThat(records.get(0).left().getReasonCode()).isEqualTo("file.invalid_utf8");
    assertThat(records.get(0).left().getReason()).startsWith("notes.txt:");
  }
}
