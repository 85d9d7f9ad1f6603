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
    final ReentrantLock lock = new ReentrantLock();
    final Condition changed = lock.newCondition();
    final Duration timeout;
    private String failure;  // the first failure's one-line message, null while healthy

    InProcessWorld(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("a communicator timeout must be positive, got " + timeout);
        }
        this.timeout = timeout;
    }

    /** Records that world rank {@code rank} failed (the first failure wins) and wakes every waiter. Holds the lock. */
    void fail(int rank, Throwable cause) {
        fail("rank " + rank + " failed: " + describe(cause));
    }

    /** Records {@code message} as the world's failure unless one is recorded already, and wakes every waiter. Holds the lock. */
    void fail(String message) {
        if (failure == null) {
            failure = message;
        }
        changed.signalAll();
    }

    /** Throws the recorded failure, if any. Holds the lock. */
    void checkHealthy() {
        if (failure != null) {
            throw new CommunicatorException(failure);
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
