package org.gptneo.train;

import java.nio.file.Path;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;

/**
 * What a run trains and how a checkpoint stores it: the whole model's trainable parameters (saved
 * as a Hugging Face folder), or a LoRA adapter's (saved as a PEFT folder). The names of
 * {@link #parameters()} are the tensor names in {@link #weightsFile()}.
 */
interface TrainedWeights {

    /** The parameters the optimizer updates, by the names they are saved under. */
    Map<String, Var> parameters();

    /** Writes the weights into a folder (a checkpoint's, or the run's output). */
    void save(Path dir);

    /** The safetensors file inside a saved folder that holds {@link #parameters()} by name. */
    String weightsFile();

    /** Every trainable parameter of the model itself. */
    static TrainedWeights wholeModel(GptNeoModel model) {
        Map<String, Var> trainable = model.registry().trainable().asVars();
        return new TrainedWeights() {
            @Override public Map<String, Var> parameters() { return trainable; }
            @Override public void save(Path dir) { HfCheckpoint.save(model, dir); }
            @Override public String weightsFile() { return HfCheckpoint.WEIGHTS; }
        };
    }

    /** A LoRA adapter's parameters, by their PEFT names. */
    static TrainedWeights adapter(LoraAdapter adapter) {
        Map<String, Var> trainable = adapter.parameters();
        return new TrainedWeights() {
            @Override public Map<String, Var> parameters() { return trainable; }
            @Override public void save(Path dir) { AdapterCheckpoint.save(adapter, dir); }
            @Override public String weightsFile() { return AdapterCheckpoint.WEIGHTS; }
        };
    }
}
