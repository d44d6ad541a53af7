package dev.streamrag.ingest.files;

import dev.streamrag.jobs.kafka.DeadLetters;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.codec.DecodeFailure;
import dev.streamrag.schemas.codec.Decoded;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.ids.Identifiers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.CheckpointedPosition;
import org.apache.flink.connector.file.src.util.IteratorResultIterator;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.types.Either;

/**
 * Reads documents from files for Flink's {@code FileSource}, by extension:
 *
 * <ul>
 *   <li>{@code .jsonl}, {@code .ndjson}: one {@code Document} per line, in the JSON the codec reads
 *       (what {@code demo-corpus} writes). A line that does not decode becomes a dead letter naming
 *       the file and line; so does a line longer than the record limit, which is skipped as it is
 *       read (never held whole in memory).
 *   <li>{@code .md}, {@code .markdown}, {@code .txt}: the whole file is one document. Its id is the
 *       path below the source directory, its title the first Markdown heading (or the file name),
 *       its tenant the configured one.
 * </ul>
 *
 * Other files, text files over the size limit and text that is not valid UTF-8 become dead letters
 * with the reason, so nothing in the directory is skipped silently. Files are read whole by one
 * reader (not split); on restore, the records emitted before the checkpoint are skipped.
 */
public final class DocumentFileFormat
    implements BulkFormat<Either<DeadLetter, Document>, FileSourceSplit> {
  private static final long serialVersionUID = 1L;

  /** Lines decoded per batch handed to the task. */
  private static final int BATCH = 128;

  /** A dead letter keeps at most this much of a refused line. */
  private static final int DEAD_LETTER_BYTES = 64 * 1024;

  private final String root;
  private final String tenant;
  private final int maxDocumentChars;
  private final int maxRecordBytes;
  private final String job;

  /**
   * @param root the directory the source reads; document ids are paths below it
   * @param tenant the tenant of Markdown and text documents (JSONL lines carry their own)
   * @param maxRecordBytes the longest JSONL line read; a longer one is skipped, streaming, and
   *     dead-lettered
   */
  public DocumentFileFormat(
      String root, String tenant, int maxDocumentChars, int maxRecordBytes, String job) {
    if (maxRecordBytes <= 0) {
      throw new IllegalArgumentException("maxRecordBytes must be positive, got " + maxRecordBytes);
    }
    this.root = new Path(root).toUri().getPath();
    this.tenant = tenant;
    this.maxDocumentChars = maxDocumentChars;
    this.maxRecordBytes = maxRecordBytes;
    this.job = job;
  }

  @Override
  public Reader<Either<DeadLetter, Document>> createReader(
      Configuration config, FileSourceSplit split) throws IOException {
    return new FileReader(split, 0);
  }

  @Override
  public Reader<Either<DeadLetter, Document>> restoreReader(
      Configuration config, FileSourceSplit split) throws IOException {
    long skip =
        split.getReaderPosition().map(CheckpointedPosition::getRecordsAfterOffset).orElse(0L);
    return new FileReader(split, skip);
  }

  @Override
  public boolean isSplittable() {
    return false;
  }

  @Override
  public TypeInformation<Either<DeadLetter, Document>> getProducedType() {
    return new EitherTypeInfo<>(
        new AvroTypeInfo<>(DeadLetter.class), new AvroTypeInfo<>(Document.class));
  }

  /** The id of a file's document: its path below the source directory. */
  String relativePath(Path file) {
    String path = file.toUri().getPath();
    String prefix = root.endsWith("/") ? root : root + "/";
    return path.startsWith(prefix) ? path.substring(prefix.length()) : path;
  }

  static String extension(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
  }

  /** Reads one file; every record it has produced counts toward the skip on restore. */
  private final class FileReader implements Reader<Either<DeadLetter, Document>> {
    private final FileSourceSplit split;
    private final String name;
    private final String kind;
    private final RecordCodec<Document> codec =
        RecordCodec.builder(Document.class).maxMessageBytes(maxRecordBytes).build();
    private FSDataInputStream stream;
    private BoundedLineReader lines;
    private long produced;
    private long skip;
    private long lineNumber;
    private boolean done;

    FileReader(FileSourceSplit split, long skip) {
      this.split = split;
      this.skip = skip;
      this.name = relativePath(split.path());
      this.kind = extension(split.path().getName());
    }

    @Override
    public RecordIterator<Either<DeadLetter, Document>> readBatch() throws IOException {
      if (done) {
        return null;
      }
      List<Either<DeadLetter, Document>> batch = new ArrayList<>();
      switch (kind) {
        case "jsonl", "ndjson" -> readLines(batch);
        case "md", "markdown", "txt" -> {
          batch.add(readWholeFile());
          done = true;
        }
        default -> {
          batch.add(
              Either.Left(
                  deadLetter(
                      "file.unsupported",
                      name
                          + ": unsupported file type '."
                          + kind
                          + "' (supported: .jsonl, .ndjson, .md, .markdown, .txt)",
                      new byte[0],
                      null,
                      null)));
          done = true;
        }
      }
      long first = produced;
      produced += batch.size();
      // Records emitted before a restore are not emitted again.
      List<Either<DeadLetter, Document>> fresh =
          skip >= produced
              ? List.of()
              : batch.subList((int) Math.max(0, skip - first), batch.size());
      skip = Math.max(0, skip - batch.size());
      return new IteratorResultIterator<>(
          fresh.iterator(), CheckpointedPosition.NO_OFFSET, produced - fresh.size());
    }

    private void readLines(List<Either<DeadLetter, Document>> batch) throws IOException {
      if (lines == null) {
        stream = split.path().getFileSystem().open(split.path());
        lines = new BoundedLineReader(stream, maxRecordBytes, DEAD_LETTER_BYTES);
      }
      while (batch.size() < BATCH) {
        BoundedLineReader.Line line = lines.next();
        if (line == null) {
          done = true;
          return;
        }
        lineNumber++;
        if (line.tooLong()) {
          batch.add(
              Either.Left(
                  deadLetter(
                      "file.line_too_large",
                      name
                          + " line "
                          + lineNumber
                          + ": "
                          + line.length()
                          + " bytes, more than the limit of "
                          + maxRecordBytes
                          + " (ingest.max-record-bytes); the dead letter keeps the first "
                          + line.bytes().length,
                      line.bytes(),
                      null,
                      null)));
          continue;
        }
        byte[] bytes = line.bytes();
        if (blank(bytes)) {
          continue;
        }
        Decoded<Document> decoded = codec.decode(bytes);
        if (decoded.isOk()) {
          batch.add(Either.Right(decoded.value()));
        } else {
          DecodeFailure failure = decoded.failure();
          batch.add(
              Either.Left(
                  deadLetter(
                      failure.code(),
                      name + " line " + lineNumber + ": " + failure.message(),
                      bytes,
                      failure.idHint(),
                      failure.tenantHint())));
        }
      }
    }

    private static boolean blank(byte[] bytes) {
      for (byte b : bytes) {
        if (b != ' ' && b != '\t' && b != '\r') {
          return false;
        }
      }
      return true;
    }

    private Either<DeadLetter, Document> readWholeFile() throws IOException {
      // UTF-8 takes at least one byte per character, at most four.
      if (split.fileSize() > 4L * maxDocumentChars) {
        return Either.Left(
            deadLetter(
                "document.too_large",
                name
                    + ": "
                    + split.fileSize()
                    + " bytes, more than a document of "
                    + maxDocumentChars
                    + " characters can have (ingest.max-document-chars)",
                new byte[0],
                name,
                tenant));
      }
      byte[] bytes;
      try (FSDataInputStream in = split.path().getFileSystem().open(split.path())) {
        bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, 4L * maxDocumentChars + 1));
      }
      String text;
      try {
        text =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
      } catch (CharacterCodingException e) {
        return Either.Left(
            deadLetter(
                "file.invalid_utf8",
                name + ": not valid UTF-8 text (" + e + ")",
                bytes,
                Identifiers.validDocId(name) ? name : null,
                tenant));
      }
      return Either.Right(
          Document.newBuilder()
              .setDocId(name)
              .setTenantId(tenant)
              .setTitle(title(text))
              .setText(text)
              .setSource("file:" + name)
              .setUpdatedAt(null)
              .setDeleted(false)
              .setMetadata(Map.of("file", name))
              .build());
    }

    /** The first Markdown heading, else the file name without its extension. */
    private String title(String text) {
      for (String line : text.split("\n", 50)) {
        String trimmed = line.strip();
        if (trimmed.startsWith("#")) {
          String heading = trimmed.replaceFirst("^#+", "").strip();
          if (!heading.isEmpty()) {
            return heading;
          }
        }
      }
      String file = split.path().getName();
      int dot = file.lastIndexOf('.');
      return dot > 0 ? file.substring(0, dot) : file;
    }

    private DeadLetter deadLetter(
        String code, String reason, byte[] payload, String id, String tenantId) {
      return DeadLetters.rejected(
          code,
          reason,
          "read-file",
          job,
          payload.length > DEAD_LETTER_BYTES ? Arrays.copyOf(payload, DEAD_LETTER_BYTES) : payload,
          id,
          tenantId,
          Instant.now());
    }

    @Override
    public void close() throws IOException {
      if (lines != null) {
        lines.close();
      } else if (stream != null) {
        stream.close();
      }
    }
  }
}
