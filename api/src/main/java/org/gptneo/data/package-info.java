/**
 * Training data: {@link org.gptneo.data.Datasets#open} turns a path into a {@link org.gptneo.data.TokenSource}
 * (one flat stream of token ids, documents separated by EOS), {@link org.gptneo.data.SequenceDataset#packed}
 * cuts it into fixed-length sequences, {@link org.gptneo.data.SequenceDataset#split} sets validation aside
 * and {@link org.gptneo.data.ShuffledOrder} visits the sequences in a seeded order per epoch.
 *
 * <p><b>Formats read.</b> Plain UTF-8 text (a file is one document), folders of text and JSONL files,
 * JSONL (a string field per line, {@code "text"} by default), Arrow IPC files and streams with a
 * {@code token_id} or {@code input_ids} column (int32/int64, or a list of them with one row per document,
 * as Hugging Face {@code datasets} writes its {@code data-*.arrow}/{@code cache-*.arrow} files) or a string
 * column, {@code save_to_disk} folders, and GPT-NeoX/Megatron {@code .bin}+{@code .idx} pairs. Nothing is
 * read whole: Arrow record batches are loaded on demand (at most two decoded at a time per file) and
 * {@code .bin} files are memory-mapped, so sources larger than memory work.
 *
 * <p><b>The cache contract.</b> Text is tokenized once (streaming, a document at a time) into an Arrow IPC
 * file {@code <source name>.tokens.arrow} next to the source, or {@code <name>-<hash of the absolute
 * path>.tokens.arrow} in {@link org.gptneo.data.DatasetOptions#cacheDir()}: one non-null int32 column
 * {@code token_id} in record batches of {@link org.gptneo.data.DatasetOptions#cacheBatchTokens()} tokens,
 * EOS after each document, and in the schema metadata {@code gptneo.fingerprint}: a JSON object of the
 * format version, each file's relative path, size and modification time (ns), the SHA-256 of the
 * tokenizer's vocabulary and merges, the EOS id and (for JSONL and Arrow text) the text field. A cache
 * whose fingerprint matches is reused untouched; otherwise it is rewritten through a temporary file and
 * an atomic rename, so readers never see a torn cache. The cache is itself a valid input.
 */
package org.gptneo.data;
