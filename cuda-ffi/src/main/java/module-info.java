/**
 * The CUDA backend (cuBLAS/cuDNN through the Foreign Function and Memory API). Nothing is here yet:
 * it will register a {@code org.gptneo.backend.BackendProvider} named "cuda".
 */
module org.gptneo.cuda {
    requires org.gptneo.layers;
}
