package org.gptneo.cuda.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.gptneo.cuda.ffi.CudaProbe;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A test (class or method) that needs a usable GPU: tagged {@code gpu}, and reported as skipped with
 * the probe's reason (say, "cudaGetDeviceCount: CUDA driver version is insufficient ...") elsewhere.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
@ExtendWith(RequiresGpu.Condition.class)
public @interface RequiresGpu {
    /** Enabled only where {@link CudaProbe} finds a usable device. */
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            CudaProbe.Result probe = CudaProbe.probe();
            return probe.usable() ? ConditionEvaluationResult.enabled("a usable GPU: " + probe.deviceCount() + " device(s)")
                    : ConditionEvaluationResult.disabled("needs a GPU: " + probe.reason());
        }
    }
}
