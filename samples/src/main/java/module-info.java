/**
 * The {@code gptneo} command line: generate, tokenize, detokenize, convert, init, info, logits, bench and demo.
 * Start at {@link org.gptneo.cli.Main}.
 */
module org.gptneo.samples {
    requires org.gptneo.api;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires me.tongfei.progressbar;

    opens org.gptneo.cli to info.picocli;
}
