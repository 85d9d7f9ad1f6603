package org.gptneo.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Draws a run's metrics.jsonl as a PNG: the training loss per step and the evaluation loss, on one chart (XChart). */
final class LossPlot {
    private LossPlot() {}

    /** Reads {@code metrics} and writes {@code png}; returns {@code png}. */
    static Path write(Path metrics, Path png, String title) throws IOException {
        List<Double> steps = new ArrayList<>(), losses = new ArrayList<>(), evalSteps = new ArrayList<>(), evalLosses = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode row = json.readTree(line);
            if (row.has("loss")) {
                steps.add(row.get("step").asDouble());
                losses.add(row.get("loss").asDouble());
            } else if (row.has("eval_loss")) {
                evalSteps.add(row.get("step").asDouble());
                evalLosses.add(row.get("eval_loss").asDouble());
            }
        }
        if (steps.isEmpty()) throw new IOException(metrics + " has no training rows to plot");
        XYChart chart = new XYChartBuilder().width(900).height(500).title(title).xAxisTitle("step").yAxisTitle("loss").build();
        chart.getStyler().setMarkerSize(5);
        chart.addSeries("train loss", steps, losses).setMarker(SeriesMarkers.NONE);
        if (!evalSteps.isEmpty()) {
            XYSeries eval = chart.addSeries("eval loss", evalSteps, evalLosses);
            eval.setMarker(SeriesMarkers.CIRCLE);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return png;
    }
}
