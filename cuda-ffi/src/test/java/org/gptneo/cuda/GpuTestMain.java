package org.gptneo.cuda;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.io.PrintWriter;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs every test tagged {@code gpu} on the class path (the bundle of tools/gpu-check.sh, on a
 * machine with a GPU and no Maven) and prints each skip and failure with its reason, then JUnit's
 * summary; exit code 1 when any failed, 2 when none was found.
 *
 * <pre>java -cp 'lib/*' org.gptneo.cuda.GpuTestMain [PACKAGE]   (default org.gptneo)</pre>
 */
public final class GpuTestMain {
    private GpuTestMain() {}

    public static void main(String[] args) {
        String root = args.length > 0 ? args[0] : "org.gptneo";
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage(root))
                .filters(TagFilter.includeTags("gpu"))
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener, new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier test, String reason) {
                System.out.println("skipped " + test.getDisplayName() + ": " + reason);
            }

            @Override
            public void executionFinished(TestIdentifier test, TestExecutionResult result) {
                if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    System.out.println(result.getStatus().name().toLowerCase(java.util.Locale.ROOT) + " " + test.getDisplayName()
                            + result.getThrowable().map(t -> ": " + t.getMessage()).orElse(""));
                }
            }
        });
        TestExecutionSummary summary = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        summary.printTo(out);
        summary.printFailuresTo(out, 12);
        out.printf("gpu tests: %d found, %d succeeded, %d failed, %d skipped%n", summary.getTestsFoundCount(),
                summary.getTestsSucceededCount(), summary.getTotalFailureCount(), summary.getTestsSkippedCount());
        System.exit(summary.getTotalFailureCount() > 0 ? 1 : summary.getTestsFoundCount() == 0 ? 2 : 0);
    }
}
