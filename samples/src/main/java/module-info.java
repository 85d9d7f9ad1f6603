/** The {@code gptneo} command line: demo, info and logits. Start at {@link org.gptneo.cli.Main}. */
module org.gptneo.samples {
    requires org.gptneo.api;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires me.tongfei.progressbar;

    opens org.gptneo.cli to info.picocli;
}
