package org.gptneo.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted reader of the pickle in a {@code torch.save} zip ({@code <prefix>/data.pkl}): it
 * understands exactly the opcodes that state dicts use and an allowlist of globals, and treats
 * everything as data. Nothing a pickle names is ever looked up, loaded or instantiated: a global is
 * compared against the allowlist as two strings, and an unknown one is refused on the spot.
 *
 * <p>Allowed globals: {@code collections.OrderedDict} (called with no arguments),
 * {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter}, and the typed
 * storages {@code torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage}, which
 * may only appear inside a persistent id {@code ('storage', type, key, location, numel)}.
 * Opcodes: PROTO, FRAME, EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, MARK, TUPLE/TUPLE1/TUPLE2/TUPLE3,
 * BINUNICODE/SHORT_BINUNICODE/BINUNICODE8, BININT/BININT1/BININT2/LONG1, BINFLOAT, NONE,
 * NEWTRUE/NEWFALSE, BINPUT/LONG_BINPUT/MEMOIZE, BINGET/LONG_BINGET, SETITEM/SETITEMS,
 * APPEND/APPENDS, GLOBAL/STACK_GLOBAL, REDUCE, BUILD, BINPERSID, STOP (torch 1.13 emits a subset of
 * these with protocol 2; protocol 4 adds FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL).
 *
 * <p>Every length is checked against the bytes that remain before anything is allocated; the stack,
 * the memo and the mark depth are bounded; the reader is iterative (no recursion). Tensors are
 * returned as {@link TensorRef} (storage key, offset, shape) after checking that they are
 * contiguous and lie inside their storage. Every failure is a {@link CheckpointException} whose
 * message starts with the file label given to the constructor.
 */
final class RestrictedUnpickler {
    /** Most values on the stack at once. */
    static final int MAX_STACK = 1 << 20;
    /** Most memo entries. */
    static final int MAX_MEMO = 1 << 20;
    /** Deepest MARK nesting. */
    static final int MAX_MARKS = 1 << 12;
    /** Longest module or name of a global. */
    static final int MAX_GLOBAL_NAME = 256;
    /** Most dimensions of a tensor. */
    static final int MAX_RANK = 64;

    /** Element types of torch's typed storages, with the matching safetensors dtype name. */
    enum StorageType {
        FLOAT("FloatStorage", "F32", 4), HALF("HalfStorage", "F16", 2), BFLOAT16("BFloat16Storage", "BF16", 2),
        DOUBLE("DoubleStorage", "F64", 8), LONG("LongStorage", "I64", 8), INT("IntStorage", "I32", 4),
        SHORT("ShortStorage", "I16", 2), CHAR("CharStorage", "I8", 1), BYTE("ByteStorage", "U8", 1),
        BOOL("BoolStorage", "BOOL", 1);

        final String torchName;
        final String dtypeName;
        final int elementSize;

        StorageType(String torchName, String dtypeName, int elementSize) {
            this.torchName = torchName;
            this.dtypeName = dtypeName;
            this.elementSize = elementSize;
        }

        static StorageType byTorchName(String name) {
            for (StorageType t : values()) {
                if (t.torchName.equals(name)) return t;
            }
            return null;
        }
    }

    /** A storage named by a persistent id: {@code <prefix>/data/<key>} in the zip. */
    record StorageRef(String key, StorageType type, String location, long numel) {}

    /** A contiguous tensor: {@code shape} elements of {@code storage} starting at element {@code offset}. */
    record TensorRef(StorageRef storage, long offset, long[] shape) {
        long numel() {
            long n = 1;
            for (long d : shape) n *= d;   // checked not to overflow when built
            return n;
        }

        @Override
        public String toString() {
            return "tensor " + storage.type().dtypeName + Arrays.toString(shape);
        }
    }

    /** Checks a persistent id's storage against the archive (the key exists and holds numel elements). */
    @FunctionalInterface
    interface StorageResolver {
        StorageRef resolve(String key, StorageType type, String location, long numel);
    }

    // ---- the values a pickle can build -------------------------------------------------------

    private enum PyNone { NONE }

    private enum Callable {
        ORDERED_DICT("collections.OrderedDict"),
        REBUILD_TENSOR_V2("torch._utils._rebuild_tensor_v2"),
        REBUILD_PARAMETER("torch._utils._rebuild_parameter");

        final String pythonName;

        Callable(String pythonName) {
            this.pythonName = pythonName;
        }
    }

    /** An immutable tuple; toString is shallow so that cyclic structures print safely. */
    private static final class PyTuple {
        final List<Object> items;

        PyTuple(List<Object> items) {
            this.items = Collections.unmodifiableList(items);
        }

        @Override
        public String toString() {
            return "tuple of " + items.size();
        }
    }

    private static final class PyList {
        final List<Object> items = new ArrayList<>();

        @Override
        public String toString() {
            return "list of " + items.size();
        }
    }

    private static final class PyDict {
        final Map<Object, Object> items = new LinkedHashMap<>();

        @Override
        public String toString() {
            return "dict of " + items.size();
        }
    }

    // ---- state ----------------------------------------------------------------------------------

    private final String file;
    private final byte[] data;
    private final StorageResolver resolver;
    private Object[] values = new Object[64];
    private int size;
    private final int[] marks = new int[MAX_MARKS];
    private int markDepth;
    private final Map<Long, Object> memo = new HashMap<>();
    private int pos;
    private int opcodeAt;

    private RestrictedUnpickler(String file, byte[] data, StorageResolver resolver) {
        this.file = file;
        this.data = data;
        this.resolver = resolver;
    }

    /**
     * Reads a state dict: a dict (or OrderedDict) from parameter name to tensor. {@code file} labels
     * error messages (e.g. "pytorch_model.bin").
     */
    static Map<String, TensorRef> readStateDict(String file, byte[] pickle, StorageResolver resolver) {
        Object root = new RestrictedUnpickler(file, pickle, resolver).run();
        if (!(root instanceof PyDict dict)) {
            throw new CheckpointException(file + ": the pickle holds a " + describe(root) + ", not a state dict");
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<Object, Object> e : dict.items.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new CheckpointException(file + ": state dict key " + describe(e.getKey()) + " is not a string");
            }
            if (!(e.getValue() instanceof TensorRef t)) {
                throw new CheckpointException(file + ": state dict entry '" + name + "' is a "
                        + describe(e.getValue()) + ", not a tensor");
            }
            out.put(name, t);
        }
        return out;
    }

    private Object run() {
        while (true) {
            opcodeAt = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto > 5) throw fail("pickle protocol " + proto + " is not supported");
                }
                case 0x95 -> { // FRAME: a length hint; the bytes follow inline
                    long n = i64();
                    if (n < 0 || n > remaining()) throw fail("FRAME length " + n + " exceeds the " + remaining() + " bytes left");
                }
                case '}' -> push(new PyDict());                            // EMPTY_DICT
                case ']' -> push(new PyList());                            // EMPTY_LIST
                case ')' -> push(new PyTuple(List.of()));                  // EMPTY_TUPLE
                case '(' -> {                                              // MARK
                    if (markDepth == MAX_MARKS) throw fail("more than " + MAX_MARKS + " nested MARKs");
                    marks[markDepth++] = size; // a mark is a position on the stack, not a value
                }
                case 't' -> push(new PyTuple(popMark()));                  // TUPLE
                case 0x85 -> push(tuple(1));                               // TUPLE1
                case 0x86 -> push(tuple(2));                               // TUPLE2
                case 0x87 -> push(tuple(3));                               // TUPLE3
                case 'X' -> push(string(u32()));                           // BINUNICODE
                case 0x8c -> push(string(u8()));                           // SHORT_BINUNICODE
                case 0x8d -> {                                             // BINUNICODE8
                    long n = i64();
                    if (n < 0) throw fail("BINUNICODE8 length " + Long.toUnsignedString(n) + " exceeds the bytes left");
                    push(string(n));
                }
                case 'J' -> push((long) i32());                            // BININT
                case 'K' -> push((long) u8());                             // BININT1
                case 'M' -> push((long) (u8() | u8() << 8));               // BININT2
                case 0x8a -> push(long1());                                // LONG1
                case 'G' -> push(Double.longBitsToDouble(ByteBuffer.wrap(bytes(8)).order(ByteOrder.BIG_ENDIAN).getLong()));
                case 'N' -> push(PyNone.NONE);                             // NONE
                case 0x88 -> push(Boolean.TRUE);                           // NEWTRUE
                case 0x89 -> push(Boolean.FALSE);                          // NEWFALSE
                case 'q' -> memoPut(u8());                                 // BINPUT
                case 'r' -> memoPut(u32());                                // LONG_BINPUT
                case 0x94 -> memoPut(memo.size());                         // MEMOIZE
                case 'h' -> push(memoGet(u8()));                           // BINGET
                case 'j' -> push(memoGet(u32()));                          // LONG_BINGET
                case 's' -> {                                              // SETITEM
                    Object value = pop();
                    Object key = pop();
                    setItem(peekDict("SETITEM"), key, value);
                }
                case 'u' -> {                                              // SETITEMS
                    List<Object> items = popMark();
                    PyDict dict = peekDict("SETITEMS");
                    if (items.size() % 2 != 0) throw fail("SETITEMS with an odd number of values");
                    for (int i = 0; i < items.size(); i += 2) {
                        setItem(dict, items.get(i), items.get(i + 1));
                    }
                }
                case 'a' -> {                                              // APPEND
                    Object value = pop();
                    peekList("APPEND").items.add(value);
                }
                case 'e' -> {                                              // APPENDS
                    List<Object> items = popMark();
                    peekList("APPENDS").items.addAll(items);
                }
                case 'c' -> push(global(line(), line()));                  // GLOBAL
                case 0x93 -> {                                             // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("STACK_GLOBAL needs two strings, got " + describe(module) + " and " + describe(name));
                    }
                    push(global(m, n));
                }
                case 'R' -> {                                              // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(reduce(callable, args));
                }
                case 'b' -> {                                              // BUILD
                    Object state = pop();
                    Object target = peek();
                    if (!(target instanceof PyDict)) {
                        throw fail("BUILD on a " + describe(target) + " is not allowed");
                    }
                    if (!(state instanceof PyDict || state instanceof PyTuple || state == PyNone.NONE)) {
                        throw fail("BUILD with a " + describe(state) + " state is not allowed");
                    }
                    // the state of a state dict is its attributes (e.g. _metadata): not needed
                }
                case 'Q' -> push(persistentLoad(pop()));                   // BINPERSID
                case '.' -> {                                              // STOP
                    Object result = pop();
                    if (size != 0 || markDepth != 0) {
                        throw fail("STOP with " + size + " values and " + markDepth + " marks left on the stack");
                    }
                    return result;
                }
                default -> throw fail(opcodeName(op) + " is not supported");
            }
        }
    }

    // ---- opcode helpers -------------------------------------------------------------------------

    private Object global(String module, String name) {
        if (module.length() > MAX_GLOBAL_NAME || name.length() > MAX_GLOBAL_NAME) {
            throw fail("global name longer than " + MAX_GLOBAL_NAME + " characters");
        }
        String full = module + "." + name;
        for (Callable c : Callable.values()) {
            if (c.pythonName.equals(full)) return c;
        }
        if (module.equals("torch")) {
            StorageType type = StorageType.byTorchName(name);
            if (type != null) return type;
        }
        throw fail("global '" + printable(full) + "' is not allowed (only collections.OrderedDict, "
                + "torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and torch.*Storage)");
    }

    private Object reduce(Object callable, Object argsObject) {
        if (!(callable instanceof Callable c)) {
            throw fail("REDUCE on " + (callable instanceof StorageType t ? "torch." + t.torchName : "a " + describe(callable))
                    + " is not allowed");
        }
        if (!(argsObject instanceof PyTuple tuple)) {
            throw fail("REDUCE arguments are a " + describe(argsObject) + ", not a tuple");
        }
        List<Object> args = tuple.items;
        return switch (c) {
            case ORDERED_DICT -> {
                if (!args.isEmpty()) throw fail("collections.OrderedDict called with " + args.size() + " arguments");
                yield new PyDict();
            }
            case REBUILD_PARAMETER -> {
                if (args.size() != 3 || !(args.get(0) instanceof TensorRef t)) {
                    throw fail("torch._utils._rebuild_parameter needs (tensor, requires_grad, hooks)");
                }
                yield t;
            }
            case REBUILD_TENSOR_V2 -> rebuildTensor(args);
        };
    }

    /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
    private TensorRef rebuildTensor(List<Object> args) {
        String what = "torch._utils._rebuild_tensor_v2";
        if (args.size() != 6 && args.size() != 7) {
            throw fail(what + " called with " + args.size() + " arguments, not 6 or 7");
        }
        if (!(args.get(0) instanceof StorageRef storage)) {
            throw fail(what + ": the storage is a " + describe(args.get(0)));
        }
        long offset = nonNegative(args.get(1), what + " storage offset");
        long[] shape = longs(args.get(2), what + " size");
        long[] stride = longs(args.get(3), what + " stride");
        if (shape.length != stride.length) {
            throw fail(what + ": size has " + shape.length + " dimensions but stride has " + stride.length);
        }
        if (!(args.get(4) instanceof Boolean)) {
            throw fail(what + ": requires_grad is a " + describe(args.get(4)));
        }
        long numel = 1;
        for (long d : shape) {
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException e) {
                throw fail(what + ": size " + Arrays.toString(shape) + " overflows");
            }
        }
        if (numel > 0) {
            long expected = 1;
            for (int i = shape.length - 1; i >= 0; i--) {
                if (shape[i] != 1 && stride[i] != expected) {
                    throw fail("tensor of size " + Arrays.toString(shape) + " has strides " + Arrays.toString(stride)
                            + ": non-contiguous tensors are not supported");
                }
                expected *= shape[i];
            }
            if (offset > storage.numel() || numel > storage.numel() - offset) {
                throw fail("tensor of size " + Arrays.toString(shape) + " at offset " + offset
                        + " lies outside its storage '" + printable(storage.key()) + "' of " + storage.numel() + " elements");
            }
        }
        return new TensorRef(storage, offset, shape);
    }

    /** ('storage', storage_type, key, location, numel) as torch.save writes it. */
    private StorageRef persistentLoad(Object pid) {
        if (!(pid instanceof PyTuple tuple) || tuple.items.size() != 5 || !"storage".equals(tuple.items.get(0))) {
            throw fail("persistent id " + describe(pid) + " is not ('storage', type, key, location, numel)");
        }
        List<Object> t = tuple.items;
        if (!(t.get(1) instanceof StorageType type)) {
            throw fail("persistent id storage type is a " + describe(t.get(1)));
        }
        if (!(t.get(2) instanceof String key) || !(t.get(3) instanceof String location)) {
            throw fail("persistent id key and location must be strings");
        }
        long numel = nonNegative(t.get(4), "storage numel");
        try {
            Math.multiplyExact(numel, type.elementSize);
        } catch (ArithmeticException e) {
            throw fail("storage '" + printable(key) + "' numel " + numel + " overflows");
        }
        return resolver.resolve(key, type, location, numel);
    }

    private void setItem(PyDict dict, Object key, Object value) {
        if (!(key instanceof String || key instanceof Long || key instanceof Boolean || key instanceof Double
                || key == PyNone.NONE)) {
            throw fail("dict key of type " + describe(key) + " is not supported");
        }
        if (dict.items.putIfAbsent(key, value) != null) {
            throw fail("duplicate dict key " + (key instanceof String s ? "'" + printable(s) + "'" : key.toString()));
        }
    }

    private PyDict peekDict(String op) {
        Object top = peek();
        if (!(top instanceof PyDict d)) throw fail(op + " on a " + describe(top));
        return d;
    }

    private PyList peekList(String op) {
        Object top = peek();
        if (!(top instanceof PyList l)) throw fail(op + " on a " + describe(top));
        return l;
    }

    private PyTuple tuple(int n) {
        if (size - markFloor() < n) throw fail("stack underflow");
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return new PyTuple(Arrays.asList(items));
    }

    private long long1() {
        int n = u8();
        if (n > 8) throw fail("LONG1 integer of " + n + " bytes is too large");
        byte[] b = bytes(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = v << 8 | (b[i] & 0xFF);
        if (n > 0 && n < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n);   // two's complement sign
        return v;
    }

    private long nonNegative(Object v, String what) {
        if (!(v instanceof Long l) || l < 0) throw fail(what + " is " + describe(v) + ", not a non-negative integer");
        return l;
    }

    private long[] longs(Object v, String what) {
        if (!(v instanceof PyTuple t)) throw fail(what + " is a " + describe(v) + ", not a tuple");
        if (t.items.size() > MAX_RANK) throw fail(what + " has " + t.items.size() + " dimensions");
        long[] out = new long[t.items.size()];
        for (int i = 0; i < out.length; i++) out[i] = nonNegative(t.items.get(i), what);
        return out;
    }

    // ---- stack, memo and marks -------------------------------------------------------------------

    private void push(Object v) {
        if (size == MAX_STACK) throw fail("more than " + MAX_STACK + " values on the stack");
        if (size == values.length) values = Arrays.copyOf(values, Math.min(MAX_STACK, values.length * 2));
        values[size++] = v;
    }

    private int markFloor() {
        return markDepth == 0 ? 0 : marks[markDepth - 1];
    }

    private Object pop() {
        if (size <= markFloor()) throw fail("stack underflow");
        Object v = values[--size];
        values[size] = null;
        return v;
    }

    private Object peek() {
        if (size <= markFloor()) throw fail("stack underflow");
        return values[size - 1];
    }

    private List<Object> popMark() {
        if (markDepth == 0) throw fail("no MARK on the stack");
        int from = marks[--markDepth];
        List<Object> items = new ArrayList<>(Arrays.asList(values).subList(from, size));
        Arrays.fill(values, from, size, null);
        size = from;
        return items;
    }

    private void memoPut(long index) {
        Object top = peek();
        if (!memo.containsKey(index) && memo.size() >= MAX_MEMO) throw fail("more than " + MAX_MEMO + " memo entries");
        memo.put(index, top);
    }

    private Object memoGet(long index) {
        Object v = memo.get(index);
        if (v == null) throw fail("memo entry " + index + " was never stored");
        return v;
    }

    // ---- bytes ----------------------------------------------------------------------------------

    private int remaining() {
        return data.length - pos;
    }

    private int u8() {
        if (pos >= data.length) throw fail("the pickle ends without STOP");
        return data[pos++] & 0xFF;
    }

    private int i32() {
        byte[] b = bytes(4);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private long u32() {
        return i32() & 0xFFFFFFFFL;
    }

    private long i64() {
        return ByteBuffer.wrap(bytes(8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private byte[] bytes(long n) {
        if (n > remaining()) throw fail("a length of " + n + " exceeds the " + remaining() + " bytes left");
        byte[] b = Arrays.copyOfRange(data, pos, pos + (int) n);
        pos += (int) n;
        return b;
    }

    private String string(long n) {
        byte[] b = bytes(n);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw fail("string is not valid UTF-8");
        }
    }

    /** A newline-terminated ASCII line (GLOBAL's module and name). */
    private String line() {
        int start = pos;
        while (pos < data.length && data[pos] != '\n') {
            if (pos - start > MAX_GLOBAL_NAME) throw fail("GLOBAL name longer than " + MAX_GLOBAL_NAME + " bytes");
            pos++;
        }
        if (pos >= data.length) throw fail("GLOBAL name is not terminated");
        String s = new String(data, start, pos - start, StandardCharsets.ISO_8859_1);
        pos++;
        return s;
    }

    private CheckpointException fail(String message) {
        return new CheckpointException(file + ": data.pkl at byte " + opcodeAt + ": " + message);
    }

    private static String describe(Object v) {
        if (v == null) return "nothing";
        if (v instanceof String) return "string";
        if (v instanceof Long) return "integer " + v;
        if (v instanceof Double) return "float";
        if (v instanceof Boolean) return "bool";
        if (v == PyNone.NONE) return "None";
        if (v instanceof PyTuple t) return "tuple of " + t.items.size();
        if (v instanceof PyList) return "list";
        if (v instanceof PyDict) return "dict";
        if (v instanceof Callable c) return c.pythonName;
        if (v instanceof StorageType t) return "torch." + t.torchName;
        if (v instanceof StorageRef) return "storage";
        if (v instanceof TensorRef) return "tensor";
        return v.getClass().getSimpleName();
    }

    /** Control characters and non-ASCII escaped, length capped: safe for a one-line message. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 120; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7F) b.append(c);
            else b.append(String.format("\\u%04x", (int) c));
        }
        return s.length() > 120 ? b + "..." : b.toString();
    }

    private static final Map<Integer, String> OPCODE_NAMES = opcodeNames();

    static String opcodeName(int op) {
        String name = OPCODE_NAMES.get(op);
        String hex = String.format("0x%02x", op);
        return name == null ? "unknown opcode " + hex : "opcode " + name + " (" + hex + ")";
    }

    private static Map<Integer, String> opcodeNames() {
        Object[][] table = {
            {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"},
            {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"}, {'P', "PERSID"},
            {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"},
            {'V', "UNICODE"}, {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
            {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"}, {'j', "LONG_BINGET"},
            {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"}, {'q', "BINPUT"}, {'r', "LONG_BINPUT"},
            {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"}, {'u', "SETITEMS"}, {'G', "BINFLOAT"},
            {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"},
            {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"},
            {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"},
            {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
            {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"},
            {0x98, "READONLY_BUFFER"},
        };
        Map<Integer, String> names = new HashMap<>();
        for (Object[] row : table) {
            int code = row[0] instanceof Character ch ? ch : (Integer) row[0];
            names.put(code, (String) row[1]);
        }
        return names;
    }
}
