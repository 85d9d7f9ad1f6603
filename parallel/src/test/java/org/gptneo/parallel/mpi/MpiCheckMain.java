package org.gptneo.parallel.mpi;

import java.lang.foreign.Arena;
import org.gptneo.parallel.CommunicatorChecks;
import org.gptneo.parallel.CommunicatorException;
import org.gptneo.parallel.LaunchEnvironment;
import org.gptneo.parallel.ReduceOp;
import org.gptneo.parallel.TensorPipelineCheck;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One rank of the jobs {@link MpiJobTest} starts with {@code mpirun}. {@code checks}: runs
 * {@link CommunicatorChecks} on the world, then again with chunks of 7 elements (so every chunked path
 * runs), then averages gradients during a backward pass on a communication thread, and prints "rank r of n: OK (...)" or "rank r of n: FAILED ...". {@code lose-rank-1 halt|throw}:
 * all ranks all-reduce in a loop; after a few rounds rank 1 halts (no MPI_Finalize, no shutdown hooks)
 * or its main thread throws, and the others go on until they are stopped: they must end, naming rank 1.
 * {@code tensor-pipeline}: four ranks train tp = 2 × pp = 2 ({@link TensorPipelineCheck}) and print
 * "rank r of 4: OK tp2 x pp2 as one device (...)" or "rank r of 4: FAILED ...".
 */
public final class MpiCheckMain {
    private MpiCheckMain() {}

    public static void main(String[] args) {
        MpiCommunicator world = MpiCommunicator.world();
        String who = "rank " + world.rank() + " of " + world.size();
        LaunchEnvironment launch = LaunchEnvironment.current();
        if (launch.rank() != world.rank() || launch.worldSize() != world.size()) {
            System.out.println(who + ": FAILED the launch environment says rank " + launch.rank() + " of "
                    + launch.worldSize() + " (" + launch.launcher() + ")");
            Runtime.getRuntime().halt(2);
        }
        switch (args[0]) {
            case "checks" -> {
                try {
                    CommunicatorChecks.runAll(world);
                    CommunicatorChecks.runAll(world.withChunk(7));
                    CommunicatorChecks.averagingDuringBackward(world);
                    System.out.println(who + ": OK (" + world.name() + "); " + errorsReturn() + "; MPI calls "
                            + (MpiWorld.get().thread.anyThread() ? "on their callers' threads" : "on the MPI thread")
                            + "; launched by " + launch.launcher());
                } catch (AssertionError | RuntimeException e) {
                    System.out.println(who + ": FAILED " + e);
                    System.out.flush();
                    Runtime.getRuntime().halt(2);
                }
            }
            case "tensor-pipeline" -> {
                try {
                    System.out.println(who + ": OK " + TensorPipelineCheck.run(world));
                } catch (AssertionError | RuntimeException e) {
                    System.out.println(who + ": FAILED " + e);
                    System.out.flush();
                    Runtime.getRuntime().halt(2);
                }
            }
            case "lose-rank-1" -> {
                Tensor t = Tensor.allocate(DType.F32, 1);
                long deadline = System.nanoTime() + 120_000_000_000L;
                for (int round = 0; System.nanoTime() < deadline; round++) {
                    if (world.rank() == 1 && round == 20) {
                        if (args[1].equals("halt")) {
                            Runtime.getRuntime().halt(0);
                        }
                        throw new IllegalStateException("rank 1 fails on purpose");
                    }
                    world.allReduce(t, ReduceOp.SUM);
                }
                System.out.println(who + ": still running after 120 s");
            }
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    /** An MPI_Send to a rank that does not exist comes back as an error (MPI_ERRORS_RETURN), in MPI's words. */
    private static String errorsReturn() {
        Mpi mpi = MpiWorld.get().mpi;
        try (Arena arena = Arena.ofConfined()) {
            int rc = mpi.send(arena.allocate(4), 1, mpi.constants().typeByte(), 1_000_000, 0, mpi.constants().commWorld());
            mpi.check(rc, "MPI_Send to rank 1000000");
            throw new AssertionError("MPI_Send to rank 1000000 returned success");
        } catch (CommunicatorException e) {
            return "errors return: " + e.getMessage();
        }
    }
}
