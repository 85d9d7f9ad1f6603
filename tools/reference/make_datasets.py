"""Generate the training-data fixtures for the Java org.gptneo.data tests, without pyarrow.

Run from anywhere:  /usr/bin/python3 tools/reference/make_datasets.py
Writes api/src/test/resources/data/ (deterministic: rerunning gives byte-identical files):

  hf_input_ids.arrow   a Hugging Face `datasets` cache file: an Arrow IPC *stream* with an `input_ids`
                       list<int32> column (plus an unused `attention_mask` list<int8>), in 3 record batches
  hf_text.arrow        the same kind of stream with a `text` utf8 column, in 2 record batches
  hf_saved/            a `save_to_disk` folder: dataset_info.json, state.json and two data-*.arrow streams
                       with `input_ids` list<int64>
  neox_uint16.bin/.idx a GPT-NeoX / Megatron indexed dataset (uint16, one sequence per document, each
                       ending with EOD), laid out as MMapIndexedDatasetBuilder writes it
  expected.json        the token streams the Java reader must produce (the texts, for hf_text.arrow)

The Arrow streams are written by hand from the IPC format spec (Message.fbs, Schema.fbs): each message is
the continuation marker 0xFFFFFFFF, the int32 metadata size, a flatbuffer `Message` (padded to 8 bytes) and
the body (buffers 8-byte aligned); the stream ends with 0xFFFFFFFF 0x00000000. As pyarrow does, columns
without nulls get a zero-length validity buffer.
"""

import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "api", "src", "test", "resources", "data")
EOS = 50256


# ---- a minimal flatbuffer writer, laid out front to back -------------------------------------------
# A table is written as its vtable, then the table (8-byte aligned), then the objects its offset fields
# point to (offsets are unsigned and must point forward, which this order guarantees).

class Table:
    def __init__(self, *fields):
        self.fields = fields  # (slot, kind, value); kind: "bool", "u8", "i16", "i32", "i64" or "off"


class String:
    def __init__(self, text):
        self.data = text.encode("utf-8")


class Vector:  # of tables or strings
    def __init__(self, items):
        self.items = items


class StructVector:  # of fixed-size structs made only of int64s
    def __init__(self, rows):
        self.rows = rows  # each a tuple of ints


SIZES = {"bool": 1, "u8": 1, "i16": 2, "i32": 4, "i64": 8, "off": 4}
FORMATS = {"bool": "<B", "u8": "<B", "i16": "<h", "i32": "<i", "i64": "<q"}


class Builder:
    def __init__(self):
        self.buf = bytearray()

    def pad(self, align, extra=0):
        while (len(self.buf) + extra) % align:
            self.buf.append(0)

    def patch_offset(self, at, target):
        struct.pack_into("<I", self.buf, at, target - at)

    def write(self, obj):
        if isinstance(obj, Table):
            return self.table(obj)
        if isinstance(obj, String):
            self.pad(4)
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(obj.data)) + obj.data + b"\0"
            return pos
        if isinstance(obj, Vector):
            self.pad(4)
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(obj.items)) + bytes(4 * len(obj.items))
            for i, item in enumerate(obj.items):
                self.patch_offset(pos + 4 + 4 * i, self.write(item))
            return pos
        if isinstance(obj, StructVector):
            self.pad(8, extra=4)  # the elements start 8-byte aligned
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(obj.rows))
            for row in obj.rows:
                self.buf += struct.pack("<" + "q" * len(row), *row)
            return pos
        raise TypeError(obj)

    def table(self, t):
        slots = max(slot for slot, _, _ in t.fields) + 1 if t.fields else 0
        layout = {}  # slot -> offset in the table
        offset = 4  # after the soffset to the vtable
        for slot, kind, _ in sorted(t.fields, key=lambda f: -SIZES[f[1]]):
            size = SIZES[kind]
            offset = (offset + size - 1) // size * size
            layout[slot] = offset
            offset += size
        table_size = (offset + 3) // 4 * 4
        self.pad(2)
        vtable = len(self.buf)
        self.buf += struct.pack("<HH", 4 + 2 * slots, table_size)
        for slot in range(slots):
            self.buf += struct.pack("<H", layout.get(slot, 0))
        self.pad(8)
        pos = len(self.buf)
        self.buf += bytes(table_size)
        struct.pack_into("<i", self.buf, pos, pos - vtable)  # vtable = table - soffset
        for slot, kind, value in t.fields:
            if kind != "off":
                struct.pack_into(FORMATS[kind], self.buf, pos + layout[slot], value)
        for slot, kind, value in t.fields:
            if kind == "off":
                self.patch_offset(pos + layout[slot], self.write(value))
        return pos

    def finish(self, root):
        self.buf += bytes(4)
        self.patch_offset(0, self.write(root))
        self.pad(8)
        return bytes(self.buf)


# ---- Arrow IPC stream messages -------------------------------------------------------------------

V5 = 4  # MetadataVersion.V5
HEADER_SCHEMA, HEADER_RECORD_BATCH = 1, 3
TYPE_INT, TYPE_UTF8, TYPE_LIST = 2, 5, 12


def int_type(bits):
    return TYPE_INT, Table((0, "i32", bits), (1, "bool", 1))


def field(name, type_, children=()):
    type_code, type_table = type_
    return Table((0, "off", String(name)), (1, "bool", 1), (2, "u8", type_code), (3, "off", type_table),
                 (5, "off", Vector(list(children))))


def list_field(name, bits):
    return field(name, (TYPE_LIST, Table()), [field("item", int_type(bits))])


def utf8_field(name):
    return field(name, (TYPE_UTF8, Table()))


def key_value(key, value):
    return Table((0, "off", String(key)), (1, "off", String(value)))


def message(header_type, header, body_length):
    fb = Builder().finish(Table((0, "i16", V5), (1, "u8", header_type), (2, "off", header), (3, "i64", body_length)))
    return struct.pack("<Ii", 0xFFFFFFFF, len(fb)) + fb


def schema_message(fields, features):
    metadata = Vector([key_value("huggingface", json.dumps({"info": {"features": features}}))])
    return message(HEADER_SCHEMA, Table((1, "off", Vector(fields)), (2, "off", metadata)), 0)


def padded(data):
    return data + bytes(-len(data) % 8)


def list_column(rows, code):
    """Nodes and buffers of a list<int> column: (list validity, offsets, item validity, values)."""
    offsets = [0]
    for row in rows:
        offsets.append(offsets[-1] + len(row))
    values = [v for row in rows for v in row]
    nodes = [(len(rows), 0), (len(values), 0)]
    buffers = [b"", struct.pack("<%di" % len(offsets), *offsets), b"", struct.pack("<%d%s" % (len(values), code), *values)]
    return nodes, buffers


def utf8_column(texts):
    data = [t.encode("utf-8") for t in texts]
    offsets = [0]
    for d in data:
        offsets.append(offsets[-1] + len(d))
    return [(len(texts), 0)], [b"", struct.pack("<%di" % len(offsets), *offsets), b"".join(data)]


def record_batch_message(length, columns):
    nodes, buffers = [], []
    for column_nodes, column_buffers in columns:
        nodes += column_nodes
        buffers += column_buffers
    body = b""
    locations = []
    for buffer in buffers:
        locations.append((len(body), len(buffer)))
        body += padded(buffer)
    header = Table((0, "i64", length), (1, "off", StructVector(nodes)), (2, "off", StructVector(locations)))
    return message(HEADER_RECORD_BATCH, header, len(body)) + body


END_OF_STREAM = struct.pack("<Ii", 0xFFFFFFFF, 0)


def write(name, data):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def sequence_feature(dtype):
    return {"feature": {"dtype": dtype, "_type": "Value"}, "_type": "Sequence"}


# ---- the fixtures --------------------------------------------------------------------------------

def input_ids_stream(batches, bits):
    """A stream whose batches are lists of documents (token id lists); returns (bytes, expected tokens)."""
    code = {32: "i", 64: "q"}[bits]
    features = {"input_ids": sequence_feature("int%d" % bits), "attention_mask": sequence_feature("int8")}
    out = schema_message([list_field("input_ids", bits), list_field("attention_mask", 8)], features)
    expected = []
    for docs in batches:
        masks = [[1] * len(d) for d in docs]
        mask_nodes, mask_buffers = list_column(masks, "i")
        # attention_mask is int8: rewrite its values buffer with one byte per value
        mask_buffers[3] = bytes(v for m in masks for v in m)
        out += record_batch_message(len(docs), [list_column(docs, code), (mask_nodes, mask_buffers)])
        for d in docs:
            expected += d + [EOS]
    return out + END_OF_STREAM, expected


def neox_pair(docs, dtype_code=8):
    """.bin and .idx bytes for documents (each already ending with EOD), one sequence per document."""
    sizes = [len(d) for d in docs]
    pointers, address = [], 0
    for size in sizes:
        pointers.append(address)
        address += size * 2  # uint16
    doc_idx = list(range(len(docs) + 1))  # [0, 1, ..., N]: end_document after each item
    idx = b"MMIDIDX\x00\x00" + struct.pack("<Q", 1) + struct.pack("<B", dtype_code)
    idx += struct.pack("<Q", len(sizes)) + struct.pack("<Q", len(doc_idx))
    idx += struct.pack("<%di" % len(sizes), *sizes)
    idx += struct.pack("<%dq" % len(pointers), *pointers)
    idx += struct.pack("<%dq" % len(doc_idx), *doc_idx)
    bin_ = b"".join(struct.pack("<%dH" % len(d), *d) for d in docs)
    return bin_, idx


def main():
    expected = {}

    docs = [[464, 3290, 318, 257, 922, 3290, 13], [15496, 995], [], [40, 588, 8887, 13, 198, 198, 1870, 284]]
    stream, tokens = input_ids_stream([docs[:2], docs[2:3], docs[3:]], 32)
    write("hf_input_ids.arrow", stream)
    expected["hf_input_ids.arrow"] = tokens

    texts = [["The dog is a good dog.", "Hello world"], ["caf\u00e9 \u65e5\u672c\u8a9e \U0001F600", "", "two\n\nlines "]]
    out = schema_message([utf8_field("text")], {"text": {"dtype": "string", "_type": "Value"}})
    for batch in texts:
        out += record_batch_message(len(batch), [utf8_column(batch)])
    write("hf_text.arrow", out + END_OF_STREAM)
    expected["hf_text.arrow"] = [t for batch in texts for t in batch]

    saved = [[[1, 2, 3], [4]], [[5, 6], [70000, 8, 9]]]
    expected_saved = []
    for i, part in enumerate(saved):
        stream, tokens = input_ids_stream([part], 64)
        write("hf_saved/data-%05d-of-%05d.arrow" % (i, len(saved)), stream)
        expected_saved += tokens
    write("hf_saved/dataset_info.json", json.dumps({"features": {"input_ids": sequence_feature("int64")}}).encode())
    write("hf_saved/state.json", json.dumps({"_data_files": [{"filename": "data-%05d-of-%05d.arrow" % (i, len(saved))}
                                                             for i in range(len(saved))], "_split": "train"}).encode())
    expected["hf_saved"] = expected_saved

    neox_docs = [[464, 3290, 318, EOS], [15496, 995, EOS], [65535, 0, 1, 2, 3, EOS], [EOS]]
    bin_, idx = neox_pair(neox_docs)
    write("neox_uint16.bin", bin_)
    write("neox_uint16.idx", idx)
    expected["neox_uint16"] = [t for d in neox_docs for t in d]

    write("expected.json", (json.dumps(expected, indent=1, ensure_ascii=True) + "\n").encode())
    for name in sorted(os.listdir(OUT)):
        print(name)


if __name__ == "__main__":
    main()
