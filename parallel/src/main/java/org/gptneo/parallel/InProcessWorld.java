package org.gptneo.parallel;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What every in-process group made from one {@link InProcessCommunicator#group} call shares: one lock
 * and condition (so a failure wakes the waiters of every subgroup), the timeout, and the first failure.
 * A failed world stays failed: every later call of every group in it throws.
 */
final class InProcessWorld {
    /** A failure on one line, and the world rank that aborted (-1 for a timeout or a closed communicator). */
    record Failure(String message, int rank) {}

    final ReentrantLock lock = new ReentrantLock();
    final Condition changed = lock.newCondition();
    final Duration timeout;
    private Failure failure;  // the first failure, null while healthy

    InProcessWorld(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("a communicator timeout must be positive, got " + timeout);
        }
        this.timeout = timeout;
    }

    /** Records that world rank {@code rank} failed (the first failure wins) and wakes every waiter. Holds the lock. */
    void fail(int rank, Throwable cause) {
        fail(new Failure("rank " + rank + " failed: " + describe(cause), rank));
    }

    /** Records {@code message} as the world's failure unless one is recorded already, and wakes every waiter. Holds the lock. */
    void fail(String message) {
        fail(new Failure(message, -1));
    }

    private void fail(Failure f) {
        if (failure == null) {
            failure = f;
        }
        changed.signalAll();
    }

    /** The first failure, or null. Holds the lock. */
    Failure failure() {
        return failure;
    }

    /** Throws the recorded failure, if any. Holds the lock. */
    void checkHealthy() {
        if (failure != null) {
            throw new CommunicatorException(failure.message());
        }
    }

    /** A cause on one line: a communicator failure's own message, otherwise its class and message. */
    static String describe(Throwable cause) {
        if (cause instanceof CommunicatorException) {
            return cause.getMessage();
        }
        String message = cause.getMessage();
        String text = cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
        return text.replace('\n', ' ');
    }
}
