/**
 * Data-, tensor- and pipeline-parallel training: the {@link org.gptneo.parallel.Communicator} SPI
 * and its implementations (in-process, MPI and NCCL through the Foreign Function and Memory API),
 * and the parallel wrappers the Trainer uses.
 */
module org.gptneo.parallel {
    requires org.gptneo.layers;
    requires org.gptneo.cuda;

    exports org.gptneo.parallel;
    exports org.gptneo.parallel.mpi;
    exports org.gptneo.parallel.nccl;
}
