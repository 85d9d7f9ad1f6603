/**
 * Data-, tensor- and pipeline-parallel training on NCCL and MPI. Nothing is here yet.
 */
module org.gptneo.parallel {
    requires org.gptneo.layers;
}
