package org.gptneo.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A deterministic test corpus: lines made by a seeded {@link Random} from fragments of English prose
 * (with contractions in all cases and curly apostrophes), many scripts, code with indentation, tabs and
 * CRLF, whitespace runs, emoji sequences, combining marks, numbers, URLs, math, control characters,
 * U+0085 and U+001C..U+001F, plus random code points from the whole Unicode range. No lone surrogates
 * (those are tested on their own).
 */
final class TestCorpus {
    static final String[] PROSE = {
        "The quick brown fox jumps over the lazy dog.",
        "It was the best of times, it was the worst of times, it was the age of wisdom.",
        "I'm sure you're right, but they've said we'll see what he'd do if it's true.",
        "Don't stop; won't stop; can't stop. She'd've liked that, y'all.",
        "IT'S LOUD: WE'LL SHOUT, THEY'VE GONE, I'M HERE, HE'D KNOW, YOU'RE OUT, DON'T!",
        "He’s here, it’s fine, they’re ‘quoted’ and “double quoted” — with an em dash…",
        "Rock 'n' roll, 'tis the season, the '90s, ''double'' and 'single' quotes.",
        "GPT-Neo is a transformer model designed using EleutherAI's replication of the GPT-3 architecture.",
        "In 1969, Apollo 11 landed on the Moon; Neil Armstrong said: \"That's one small step for [a] man.\"",
        "Hello world", " Hello world", "The dog", "hello   world", "  leading spaces", "trailing spaces   ",
        "Mr. O'Neil's dog's bone's gone. Mrs. D'Angelo's café isn't open 'til noon.",
        "e.g., i.e., etc.; (parentheses) [brackets] {braces} <angles> @mentions #hashtags",
        "She sells sea-shells by the sea-shore; the shells she sells are surely sea-shells.",
        "<|endoftext|>", "text<|endoftext|>more", " <|endoftext|> ", "<|endoftext", "|endoftext|>",
    };
    static final String[] WORLD = {
        "L'été dernier, nous sommes allés à la plage. Ça m'a plu ! Qu'est-ce que c'est ?",
        "Größenwahn über Äpfel und Öl; die Straße heißt „Hauptstraße“.",
        "¿Dónde está el niño? ¡Olé! Mañana será otro día, señor Muñoz.",
        "Привет, как дела? Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "Καλημέρα κόσμε· ξεσκεπάζω την ψυχοφθόρα βδελυγμία; Ωραία!",
        "مرحبا بالعالم، كيف حالك؟ الأرقام: ١٢٣٤٥٦٧٨٩٠",
        "שָׁלוֹם עוֹלָם! מה שלומך? אני בסדר.",
        "नमस्ते दुनिया, आप कैसे हैं? संख्याएँ: १२३४५",
        "你好，世界！今天天气很好。我们去公园散步吧，好吗？",
        "こんにちは世界。カタカナとひらがな、漢字を混ぜる。ｶﾀｶﾅ半角も。",
        "안녕하세요 세계! 한국어 텍스트입니다. 감사합니다.",
        "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ",
        "Tiếng Việt có dấu: người, được, những, Hà Nội.",
        "Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν.",
        "Ελληνικά και English mixed με αριθμούς 123 και σύμβολα €.",
        "ქართული ენა, Հայերեն լեզու, ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ, ᐃᓄᒃᑎᑐᑦ",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝟘𝟙𝟚𝟛 𐍈𐌰𐌹 𓀀𓁐 𒀀𒁀",
    };
    static final String[] CODE = {
        "public static void main(String[] args) {\n    System.out.println(\"Hello, world!\");\n}\n",
        "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
        "#include <stdio.h>\r\nint main(void) {\r\n\tprintf(\"%d\\n\", 42);\r\n\treturn 0;\r\n}\r\n",
        "const f = async (x) => { await g(x?.y ?? 0); return `${x}`; };",
        "fn main() -> Result<(), Box<dyn Error>> {\n\tlet v: Vec<u8> = vec![1, 2, 3];\n\tOk(())\n}",
        "for i in $(seq 1 10); do echo \"$i\" >> /tmp/out.txt; done  # comment",
        "{\"name\": \"gpt-neo\", \"layers\": 12, \"heads\": [1, 2, 3], \"ok\": true, \"x\": null}",
        "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%o''brien%';",
        "\t\tif (x != y && a[i] <= b[j]) { x += y << 2; } else { y -= x >> 1; }",
        "<div class=\"main\"><p>Text &amp; more &lt;tags&gt;</p></div>",
        "x = [i**2 for i in range(10) if i % 2 == 0]  \n\n\n    y = {k: v for k, v in d.items()}",
        "    \n        \n\t\n  return;\n",
        "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\nimport os, sys\n",
        "diff --git a/x b/x\n@@ -1,3 +1,4 @@\n-old line\n+new line\n context\n",
    };
    static final String[] SYMBOLS = {
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵🇺🇸", "❤️", "🧑🏿‍💻", "1️⃣", "✈︎", "🤦🏼‍♂️", "👩🏻‍❤️‍💋‍👨🏾", "🐕‍🦺",
        "e\u0301", "n\u0303", "a\u0308\u0304", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇", "q\u0307\u0323", "\u0301alone", " \u0301",
        "1,234,567.89", "3.14159", "1e-10", "0xFF", "100%", "$5.00", "€12,50", "x²³", "½¼¾", "ⅫⅣ", "٣٤٥", "१२३",
        "10:30", "2024-01-15T12:34:56Z", "+1 (555) 123-4567", "12345678901234567890", "0.000001", "١٢٣",
        "https://example.com/path/to/page?query=1&x=y#frag", "mailto:someone@example.org",
        "C:\\Windows\\System32\\drivers", "ftp://user:pass@host:21/dir/", "www.example.co.uk/~user",
        "∀x∈ℝ: x² ≥ 0", "∑_{i=1}^n i = n(n+1)/2", "α+β=γ", "√2 ≈ 1.414", "∞ ≠ ≤ ≥ ± × ÷", "∫₀¹ f(x) dx",
        "\u0000", "\u0001\u0002", "\u0007", "\u001b[31mred\u001b[0m", "\u007f", "\u0085", "x\u0085y", "\u0085 x",
        "\u001c", "\u001d", "\u001e", "\u001f", "a\u001cb", " \u001c", "\u001c ", "\u001f\u001f  x", " \u001d\u001d",
        "x \u0085\u0085 y", "\u200b", "\ufeff", "\u200d", "\u00ad", "\u2060", "\ue000\uf8ff", "\ufffd", "\uffff",
        "\u00a0", "\u3000", "\u2028", "\u2029", "\u000b\u000c", "\u1680", "\u2003\u2009", "\u202f", "\u205f",
        "\u180e", "a\u00a0b", " \u00a0 ", "\u3000\u3000x",
    };
    static final String[] SPACES = {
        " ", " ", " ", "", "", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r\n\r\n", " \n", "\n ", "\t\t", " \t ",
        "\u00a0", "        ", "\n\n\n\n", ", ", ". ", "'", "’", "\u0085", "\u001e",
    };

    private TestCorpus() {}

    /** The corpus lines (at least 10,000). */
    static List<String> lines() {
        Random random = new Random(20240611L);
        List<String> out = new ArrayList<>();
        for (String[] group : new String[][] {PROSE, WORLD, CODE, SYMBOLS, SPACES}) {
            out.addAll(List.of(group));
        }
        while (out.size() < 10_500) {
            StringBuilder line = new StringBuilder();
            int fragments = 1 + random.nextInt(6);
            for (int f = 0; f < fragments; f++) {
                if (f > 0 || random.nextInt(4) == 0) {
                    line.append(pick(random, SPACES));
                }
                line.append(fragment(random));
            }
            if (random.nextInt(5) == 0) {
                line.append(pick(random, SPACES)).append(pick(random, new String[] {" ", "   ", "\t", "\n", " \n "}));
            }
            out.add(line.toString());
        }
        return out;
    }

    /** Only the English prose and code lines, for the throughput figure on "ordinary text". */
    static List<String> englishAndCode() {
        Random random = new Random(7L);
        List<String> out = new ArrayList<>();
        while (out.size() < 10_000) {
            StringBuilder line = new StringBuilder();
            int fragments = 1 + random.nextInt(6);
            for (int f = 0; f < fragments; f++) {
                line.append(f > 0 ? " " : "");
                line.append(random.nextInt(3) == 0 ? pick(random, CODE) : mutate(random, pick(random, PROSE)));
            }
            out.add(line.toString());
        }
        return out;
    }

    private static String pick(Random random, String[] a) {
        return a[random.nextInt(a.length)];
    }

    private static String fragment(Random random) {
        int kind = random.nextInt(20);
        if (kind < 6) {
            return mutate(random, pick(random, PROSE));
        } else if (kind < 9) {
            return pick(random, WORLD);
        } else if (kind < 12) {
            return pick(random, CODE);
        } else if (kind < 15) {
            return pick(random, SYMBOLS);
        } else if (kind < 17) {
            return randomAscii(random);
        } else {
            return randomCodePoints(random);
        }
    }

    /** Changes case, cuts or repeats a fragment now and then. */
    private static String mutate(Random random, String s) {
        switch (random.nextInt(8)) {
            case 0 -> {
                return s.toUpperCase(java.util.Locale.ROOT);
            }
            case 1 -> {
                return s.toLowerCase(java.util.Locale.ROOT);
            }
            case 2 -> {
                int a = random.nextInt(s.length() + 1);
                int b = a + random.nextInt(s.length() - a + 1);
                return safeSubstring(s, a, b);
            }
            case 3 -> {
                return s + s;
            }
            default -> {
                return s;
            }
        }
    }

    /** A substring that does not split a surrogate pair. */
    private static String safeSubstring(String s, int a, int b) {
        if (a > 0 && a < s.length() && Character.isLowSurrogate(s.charAt(a))) {
            a--;
        }
        if (b > 0 && b < s.length() && Character.isLowSurrogate(s.charAt(b))) {
            b++;
        }
        return s.substring(a, Math.max(a, b));
    }

    private static String randomAscii(Random random) {
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                + "''''    \t\n\r!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~sStTdDmMlLrRvVeE";
        StringBuilder b = new StringBuilder();
        int n = 1 + random.nextInt(40);
        for (int i = 0; i < n; i++) {
            b.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    /** Random code points: mostly from busy ranges, some from anywhere (never a surrogate). */
    private static String randomCodePoints(Random random) {
        int[][] ranges = {
            {0x0000, 0x00FF}, {0x0100, 0x07FF}, {0x0900, 0x0DFF}, {0x1000, 0x1FFF}, {0x2000, 0x2BFF},
            {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0xE000, 0xFFFF}, {0x10000, 0x1FFFF},
            {0x1F300, 0x1FAFF}, {0x0000, 0x10FFFF},
        };
        int[] range = ranges[random.nextInt(ranges.length)];
        StringBuilder b = new StringBuilder();
        int n = 1 + random.nextInt(12);
        for (int i = 0; i < n; i++) {
            int cp;
            do {
                cp = range[0] + random.nextInt(range[1] - range[0] + 1);
            } while (cp >= 0xD800 && cp <= 0xDFFF);
            b.appendCodePoint(cp);
        }
        return b.toString();
    }
}
