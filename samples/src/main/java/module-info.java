/**
 * The {@code gptneo} command line: generate, tokenize, detokenize, convert, init, info, logits, bench, demo, train and perplexity.
 * Start at {@link org.gptneo.cli.Main}.
 */
module org.gptneo.samples {
    requires org.gptneo.api;
    requires org.gptneo.parallel;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires me.tongfei.progressbar;
    requires org.knowm.xchart;
    requires java.desktop;
    requires jdk.management;

    opens org.gptneo.cli to info.picocli;
}
