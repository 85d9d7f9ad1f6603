package org.gptneo.parallel.nccl;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A test that needs NCCL and a usable GPU: tagged {@code gpu} like cuda-ffi's {@code @RequiresGpu}
 * tests, and reported as skipped with {@link NcclProbe}'s reason elsewhere.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
@ExtendWith(RequiresNcclGpu.Condition.class)
@interface RequiresNcclGpu {
    /** Enabled only where {@link NcclProbe} finds NCCL and a usable device. */
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            NcclProbe probe = NcclProbe.probe();
            return probe.available() ? ConditionEvaluationResult.enabled(probe.description())
                    : ConditionEvaluationResult.disabled("needs NCCL and a GPU: " + probe.description());
        }
    }
}
