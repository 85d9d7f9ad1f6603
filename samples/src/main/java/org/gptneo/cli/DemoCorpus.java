package org.gptneo.cli;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The demo's training text: short stories about a harbour town, generated from a few sentence
 * patterns and word lists written for this project, seeded so that every run trains on the same
 * text. Regular enough for a small model to pick up its words and sentence shapes in a minute,
 * varied enough that it has something to learn.
 */
final class DemoCorpus {
    private static final List<String> PEOPLE = List.of(
            "keeper", "baker", "old fisherman", "teacher", "captain", "girl with the red scarf", "two brothers", "doctor");
    private static final List<String> PLACES = List.of(
            "harbour", "lighthouse", "market", "school", "stone pier", "bakery", "hill above the town", "boat shed");
    private static final List<String> TIMES = List.of(
            "In the morning", "At noon", "Every evening", "When the fog came in", "After the storm", "On Sunday");
    private static final List<String> ACTIONS = List.of(
            "mended the nets", "lit the lamp", "counted the boats", "painted the door", "baked the bread",
            "read a letter", "swept the floor", "watched the sea");
    private static final List<String> THINGS = List.of(
            "boats", "gulls", "lamps", "windows", "loaves", "letters", "waves", "stars");
    private static final List<String> FEELINGS = List.of(
            "quiet", "cold", "bright", "busy", "calm", "grey");

    private DemoCorpus() {}

    /** {@code stories} stories of four to seven sentences, separated by blank lines. */
    static String generate(long seed, int stories) {
        SplittableRandom random = new SplittableRandom(seed);
        StringBuilder text = new StringBuilder();
        for (int s = 0; s < stories; s++) {
            int sentences = 4 + random.nextInt(4);
            for (int i = 0; i < sentences; i++) {
                if (i > 0) text.append(' ');
                text.append(sentence(random));
            }
            text.append("\n\n");
        }
        return text.toString();
    }

    private static String sentence(SplittableRandom r) {
        String person = pick(r, PEOPLE), place = pick(r, PLACES);
        return switch (r.nextInt(5)) {
            case 0 -> pick(r, TIMES) + ", the " + person + " went to the " + place + " and " + pick(r, ACTIONS) + ".";
            case 1 -> "The " + person + " " + pick(r, ACTIONS) + " at the " + place + ".";
            case 2 -> "The " + place + " was " + pick(r, FEELINGS) + ", so the " + person + " " + pick(r, ACTIONS) + ".";
            case 3 -> pick(r, TIMES) + " the " + person + " counted the " + pick(r, THINGS) + " from the " + place + ".";
            default -> "\"Look at the " + pick(r, THINGS) + ",\" said the " + person + ".";
        };
    }

    private static String pick(SplittableRandom r, List<String> words) {
        return words.get(r.nextInt(words.size()));
    }
}
