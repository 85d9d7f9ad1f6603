package org.gptneo.nn;

import java.util.List;

/** A part of a model that owns parameters: a layer, a block, the model itself. */
public interface Module {

    /** Its parameters and those of its parts, in checkpoint order. */
    List<Parameter> parameters();
}
