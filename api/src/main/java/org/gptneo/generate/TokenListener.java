package org.gptneo.generate;

/** Receives each new token as it is generated, with the text it completes (possibly empty mid-character). */
@FunctionalInterface
public interface TokenListener {
    void onToken(int id, String text);

    TokenListener NONE = (id, text) -> {};
}
