package org.gptneo.backend.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The kit itself: it calls every kernel of the Backend interface, and it names the cases that a
 * backend with a wrong kernel fails. Backends here are proxies over the CPU backend.
 */
class BackendConformanceTest {

    @Test
    void everyBackendMethodIsExercised() {
        Set<String> called = new ConcurrentSkipListSet<>();
        try (CpuBackend cpu = new CpuBackend()) {
            Backend recording = proxy(cpu, (method, args) -> called.add(method.getName()));
            BackendConformance.run(recording, BackendConformance.cases()).assertAllPassed();
        }
        Set<String> methods = Arrays.stream(Backend.class.getMethods())
                .filter(m -> !java.lang.reflect.Modifier.isStatic(m.getModifiers())) // Backend.auto() makes one
                .map(Method::getName)
                .filter(name -> !name.equals("close")) // the kit leaves the candidate open
                .collect(Collectors.toCollection(TreeSet::new));
        methods.removeAll(called);
        assertThat(methods).as("Backend methods that no conformance case calls").isEmpty();
    }

    @Test
    void aWrongKernelFailsItsCasesByName() {
        List<ConformanceCase> gelu = BackendConformance.kernelCases().stream().filter(c -> c.name().startsWith("geluNew n=")).toList();
        try (CpuBackend cpu = new CpuBackend()) {
            Backend skewed = proxy(cpu, (method, args) -> { // gelu 0.1 % too large
                if (method.getName().equals("geluNew")) cpu.scale((Tensor) args[1], 1.001f);
            });
            ConformanceReport report = BackendConformance.run(skewed, gelu);
            assertThat(report.failures()).extracting(ConformanceReport.Failure::caseName)
                    .containsExactlyElementsOf(gelu.stream().map(ConformanceCase::name)
                            .filter(name -> !name.equals("geluNew n=0")).toList()); // no element, no error
            assertThatThrownBy(report::assertAllPassed).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("fails 9 of 10 conformance cases").hasMessageContaining("geluNew n=17: ");
        }
    }

    @Test
    void aWrongBackwardKernelFailsItsGradientCase() {
        List<ConformanceCase> cases = BackendConformance.gradientCases().stream()
                .filter(c -> c.name().startsWith("addBiasBackward")).toList();
        try (CpuBackend cpu = new CpuBackend()) {
            Backend overwriting = proxy(cpu, (method, args) -> { // sets instead of adding: loses the prefill
                if (method.getName().equals("addBiasBackward")) cpu.fill((Tensor) args[1], 0f);
            });
            assertThat(BackendConformance.run(overwriting, cases).failures()).hasSize(1);
        }
    }

    /** A backend that runs {@code cpu} and then {@code after} on every call. */
    private static Backend proxy(CpuBackend cpu, BiConsumer<Method, Object[]> after) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (self, method, args) -> {
                    try {
                        Object result = method.invoke(cpu, args);
                        after.accept(method, args);
                        return result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
